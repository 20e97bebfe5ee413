#define _GNU_SOURCE /* F_GETOWN_EX, F_SETSIG, dup3 */
#include "fdswap.h"

#include "log.h"
#include "real.h"
#include "sockopts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int unsock_socket_type(int fd)
{
    int type = 0;
    socklen_t len = sizeof(type);
    if (unsock_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return -1;
    return type;
}

/* SOL_SOCKET options that mean the same on AF_UNIX; buffer sizes apart. */
static const int copied_options[] = {
    SO_RCVTIMEO, SO_SNDTIMEO, SO_RCVLOWAT, SO_LINGER, SO_PRIORITY,
    SO_KEEPALIVE, SO_PASSCRED, SO_BROADCAST, SO_OOBINLINE, SO_TIMESTAMP,
    SO_TIMESTAMPNS, SO_MARK, SO_REUSEADDR, SO_REUSEPORT, SO_DONTROUTE,
};

static void copy_socket_options(int from, int to)
{
    for (size_t i = 0; i < sizeof(copied_options) / sizeof(copied_options[0]); i++) {
        int name = copied_options[i];
        unsigned char a[32], b[32];
        socklen_t al = sizeof(a), bl = sizeof(b);
        if (unsock_real.getsockopt(from, SOL_SOCKET, name, a, &al) != 0 ||
            unsock_real.getsockopt(to, SOL_SOCKET, name, b, &bl) != 0 ||
            (al == bl && memcmp(a, b, al) == 0))
            continue;
        if (unsock_real.setsockopt(to, SOL_SOCKET, name, a, al) != 0)
            unsock_debug("socket option %d not carried over to the unix socket: %s", name, strerror(errno));
    }
}

/* Unix sockets start with larger buffers than TCP's, so a size is copied
 * only when the program set one; it must then read back the same. */
static void copy_buffer_size(int from, int to, int name, int force)
{
    int v = 0, now = 0;
    socklen_t len = sizeof(v), nl = sizeof(now);
    if (unsock_real.getsockopt(from, SOL_SOCKET, name, &v, &len) != 0)
        return;
    int half = v / 2; /* the kernel doubles what is set */
    if (unsock_real.setsockopt(to, SOL_SOCKET, name, &half, sizeof(half)) != 0 ||
        unsock_real.getsockopt(to, SOL_SOCKET, name, &now, &nl) != 0)
        return;
    /* Above the sysctl maximum: the program used the FORCE variant. */
    if (now != v && unsock_real.setsockopt(to, SOL_SOCKET, force, &half, sizeof(half)) != 0)
        unsock_debug("buffer size %d not carried over to the unix socket: %s", v, strerror(errno));
}

static int copy_owner(int from, int to)
{
    struct f_owner_ex owner;
    if (unsock_real.fcntl(from, F_GETOWN_EX, &owner) != 0)
        return -1;
    if (owner.pid != 0 && unsock_real.fcntl(to, F_SETOWN_EX, &owner) != 0)
        return -1;
    int sig = unsock_real.fcntl(from, F_GETSIG);
    if (sig > 0 && unsock_real.fcntl(to, F_SETSIG, sig) != 0)
        return -1;
    return 0;
}

int unsock_swap_prepare(int fd, struct usock *s)
{
    int fl = unsock_real.fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    int tmp = unsock_real.socket(AF_UNIX, s->type | SOCK_CLOEXEC, 0);
    if (tmp < 0)
        return -1;
    unsigned touched = unsock_fd_touched(fd);
    if (touched & UNSOCK_TOUCHED_OPTS) {
        copy_socket_options(fd, tmp);
        unsock_opt_snapshot(s, fd);
    }
    if (touched & UNSOCK_TOUCHED_RCVBUF)
        copy_buffer_size(fd, tmp, SO_RCVBUF, SO_RCVBUFFORCE);
    if (touched & UNSOCK_TOUCHED_SNDBUF)
        copy_buffer_size(fd, tmp, SO_SNDBUF, SO_SNDBUFFORCE);
    if ((touched & UNSOCK_TOUCHED_ASYNC) && copy_owner(fd, tmp) != 0)
        goto fail;
    /* O_ASYNC waits for unsock_swap_install(): the kernel records the
     * descriptor number with it and reports it as si_fd in the signal. */
    if ((fl & O_NONBLOCK) != 0 && unsock_real.fcntl(tmp, F_SETFL, O_NONBLOCK) != 0)
        goto fail;
    return tmp;
fail:;
    int saved = errno;
    unsock_real.close(tmp);
    errno = saved;
    return -1;
}

int unsock_swap_install(int tmp, int fd)
{
    int fdflags = unsock_real.fcntl(fd, F_GETFD);
    int fl = (unsock_fd_touched(fd) & UNSOCK_TOUCHED_ASYNC) ? unsock_real.fcntl(fd, F_GETFL) : 0;
    int r = fdflags < 0 || fl < 0 ? -1 : unsock_real.dup3(tmp, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0);
    int saved = errno;
    unsock_real.close(tmp);
    errno = saved;
    if (r < 0)
        return -1;
    /* Past the point of no return: the program's socket is already replaced. */
    if ((fl & O_ASYNC) != 0 && unsock_real.fcntl(fd, F_SETFL, fl & (O_NONBLOCK | O_ASYNC)) != 0)
        unsock_debug("fd %d: O_ASYNC not carried over: %s", fd, strerror(errno));
    /* nginx, for one, adds a socket to its epoll set before connecting. */
    int epfd;
    uint32_t events;
    uint64_t data;
    if (unsock_fd_epoll_get(fd, &epfd, &events, &data)) {
        struct epoll_event ev = {.events = events, .data.u64 = data};
        if (unsock_real.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            unsock_debug("fd %d: epoll registration not carried over: %s", fd, strerror(errno));
    }
    return 0;
}
