/* socket, socketpair, bind, connect: where IP sockets become unix sockets. */
#include "convert.h"
#include "decide.h"
#include "fdswap.h"
#include "init.h"
#include "real.h"
#include "sockaddr.h"
#include "sockopts.h"
#include "systemd.h"
#include "target.h"
#include "via.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

UNSOCK_EXPORT int socket(int domain, int type, int protocol)
{
    unsock_init();
    if (domain == AF_INET6 && unsock_cfg.block_inet6) {
        unsock_debug("socket AF_INET6: blocked by UNSOCK_BLOCK_INET6 -> EAFNOSUPPORT");
        errno = EAFNOSUPPORT;
        return -1;
    }
    int fd = unsock_real.socket(domain, type, protocol);
    if (fd >= 0)
        unsock_fd_created(fd, domain, type);
    return fd;
}

UNSOCK_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
    unsock_init();
    int r = unsock_real.socketpair(domain, type, protocol, sv);
    if (r == 0) {
        unsock_fd_set(sv[0], NULL);
        unsock_fd_set(sv[1], NULL);
    }
    return r;
}

static void close_keep_errno(int fd)
{
    int saved = errno;
    unsock_real.close(fd);
    errno = saved;
}

/* Install tmp over fd and record s for it; frees s on failure. */
static int install(int tmp, int fd, struct usock *s, const char *owned_path)
{
    unsock_lock();
    if (owned_path != NULL)
        unsock_sock_own_file_locked(s, tmp, owned_path);
    int r = unsock_swap_install(tmp, fd);
    if (r == 0)
        unsock_fd_set_locked(fd, s);
    unsock_unlock();
    if (r != 0) {
        int saved = errno;
        if (owned_path != NULL)
            unlink(owned_path);
        unsock_sock_free(s);
        errno = saved;
    }
    return r;
}

/* The temporary unix socket for fd, and its description in *out; -1 on
 * error. Any descriptor number can come back, 0 included. */
static int prepare(int fd, int family, int type, struct usock **out)
{
    struct usock *s = unsock_sock_new(family, type);
    if (s == NULL)
        return -1;
    int tmp = unsock_swap_prepare(fd, s, AF_UNIX);
    if (tmp < 0) {
        unsock_sock_free(s);
        return -1;
    }
    *out = s;
    return tmp;
}

static void abandon(int tmp, struct usock *s)
{
    close_keep_errno(tmp);
    unsock_sock_free(s);
}

static uint16_t port_of(const struct sockaddr *addr)
{
    /* sin_port and sin6_port are at the same offset */
    return ntohs(((const struct sockaddr_in *)addr)->sin_port);
}

static void set_local(struct usock *s, const struct sockaddr *addr, uint16_t port)
{
    s->local_len = unsock_inet_len(addr->sa_family);
    memcpy(&s->local, addr, s->local_len);
    ((struct sockaddr_in *)&s->local)->sin_port = htons(port);
}

static void set_peer(struct usock *s, const struct sockaddr *addr)
{
    s->peer_len = unsock_inet_len(addr->sa_family);
    memcpy(&s->peer, addr, s->peer_len);
}

static bool convertible(int type)
{
    return type == SOCK_STREAM || type == SOCK_DGRAM || type == SOCK_SEQPACKET;
}

/* A datagram socket that sends before binding gets an address of a free
 * port the peer can answer to, as with UDP's implicit bind: from the rule's
 * template if it has %p, else an abstract one the kernel picks. A socket
 * file is removed like any bound one. */
static int implicit_bind(int tmp, struct usock *s, const struct unsock_rule *r, const struct sockaddr *dest,
                         struct sockaddr_un *un)
{
    struct sockaddr_storage reply;
    unsock_reply_addr((const struct sockaddr_storage *)dest, 0, &reply);
    socklen_t ulen;
    uint16_t port;
    un->sun_path[0] = '\0';
    if (unsock_rule_has_port(r)) {
        if (unsock_target_bind_free_port(tmp, r, s->type, (struct sockaddr *)&reply, &port, un, &ulen) != 0)
            return -1;
        if (r->action != ACT_PATH || r->noremove)
            un->sun_path[0] = '\0';
    } else {
        sa_family_t family = AF_UNIX;
        if (unsock_real.bind(tmp, (const struct sockaddr *)&family, sizeof(family)) != 0)
            return -1;
        port = unsock_pseudo_port();
    }
    s->local_len = unsock_reply_addr((const struct sockaddr_storage *)dest, port, &s->local);
    return 0;
}

