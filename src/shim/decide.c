#include "decide.h"

#include "fdtable.h"
#include "real.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int unsock_socket_kind(int fd, int *domain)
{
    int type = unsock_fd_created_type(fd, domain);
    if (type != 0)
        return type;
    socklen_t len = sizeof(type);
    if (unsock_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return -1;
    len = sizeof(*domain);
    if (unsock_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, domain, &len) != 0)
        return -1;
    return type;
}

bool unsock_is_ip(const struct sockaddr *addr, socklen_t len)
{
    return addr != NULL && ((addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
                            (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)));
}

bool unsock_unix_name(const struct sockaddr *addr, socklen_t len, int *from, const char **name, size_t *n)
{
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (addr == NULL || addr->sa_family != AF_UNIX || len <= off || len > sizeof(struct sockaddr_un))
        return false;
    const char *path = ((const struct sockaddr_un *)addr)->sun_path;
    if (path[0] == '\0') {
        if (len == off + 1)
            return false; /* autobind */
        *from = FROM_ABSTRACT;
        *name = path + 1;
        *n = len - off - 1;
    } else {
        *from = FROM_UNIX;
        *name = path;
        *n = strnlen(path, len - off);
    }
    return true;
}

const struct unsock_rule *unsock_decide(int dir, int type, const struct sockaddr *addr, socklen_t len)
{
    if (unsock_is_ip(addr, len))
        return unsock_rules_match_ip(&unsock_ruleset, dir, type, addr, len);
    int from;
    const char *name;
    size_t n;
    if (unsock_ruleset.has_from && unsock_unix_name(addr, len, &from, &name, &n))
        return unsock_rules_match_unix(&unsock_ruleset, dir, type, from, name, n);
    return NULL;
}

const struct unsock_rule *unsock_rule_for(int fd, int dir, const struct sockaddr *addr, socklen_t len, int *type,
                                          int *domain)
{
    *type = 0;
    *domain = 0;
    if (!unsock_is_ip(addr, len) && !unsock_ruleset.has_from)
        return NULL;
    *type = unsock_fd_converted_type(fd);
    if (*type == 0 && (*type = unsock_socket_kind(fd, domain)) < 0)
        return NULL;
    return unsock_decide(dir, *type, addr, len);
}

bool unsock_rule_converts(const struct unsock_rule *r)
{
    return r != NULL && r->action != ACT_IGNORE && r->action != ACT_REJECT && r->action != ACT_SYSTEMD;
}

int unsock_rejected(const char *call, int fd, const struct sockaddr *addr, socklen_t len, int type,
                    const struct unsock_rule *r)
{
    unsock_decided(call, fd, addr, len, type, r, "reject %s", strerror(r->reject_errno));
    errno = r->reject_errno;
    return -1;
}

static void describe(const struct sockaddr *addr, socklen_t len, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int from;
    const char *name;
    size_t n;
    if (unsock_is_ip(addr, len)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        bool v6 = addr->sa_family == AF_INET6;
        inet_ntop(addr->sa_family, v6 ? (const void *)&in6->sin6_addr : (const void *)&in->sin_addr, ip, sizeof(ip));
        snprintf(out, outlen, v6 ? "[%s]:%u" : "%s:%u", ip, ntohs(v6 ? in6->sin6_port : in->sin_port));
    } else if (unsock_unix_name(addr, len, &from, &name, &n)) {
        snprintf(out, outlen, "%s%.*s", from == FROM_ABSTRACT ? "@" : "", (int)n, name);
    } else {
        snprintf(out, outlen, "(family %d)", addr != NULL ? addr->sa_family : -1);
    }
}

void unsock_log_decision(const char *call, int fd, const struct sockaddr *addr, socklen_t len, int type,
                         const struct unsock_rule *r, const char *fmt, ...)
{
    char where[160], outcome[300], rule[32] = "no rule";
    describe(addr, len, where, sizeof(where));
    if (r != NULL)
        snprintf(rule, sizeof(rule), "rule %zu", unsock_rule_index(&unsock_ruleset, r));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(outcome, sizeof(outcome), fmt, ap);
    va_end(ap);
    unsock_log_line("%s fd %d %s %s: %s -> %s", call, fd, where,
                    type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram" : "other", rule, outcome);
}
