/* path= / abstract= templates: expanded to a unix address for a socket, and
 * read back to the port a unix address stands for. */
#include "template.h"

#include "addr.h"
#include "digits.h"
#include "names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

bool unsock_rule_has_port(const struct unsock_rule *r)
{
    if (r->action != ACT_PATH && r->action != ACT_ABSTRACT)
        return false;
    for (const char *p = strchr(r->target, '%'); p != NULL; p = strchr(p + 2, '%'))
        if (p[1] == 'p')
            return true;
    return false;
}

/* The last address made in this thread, by template, type and port (a
 * client connecting to one port again and again asks for the same one each
 * time); not for templates of the address (%a). */
static _Thread_local struct {
    enum unsock_action action;
    int type;
    uint16_t port;
    socklen_t len;
    char target[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct sockaddr_un un;
} last UNSOCK_TLS_HOT;

int unsock_rule_sockaddr(const struct unsock_rule *r, int type, const struct sockaddr *addr, uint16_t port,
                         struct sockaddr_un *out, socklen_t *outlen)
{
    if (last.len != 0 && last.action == r->action && last.type == type && last.port == port &&
        strcmp(last.target, r->target) == 0) {
        *out = last.un;
        *outlen = last.len;
        return 0;
    }
    out->sun_family = AF_UNIX;
    size_t used = r->action == ACT_ABSTRACT ? 1 : 0, cap = sizeof(out->sun_path) - (used ? 0 : 1);
    out->sun_path[0] = '\0';
    char buf[INET6_ADDRSTRLEN];
    for (const char *t = r->target; *t;) {
        const char *piece = t;
        size_t n = strcspn(t, "%"); /* a run of plain characters */
        t += n;
        if (n == 0) { /* a placeholder: %p, %t, %a, or %% and the like for the character itself */
            t += t[1] != '\0' ? 2 : 1;
            piece = buf;
            n = 1;
            buf[0] = t[-1];
            if (t[-1] == 'p')
                n = unsock_decimal(port, buf);
            else if (t[-1] == 't')
                n = strlen(piece = unsock_type_template_name(type));
            else if (t[-1] == 'a' && addr != NULL)
                n = unsock_ip_text(addr, buf);
        }
        if (used + n > cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(out->sun_path + used, piece, n);
        used += n;
    }
    if (used < sizeof(out->sun_path))
        out->sun_path[used] = '\0';
    *outlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + used + (r->action == ACT_PATH ? 1 : 0));
    if (strstr(r->target, "%a") == NULL && strlen(r->target) < sizeof(last.target)) {
        last.action = r->action, last.type = type, last.port = port, last.len = *outlen;
        strcpy(last.target, r->target);
        last.un = *out;
    }
    return 0;
}

/* Whether name is template (with %t of type, %% and one %p) for a port. */
static int template_port(const char *t, int type, const char *name, size_t len)
{
    int port = -1;
    size_t i = 0;
    for (; *t; t++) {
        if (*t == '%' && t[1] == 'p') {
            t++;
            unsigned v = 0;
            size_t digits = 0;
            while (i < len && name[i] >= '0' && name[i] <= '9' && digits < 5) {
                v = v * 10 + (unsigned)(name[i++] - '0');
                digits++;
            }
            if (digits == 0 || v > 65535 || port >= 0)
                return -1;
            port = (int)v;
            continue;
        }
        const char *piece = t;
        size_t n = 1;
        if (*t == '%') {
            t++;
            if (*t == 'a')
                return -1;
            if (*t == 't') {
                piece = unsock_type_template_name(type);
                n = strlen(piece);
            }
        }
        if (i + n > len || memcmp(name + i, piece, n) != 0)
            return -1;
        i += n;
    }
    return i == len ? port : -1;
}

int unsock_rules_port_of(const struct unsock_rules *rs, int type, const struct sockaddr_un *un, socklen_t len)
{
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (len <= off + 1 || un->sun_family != AF_UNIX)
        return -1;
    bool abstract = un->sun_path[0] == '\0';
    const char *name = un->sun_path + (abstract ? 1 : 0);
    size_t n = abstract ? len - off - 1 : strnlen(un->sun_path, len - off);
    for (size_t i = 0; i < rs->n; i++) {
        const struct unsock_rule *r = &rs->v[i];
        if (r->action != (abstract ? ACT_ABSTRACT : ACT_PATH) || r->from != FROM_IP || (r->type != 0 && r->type != type))
            continue;
        /* A port outside the rule's range (a client's implicit bind) is no
         * port this rule would send to: the peer gets a pseudo port. */
        int port = template_port(r->target, type, name, n);
        if (port >= 0 && (!r->has_port || (port >= r->port_lo && port <= r->port_hi)))
            return port;
    }
    return -1;
}

