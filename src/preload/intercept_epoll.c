/* epoll_ctl: registrations of descriptors not converted yet are remembered,
 * so that the swap can register the unix socket in their place. */
#include "fdtable.h"
#include "init.h"
#include "real.h"

UNSOCK_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    unsock_init();
    int r = unsock_real.epoll_ctl(epfd, op, fd, event);
    if (r != 0 || unsock_fd_converted(fd))
        return r;
    if (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD)
        unsock_fd_epoll_add(fd, epfd, event->events, event->data.u64);
    else if (op == EPOLL_CTL_DEL)
        unsock_fd_epoll_del(fd, epfd);
    return r;
}
