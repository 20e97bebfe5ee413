/* recvfrom, recvmsg: a converted stream socket reports no sender address,
 * as TCP does, instead of the unix path of the socket file; converted
 * sockets received over SCM_RIGHTS are recognised. */
#undef _FORTIFY_SOURCE /* its inline recvfrom wrapper would clash with ours */
#include "adopt.h"
#include "fdtable.h"
#include "init.h"
#include "real.h"
#include "sockaddr.h"

#include <errno.h>
#include <string.h>

static bool converted_stream(int fd)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return false;
    bool stream = s->type == SOCK_STREAM;
    unsock_unlock();
    return stream;
}

UNSOCK_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len)
{
    unsock_init();
    if (addr == NULL || !unsock_fd_converted(fd) || !converted_stream(fd))
        return unsock_real.recvfrom(fd, buf, n, flags, addr, len);
    ssize_t r = unsock_real.recvfrom(fd, buf, n, flags, NULL, NULL);
    struct sockaddr_storage none;
    /* TCP's empty address: the length becomes 0, with the kernel's checks. */
    if (r >= 0 && unsock_copy_out(addr, len, &none, 0, true) != 0)
        return -1;
    return r;
}

UNSOCK_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    unsock_init();
    if (msg == NULL || msg->msg_name == NULL || !unsock_fd_converted(fd) || !converted_stream(fd)) {
        ssize_t r = unsock_real.recvmsg(fd, msg, flags);
        if (r >= 0 && msg != NULL && msg->msg_controllen > 0)
            unsock_adopt_rights(msg);
        return r;
    }
    struct msghdr m = *msg;
    m.msg_name = NULL;
    m.msg_namelen = 0;
    ssize_t r = unsock_real.recvmsg(fd, &m, flags);
    if (r >= 0) {
        msg->msg_namelen = 0;
        msg->msg_controllen = m.msg_controllen;
        msg->msg_flags = m.msg_flags;
        if (msg->msg_controllen > 0)
            unsock_adopt_rights(msg);
    }
    return r;
}
