/* socket, socketpair, bind, connect: where IP sockets become unix sockets. */
#include "controlfile.h"
#include "convert.h"
#include "fdswap.h"
#include "init.h"
#include "log.h"
#include "real.h"
#include "sockaddr.h"
#include "sockfile.h"
#include "sockopts.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

UNSOCK_EXPORT int socket(int domain, int type, int protocol)
{
    unsock_init();
    if (domain == AF_INET6 && unsock_cfg.block_inet6) {
        unsock_debug("socket(AF_INET6): blocked by UNSOCK_BLOCK_INET6");
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

/* Port 0: the first free socket file from a random start in the kernel's
 * default ephemeral range. Existing files, stale or not, are skipped. */
static int bind_free_port(int fd, int type, uint16_t *port, struct sockaddr_un *un)
{
    const unsigned lo = 32768, n = 60999 - 32768 + 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned start = (unsigned)(ts.tv_nsec ^ getpid()) % n;
    for (unsigned i = 0; i < n; i++) {
        uint16_t p = (uint16_t)(lo + (start + i) % n);
        socklen_t len = unsock_port_sockaddr(p, type, un);
        if (unsock_sockfile_bind(fd, un, len, false) == 0) {
            *port = p;
            return 0;
        }
        if (errno != EADDRINUSE)
            return -1;
    }
    errno = EADDRINUSE;
    return -1;
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

/* The type of socket fd if unsock converts it for an address of `family`,
 * else 0; -1 on error. A socket only takes addresses of its own family;
 * anything else is left to the kernel to refuse. */
static int convertible_type(int fd, int family)
{
    int domain = 0;
    int type = unsock_fd_created_type(fd, &domain);
    if (type == 0) {
        socklen_t len = sizeof(domain);
        type = unsock_socket_type(fd);
        if (type < 0 || unsock_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
            return -1;
    }
    if (domain != family)
        return 0;
    return type == SOCK_STREAM || type == SOCK_DGRAM || type == SOCK_SEQPACKET ? type : 0;
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

enum { VIA_DONE = 0, VIA_NOT_CONTROL = 1, VIA_IN_PROGRESS = 2 };

/* Connect through a Firecracker multiplexer: a unix stream socket for fd
 * (its options and O_NONBLOCK carried) does the whole handshake before it
 * is installed, so the program never sees a byte of it. The handshake is
 * synchronous even on a non-blocking socket, bounded by the socket's send
 * and receive timeouts (10 s each if unset); a non-blocking connect then
 * reports EINPROGRESS and the socket is at once writable with SO_ERROR 0.
 * On failure fd is untouched (ECONNREFUSED, ETIMEDOUT or EACCES). */
static int via_firecracker(int fd, struct usock *s, const char *path, const struct unsock_control *c, int *out)
{
    int tmp = unsock_swap_prepare(fd, s, AF_UNIX);
    if (tmp < 0)
        return -1;
    unsock_control_apply_params(tmp, c);
    if (unsock_control_firecracker(tmp, c, path) != 0) {
        close_keep_errno(tmp);
        return -1;
    }
    int fl = unsock_real.fcntl(tmp, F_GETFL);
    if (fl < 0) {
        close_keep_errno(tmp);
        return -1;
    }
    *out = tmp;
    unsock_debug("connect fd %d via Firecracker control file %s", fd, path);
    return (fl & O_NONBLOCK) != 0 ? VIA_IN_PROGRESS : VIA_DONE;
}

/* The socket file at path may be a control file: then fd's new socket is
 * of the family it names, with its parameters, bound or connected to its
 * destination, in *out. VIA_NOT_CONTROL (errno kept) if path is not a
 * control file; -1 with errno if it is one that cannot be used: malformed
 * (the program's errno stays: ECONNREFUSED / EADDRINUSE), Firecracker for
 * bind (EINVAL, as the original). */
static int via_control_file(int fd, struct usock *s, const char *path, bool binding, int *out)
{
    int saved = errno;
    struct unsock_control c;
    const char *why = NULL;
    switch (unsock_control_read(path, &c, &why)) {
    case CONTROL_NONE:
        errno = saved;
        return VIA_NOT_CONTROL;
    case CONTROL_BAD:
        unsock_debug("%s: %s is not a usable control file: %s", binding ? "bind" : "connect", path, why);
        errno = saved;
        return -1;
    case CONTROL_FIRECRACKER:
        if (binding) {
            unsock_debug("bind: %s is a Firecracker control file, which only connects", path);
            errno = EINVAL;
            return -1;
        }
        return via_firecracker(fd, s, path, &c, out);
    case CONTROL_SOCKET:
        break;
    }
    sa_family_t family;
    memcpy(&family, c.dest, sizeof(family));
    int tmp = unsock_swap_prepare(fd, s, family);
    if (tmp < 0) {
        unsock_debug("%s via %s: no socket of family %d: %s", binding ? "bind" : "connect", path, family,
                     strerror(errno));
        return -1;
    }
    unsock_control_apply_params(tmp, &c);
    const struct sockaddr *dest = (const struct sockaddr *)c.dest;
    int r = binding ? unsock_real.bind(tmp, dest, c.dest_len) : unsock_real.connect(tmp, dest, c.dest_len);
    if (r != 0 && !(errno == EINPROGRESS && !binding)) {
        unsock_debug("%s via %s (family %d): %s", binding ? "bind" : "connect", path, family, strerror(errno));
        close_keep_errno(tmp);
        return -1;
    }
    *out = tmp;
    unsock_debug("%s fd %d via control file %s: family %d", binding ? "bind" : "connect", fd, path, family);
    return r == 0 ? VIA_DONE : VIA_IN_PROGRESS;
}

/* UNSOCK_BLOCK_INET: an IPv4 address that unsock does not cover. */
static bool refused_as_blocked(const char *call, int fd, const struct sockaddr *addr, socklen_t len)
{
    if (!unsock_addr_blocked(addr, len))
        return false;
    unsock_debug("%s fd %d: IPv4 address not covered, blocked by UNSOCK_BLOCK_INET", call, fd);
    errno = EACCES;
    return true;
}

/* A datagram socket that sends before binding gets a socket file of a free
 * port, so that the peer sees an address it can answer to, as with UDP's
 * implicit bind. The file is removed like any bound one. */
static int implicit_bind(int tmp, struct usock *s, const struct sockaddr *dest, struct sockaddr_un *un)
{
    uint16_t port;
    if (bind_free_port(tmp, s->type, &port, un) != 0)
        return -1;
    struct sockaddr_storage d;
    memcpy(&d, dest, unsock_inet_len(dest->sa_family));
    s->local_len = unsock_reply_addr(&d, port, &s->local);
    return 0;
}

int unsock_convert_for_send(int fd, const struct sockaddr *dest)
{
    int type = convertible_type(fd, dest->sa_family);
    if (type != SOCK_DGRAM)
        return type < 0 ? -1 : 1;
    struct usock *s = NULL;
    int tmp = prepare(fd, dest->sa_family, type, &s);
    if (tmp < 0)
        return -1;
    struct sockaddr_un un;
    if (implicit_bind(tmp, s, dest, &un) != 0) {
        abandon(tmp, s);
        return -1;
    }
    if (install(tmp, fd, s, un.sun_path) != 0)
        return -1;
    unsock_debug("send fd %d: implicit bind -> %s", fd, un.sun_path);
    return 0;
}

static void set_local(struct usock *s, const struct sockaddr *addr, uint16_t port)
{
    s->local_len = unsock_inet_len(addr->sa_family);
    memcpy(&s->local, addr, s->local_len);
    /* sin_port and sin6_port are at the same offset */
    ((struct sockaddr_in *)&s->local)->sin_port = htons(port);
}

static int bound_via_control_file(int tmp, int fd, struct usock *s, const struct sockaddr *addr, uint16_t port)
{
    set_local(s, addr, port);
    return install(tmp, fd, s, NULL);
}

UNSOCK_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    unsock_init();
    uint16_t port;
    if (!unsock_addr_covered(addr, len, &port))
        return refused_as_blocked("bind", fd, addr, len) ? -1 : unsock_real.bind(fd, addr, len);
    if (unsock_fd_converted(fd)) {
        errno = EINVAL; /* already bound or connected */
        return -1;
    }
    int type = convertible_type(fd, addr->sa_family);
    if (type <= 0)
        return type < 0 ? -1 : unsock_real.bind(fd, addr, len);
    struct usock *s = NULL;
    int tmp = prepare(fd, addr->sa_family, type, &s);
    if (tmp < 0)
        return -1;

    struct sockaddr_un un;
    int r;
    if (port == 0) {
        r = bind_free_port(tmp, type, &port, &un);
    } else {
        socklen_t ulen = unsock_port_sockaddr(port, type, &un);
        r = unsock_sockfile_bind(tmp, &un, ulen, true);
        if (r != 0 && errno == EADDRINUSE) {
            int other = -1, v = via_control_file(fd, s, un.sun_path, true, &other);
            if (v != VIA_NOT_CONTROL) {
                close_keep_errno(tmp);
                if (v < 0) {
                    unsock_sock_free(s);
                    return -1;
                }
                return bound_via_control_file(other, fd, s, addr, port);
            }
        }
    }
    if (r != 0) {
        unsock_debug("bind fd %d port %u -> %s: %s", fd, port, un.sun_path, strerror(errno));
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
    if (install(tmp, fd, s, un.sun_path) != 0)
        return -1;
    unsock_debug("bind fd %d port %u -> %s", fd, port, un.sun_path);
    return 0;
}

static void set_peer(struct usock *s, const struct sockaddr *addr)
{
    s->peer_len = unsock_inet_len(addr->sa_family);
    memcpy(&s->peer, addr, s->peer_len);
}

UNSOCK_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    unsock_init();
    uint16_t port;
    if (!unsock_addr_covered(addr, len, &port))
        return refused_as_blocked("connect", fd, addr, len) ? -1 : unsock_real.connect(fd, addr, len);
    struct sockaddr_un un, bound;
    socklen_t ulen;
    int r;
    struct usock *s = NULL;
    int tmp = -1;
    bool pending;
    if ((s = unsock_fd_lock(fd)) != NULL) {
        int type = s->type;
        unsock_unlock();
        s = NULL;
        ulen = unsock_port_sockaddr(port, type, &un);
        r = unsock_real.connect(fd, (struct sockaddr *)&un, ulen);
        pending = r != 0 && type == SOCK_DGRAM && (errno == ENOENT || errno == ECONNREFUSED);
    } else {
        int type = convertible_type(fd, addr->sa_family);
        if (type <= 0)
            return type < 0 ? -1 : unsock_real.connect(fd, addr, len);
        ulen = unsock_port_sockaddr(port, type, &un);
        if ((tmp = prepare(fd, addr->sa_family, type, &s)) < 0)
            return -1;
        bound.sun_path[0] = '\0';
        if (type == SOCK_DGRAM && implicit_bind(tmp, s, addr, &bound) != 0) {
            abandon(tmp, s);
            return -1;
        }
        r = unsock_real.connect(tmp, (struct sockaddr *)&un, ulen);
        if (r != 0 && errno == ECONNREFUSED && type == SOCK_STREAM) {
            int other = -1, v = via_control_file(fd, s, un.sun_path, false, &other);
            if (v != VIA_NOT_CONTROL) {
                close_keep_errno(tmp);
                if (v < 0) {
                    unsock_sock_free(s);
                    return -1;
                }
                set_peer(s, addr);
                s->local_len = unsock_other_end(&s->peer, unsock_pseudo_port(), &s->local);
                if (install(other, fd, s, NULL) != 0)
                    return -1;
                if (v == VIA_IN_PROGRESS) {
                    errno = EINPROGRESS;
                    return -1;
                }
                return 0;
            }
        }
        pending = r != 0 && type == SOCK_DGRAM && (errno == ENOENT || errno == ECONNREFUSED);
        if (r != 0 && !pending && bound.sun_path[0] != '\0')
            unlink(bound.sun_path);
    }
    if (pending) {
        unsock_debug("connect fd %d port %u -> %s: nobody there yet, retried at the next send", fd, port,
                     un.sun_path);
        r = 0;
    }
    if (r != 0) {
        /* A missing socket file is a port nobody listens on. */
        if (errno == ENOENT)
            errno = ECONNREFUSED;
        unsock_debug("connect fd %d port %u -> %s: %s", fd, port, un.sun_path, strerror(errno));
        if (tmp >= 0)
            abandon(tmp, s);
        return -1;
    }
    if (tmp < 0) {
        if ((s = unsock_fd_lock(fd)) != NULL) {
            set_peer(s, addr);
            s->peer_pending = pending;
            unsock_unlock();
        }
    } else {
        set_peer(s, addr);
        s->peer_pending = pending;
        if (s->local_len == 0)
            s->local_len = unsock_other_end(&s->peer, unsock_pseudo_port(), &s->local);
        if (install(tmp, fd, s, bound.sun_path[0] ? bound.sun_path : NULL) != 0)
            return -1;
    }
    unsock_debug("connect fd %d port %u -> %s", fd, port, un.sun_path);
    return 0;
}

int unsock_connect_pending(int fd)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return 0;
    bool pending = s->peer_pending;
    int type = s->type;
    uint16_t port = ntohs(((struct sockaddr_in *)&s->peer)->sin_port); /* same offset in sockaddr_in6 */
    unsock_unlock();
    if (!pending)
        return 0;
    struct sockaddr_un un;
    socklen_t ulen = unsock_port_sockaddr(port, type, &un);
    if (unsock_real.connect(fd, (struct sockaddr *)&un, ulen) != 0) {
        if (errno == ENOENT)
            errno = ECONNREFUSED;
        return -1;
    }
    if ((s = unsock_fd_lock(fd)) != NULL) {
        s->peer_pending = false;
        unsock_unlock();
    }
    unsock_debug("fd %d: connected to %s at last", fd, un.sun_path);
    return 0;
}
