#define _GNU_SOURCE /* F_GETOWN_EX, F_SETSIG, dup3 */
#include "fdswap.h"


#include "log.h"
#include "real.h"
#include "carry.h"
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

int unsock_swap_carry_flags(int fd, int tmp, uint64_t touched)
{
    int fl = unsock_real.fcntl(fd, F_GETFL);
    /* O_ASYNC waits for unsock_swap_install(): the kernel records the
     * descriptor number with it and reports it as si_fd in the signal. */
    if (fl >= 0 && (!(touched & UNSOCK_TOUCHED_ASYNC) || copy_owner(fd, tmp) == 0) &&
        (!(fl & O_NONBLOCK) || unsock_real.fcntl(tmp, F_SETFL, O_NONBLOCK) == 0))
        return 0;
    unsock_close_keep_errno(tmp);
    return -1;
}

int unsock_swap_prepare(int fd, struct usock *s, int domain)
{
    int tmp = unsock_real.socket(domain, s->type | SOCK_CLOEXEC, 0);
    if (tmp < 0)
        return -1;
    uint64_t touched = unsock_fd_touched(fd);
    unsock_carry_changed(fd, tmp, s, touched);
    if (domain == AF_UNIX)
        unsock_mark_family(tmp, s->family);
    return unsock_swap_carry_flags(fd, tmp, touched) == 0 ? tmp : -1;
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