int unsock_convert_for_send(int fd, int type, const struct unsock_rule *r, const struct sockaddr *dest)
{
    struct usock *s = NULL;
    int tmp = prepare(fd, dest->sa_family, type, &s);
    if (tmp < 0)
        return -1;
    struct sockaddr_un un;
    if (implicit_bind(tmp, s, r, dest, &un) != 0) {
        abandon(tmp, s);
        return -1;
    }
    if (install(tmp, fd, s, un.sun_path[0] ? un.sun_path : NULL) != 0)
        return -1;
    unsock_debug("send fd %d: implicit bind -> %s", fd, un.sun_path[0] ? un.sun_path : "(abstract)");
    return 0;
}

/* The new socket tmp for fd installed after a rule's vsock / tipc /
 * firecracker target or a control file: v from unsock_via_*. */
static int install_via(int v, int tmp, int fd, struct usock *s, const struct sockaddr *addr, bool binding)
{
    if (v < 0) {
        unsock_sock_free(s);
        return -1;
    }
    if (binding) {
        set_local(s, addr, port_of(addr));
    } else {
        set_peer(s, addr);
        s->local_len = unsock_other_end(&s->peer, unsock_pseudo_port(), &s->local);
    }
    if (install(tmp, fd, s, NULL) != 0)
        return -1;
    if (v == VIA_IN_PROGRESS) {
        errno = EINPROGRESS;
        return -1;
    }
    return 0;
}

/* bind / connect of a converted socket to a vsock= / tipc= / firecracker=
 * rule's target. */
static int via_rule(const char *call, int fd, int type, const struct unsock_rule *r, const struct sockaddr *addr,
                    bool binding)
{
    struct usock *s = unsock_sock_new(addr->sa_family, type);
    if (s == NULL)
        return -1;
    struct unsock_control c;
    unsock_rule_control(r, binding, port_of(addr), &c);
    char label[32];
    snprintf(label, sizeof(label), "rule %zu", unsock_rule_index(&unsock_ruleset, r));
    int tmp = -1, v = unsock_via_record(fd, s, &c, r->action == ACT_FIRECRACKER, binding, label, &tmp);
    unsock_decided(call, fd, addr, unsock_inet_len(addr->sa_family), type, r, "%s%s",
                   r->action == ACT_VSOCK ? "vsock" : r->action == ACT_TIPC ? "tipc" : "firecracker",
                   v < 0 ? " failed" : "");
    return install_via(v, tmp, fd, s, addr, binding);
}

static int bind_converted(int fd, const struct sockaddr *addr, int type, const struct unsock_rule *r)
{
    if (r->action == ACT_VSOCK || r->action == ACT_TIPC || r->action == ACT_FIRECRACKER)
        return via_rule("bind", fd, type, r, addr, true);
    uint16_t port = port_of(addr);
    struct usock *s = NULL;
    int tmp = prepare(fd, addr->sa_family, type, &s);
    if (tmp < 0)
        return -1;
    struct sockaddr_un un;
    socklen_t ulen = 0;
    int rc;
    if (r->action == ACT_BLACKHOLE) {
        rc = unsock_target_blackhole(tmp, &un);
        if (port == 0)
            port = unsock_pseudo_port();
    } else if (port == 0 && unsock_rule_has_port(r)) {
        rc = unsock_target_bind_free_port(tmp, r, type, addr, &port, &un, &ulen);
    } else {
        if (port == 0)
            port = unsock_pseudo_port();
        rc = unsock_rule_sockaddr(r, type, addr, port, &un, &ulen);
        if (rc == 0)
            rc = unsock_target_bind(tmp, r, &un, ulen, true);
        if (rc != 0 && errno == EADDRINUSE && r->action == ACT_PATH) {
            int other = -1, v = unsock_via_control_file(fd, s, un.sun_path, true, &other);
            if (v != VIA_NOT_CONTROL) {
                close_keep_errno(tmp);
                unsock_decided("bind", fd, addr, unsock_inet_len(addr->sa_family), type, r,
                               "control file %s%s", un.sun_path, v < 0 ? " failed" : "");
                return install_via(v, other, fd, s, addr, true);
            }
        }
    }
    if (rc != 0) {
        unsock_decided("bind", fd, addr, unsock_inet_len(addr->sa_family), type, r, "%s: %s",
                       unsock_target_describe(r, &un), strerror(errno));
        abandon(tmp, s);
        return -1;
    }
    set_local(s, addr, port);
    if (addr->sa_family == AF_INET6) {
        /* As the kernel does, a bind to one IPv6 address (not :: and not
         * IPv4-mapped) makes the socket IPv6-only. */
        const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        int only = !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_V4MAPPED(a);
        if (only)
            unsock_opt_store(s, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only));
    }
    bool owned = r->action == ACT_PATH && !r->noremove;
    if (install(tmp, fd, s, owned ? un.sun_path : NULL) != 0)
        return -1;
    unsock_decided("bind", fd, addr, unsock_inet_len(addr->sa_family), type, r, "%s",
                   unsock_target_describe(r, &un));
    return 0;
}

