/* epoll_ctl: registrations are remembered, so that a swap (the conversion,
 * or a connect completed later: pending.h) can register the new socket in
 * the place of the old one. */
#include "fdtable.h"
#include "init.h"
#include "real.h"

UNSOCK_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    unsock_init();
    int r = unsock_real.epoll_ctl(epfd, op, fd, event);
    if (r != 0)
        return r;
    if (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD)
        unsock_fd_epoll_add(fd, epfd, event->events, event->data.u64);
    else if (op == EPOLL_CTL_DEL)
        unsock_fd_epoll_del(fd, epfd);
    return r;
}
