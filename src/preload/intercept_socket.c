/* socket, socketpair, bind, connect, listen, shutdown: where IP sockets
 * become unix sockets. bind and connect are one path, parameterised by the
 * call. */
#include "convert.h"
#include "early.h"
#include "init.h"
#include "log.h"
#include "query.h"
#include "real.h"
#include "systemd.h"

#include <errno.h>

UNSOCK_EXPORT int socket(int domain, int type, int protocol)
{
    unsock_init();
    if (domain == AF_INET6 && unsock_cfg.block_inet6) {
        unsock_debug("socket AF_INET6: blocked by UNSOCK_BLOCK_INET6 -> EAFNOSUPPORT");
        errno = EAFNOSUPPORT;
        return -1;
    }
    int fd = unsock_early_socket(domain, type, protocol);
    if (fd != -2)
        return fd;
    fd = unsock_real.socket(domain, type, protocol);
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

static int real_call(enum unsock_call call, int fd, const struct sockaddr *addr, socklen_t len)
{
    return call == CALL_BIND ? unsock_real.bind(fd, addr, len) : unsock_real.connect(fd, addr, len);
}

static int bind_connect(enum unsock_call call, int fd, const struct sockaddr *addr, socklen_t len)
{
    unsock_init();
    struct unsock_query q;
    struct unsock_plan p;
    struct sockaddr_un peer;
    int asked = unsock_query_fd(call, fd, addr, len, &q, &peer);
    if (asked <= 0) /* not an address for the rules: the kernel's answer, the IP socket's for an early one */
        return asked < 0 || unsock_early_as_ip(fd) != 0 ? -1 : real_call(call, fd, addr, len);
    unsock_plan(&unsock_ruleset, &q, &p);
    unsock_early_learn(&q, &p);
    int early = q.early ? unsock_early_apply(fd, &q, &p) : 1;
    if (early <= 0)
        return early;
    switch (p.kind) {
    case PLAN_NATIVE:
        if (p.rule != NULL || unsock_is_ip(addr, len))
            unsock_log_plan(fd, &q, &p, 0, NULL);
        return real_call(call, fd, addr, len);
    case PLAN_REJECT:
        unsock_log_plan(fd, &q, &p, 0, NULL);
        errno = p.err;
        return -1;
    case PLAN_SYSTEMD: {
        int rc = unsock_systemd_bind(fd, addr, len, q.type, p.fdname);
        unsock_log_plan(fd, &q, &p, rc ? errno : 0, NULL);
        return rc;
    }
    default:
        return unsock_apply(fd, &q, &p);
    }
}

UNSOCK_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    return bind_connect(CALL_BIND, fd, addr, len);
}

UNSOCK_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    return bind_connect(CALL_CONNECT, fd, addr, len);
}

/* An early socket not bound yet: TCP binds it to a free port, which only
 * the IP socket can do. */
UNSOCK_EXPORT int listen(int fd, int backlog)
{
    unsock_init();
    return unsock_early_as_ip(fd) != 0 ? -1 : unsock_real.listen(fd, backlog);
}

/* An early socket not connected yet: TCP says ENOTCONN where a unix socket
 * says nothing. */
UNSOCK_EXPORT int shutdown(int fd, int how)
{
    unsock_init();
    return unsock_early_as_ip(fd) != 0 ? -1 : unsock_real.shutdown(fd, how);
}