/* A from-unix / from-abstract rule: the unix socket's own address
 * rewritten (no new socket is needed). */
static int unix_rewritten(const char *call, int fd, const struct sockaddr *addr, socklen_t len, int type,
                          const struct unsock_rule *r, bool binding)
{
    struct sockaddr_un un;
    socklen_t ulen;
    int rc;
    if (r->action == ACT_BLACKHOLE && binding) {
        rc = unsock_target_blackhole(fd, &un);
    } else if (r->action != ACT_PATH && r->action != ACT_ABSTRACT) {
        errno = EAFNOSUPPORT;
        rc = -1;
    } else if ((rc = unsock_rule_sockaddr(r, type, NULL, 0, &un, &ulen)) == 0) {
        rc = binding ? unsock_target_bind(fd, r, &un, ulen, true)
                     : unsock_real.connect(fd, (const struct sockaddr *)&un, ulen);
    }
    unsock_decided(call, fd, addr, len, type, r, "%s%s%s", unsock_target_describe(r, &un), rc ? ": " : "",
                   rc ? strerror(errno) : "");
    return rc;
}

/* The rule for bind/connect on fd with addr; NULL when the call goes to
 * the kernel unchanged (see unsock_rule_for for *type and *domain). */
static const struct unsock_rule *rule_for(const char *call, int fd, int dir, const struct sockaddr *addr,
                                          socklen_t len, int *type, int *domain)
{
    const struct unsock_rule *r = unsock_rule_for(fd, dir, addr, len, type, domain);
    if (r != NULL && r->action != ACT_IGNORE)
        return r;
    if (*type > 0 && (r != NULL || unsock_is_ip(addr, len)))
        unsock_decided(call, fd, addr, len, *type, r, "left alone");
    return NULL;
}

UNSOCK_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    unsock_init();
    int type, domain = 0;
    const struct unsock_rule *r = rule_for("bind", fd, RULE_IN, addr, len, &type, &domain);
    if (r == NULL)
        return type < 0 ? -1 : unsock_real.bind(fd, addr, len);
    if (r->action == ACT_REJECT)
        return unsock_rejected("bind", fd, addr, len, type, r);
    if (r->action == ACT_SYSTEMD) {
        int rc = unsock_systemd_bind(fd, addr, len, type, r->target && r->target[0] ? r->target : NULL);
        unsock_decided("bind", fd, addr, len, type, r, "systemd socket%s%s", rc ? ": " : "", rc ? strerror(errno) : "");
        return rc;
    }
    if (!unsock_is_ip(addr, len))
        return unix_rewritten("bind", fd, addr, len, type, r, true);
    if (unsock_fd_converted(fd)) {
        errno = EINVAL; /* already bound or connected */
        return -1;
    }
    if (domain != addr->sa_family || !convertible(type)) {
        unsock_decided("bind", fd, addr, len, type, r, "left alone: not a socket unsock converts");
        return unsock_real.bind(fd, addr, len);
    }
    return bind_converted(fd, addr, type, r);
}

/* connect of a socket that is already a unix one (a datagram socket
 * connected again, or one that sent before). */
static int reconnect(int fd, const struct sockaddr *addr, int type, const struct unsock_rule *r)
{
    struct sockaddr_un un;
    socklen_t ulen;
    socklen_t len = unsock_inet_len(addr->sa_family);
    if (r->action != ACT_PATH && r->action != ACT_ABSTRACT) {
        unsock_decided("connect", fd, addr, len, type, r, "refused: the socket is already a unix socket");
        errno = EINVAL;
        return -1;
    }
    if (unsock_rule_sockaddr(r, type, addr, port_of(addr), &un, &ulen) != 0)
        return -1;
    int rc = unsock_real.connect(fd, (struct sockaddr *)&un, ulen);
    bool pending = rc != 0 && type == SOCK_DGRAM && (errno == ENOENT || errno == ECONNREFUSED);
    if (rc != 0 && !pending) {
        if (errno == ENOENT)
            errno = ECONNREFUSED;
        unsock_decided("connect", fd, addr, len, type, r, "%s: %s", unsock_target_describe(r, &un), strerror(errno));
        return -1;
    }
    struct usock *s = unsock_fd_lock(fd);
    if (s != NULL) {
        set_peer(s, addr);
        s->peer_pending = pending;
        unsock_unlock();
    }
    unsock_decided("connect", fd, addr, len, type, r, "%s%s", unsock_target_describe(r, &un),
                   pending ? " (nobody there yet, retried at the next send)" : "");
    return 0;
}

static int connect_converted(int fd, const struct sockaddr *addr, int type, const struct unsock_rule *r)
{
    if (r->action == ACT_VSOCK || r->action == ACT_TIPC || r->action == ACT_FIRECRACKER)
        return via_rule("connect", fd, type, r, addr, false);
    socklen_t len = unsock_inet_len(addr->sa_family);
    struct sockaddr_un un, bound;
    socklen_t ulen;
    if (unsock_rule_sockaddr(r, type, addr, port_of(addr), &un, &ulen) != 0) {
        unsock_decided("connect", fd, addr, len, type, r, "target too long for a unix socket address");
        return -1;
    }
    struct usock *s = NULL;
    int tmp = prepare(fd, addr->sa_family, type, &s);
    if (tmp < 0)
        return -1;
    bound.sun_path[0] = '\0';
    if (type == SOCK_DGRAM && implicit_bind(tmp, s, r, addr, &bound) != 0) {
        abandon(tmp, s);
        return -1;
    }
    int rc = unsock_real.connect(tmp, (struct sockaddr *)&un, ulen);
    if (rc != 0 && errno == ECONNREFUSED && type == SOCK_STREAM && r->action == ACT_PATH) {
        int other = -1, v = unsock_via_control_file(fd, s, un.sun_path, false, &other);
        if (v != VIA_NOT_CONTROL) {
            close_keep_errno(tmp);
            unsock_decided("connect", fd, addr, len, type, r, "control file %s%s", un.sun_path, v < 0 ? " failed" : "");
            return install_via(v, other, fd, s, addr, false);
        }
    }
    bool pending = rc != 0 && type == SOCK_DGRAM && (errno == ENOENT || errno == ECONNREFUSED);
    if (rc != 0 && !pending) {
        /* A missing socket file is a port nobody listens on. */
        if (errno == ENOENT)
            errno = ECONNREFUSED;
        unsock_decided("connect", fd, addr, len, type, r, "%s: %s", unsock_target_describe(r, &un), strerror(errno));
        if (bound.sun_path[0] != '\0')
            unlink(bound.sun_path);
        abandon(tmp, s);
        return -1;
    }
    set_peer(s, addr);
    s->peer_pending = pending;
    if (s->local_len == 0)
        s->local_len = unsock_other_end(&s->peer, unsock_pseudo_port(), &s->local);
    if (install(tmp, fd, s, bound.sun_path[0] ? bound.sun_path : NULL) != 0)
        return -1;
    unsock_decided("connect", fd, addr, len, type, r, "%s%s", unsock_target_describe(r, &un),
                   pending ? " (nobody there yet, retried at the next send)" : "");
    return 0;
}

UNSOCK_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    unsock_init();
    int type, domain = 0;
    const struct unsock_rule *r = rule_for("connect", fd, RULE_OUT, addr, len, &type, &domain);
    if (r == NULL)
        return type < 0 ? -1 : unsock_real.connect(fd, addr, len);
    if (r->action == ACT_REJECT)
        return unsock_rejected("connect", fd, addr, len, type, r);
    if (!unsock_is_ip(addr, len))
        return unix_rewritten("connect", fd, addr, len, type, r, false);
    if (unsock_fd_converted(fd))
        return reconnect(fd, addr, type, r);
    if (domain != addr->sa_family || !convertible(type)) {
        unsock_decided("connect", fd, addr, len, type, r, "left alone: not a socket unsock converts");
        return unsock_real.connect(fd, addr, len);
    }
    return connect_converted(fd, addr, type, r);
}

int unsock_connect_pending(int fd)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return 0;
    bool pending = s->peer_pending;
    int type = s->type;
    struct sockaddr_storage peer = s->peer;
    socklen_t peer_len = s->peer_len;
    unsock_unlock();
    if (!pending)
        return 0;
    const struct unsock_rule *r =
        unsock_rules_match_ip(&unsock_ruleset, RULE_OUT, type, (const struct sockaddr *)&peer, peer_len);
    struct sockaddr_un un;
    socklen_t ulen;
    if (r == NULL || (r->action != ACT_PATH && r->action != ACT_ABSTRACT) ||
        unsock_rule_sockaddr(r, type, (const struct sockaddr *)&peer, port_of((const struct sockaddr *)&peer), &un,
                             &ulen) != 0) {
        errno = ECONNREFUSED;
        return -1;
    }
    if (unsock_real.connect(fd, (struct sockaddr *)&un, ulen) != 0) {
        if (errno == ENOENT)
            errno = ECONNREFUSED;
        return -1;
    }
    if ((s = unsock_fd_lock(fd)) != NULL) {
        s->peer_pending = false;
        unsock_unlock();
    }
    unsock_debug("fd %d: connected to %s at last", fd, unsock_target_describe(r, &un));
    return 0;
}
