/* send, sendto, sendmsg, sendmmsg: datagrams to covered addresses go to their
 * socket files; a datagram socket sending before it is bound is converted
 * on the way (UDP clients usually never call bind or connect). */
#define _GNU_SOURCE /* sendmmsg */
#include "convert.h"
#include "fdtable.h"
#include "init.h"
#include "mmsg.h"
#include "log.h"
#include "real.h"
#include "sockaddr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum route { ROUTE_AS_IS, ROUTE_UNIX, ROUTE_NO_ADDRESS, ROUTE_CONNECTED_DATAGRAM };

/* Where a send to dest on fd goes: unchanged, to the socket file in *un,
 * without an address (a converted stream socket, where TCP ignores it), or
 * to the peer of a converted connected datagram socket. -1 with errno on
 * error. */
static int route(int fd, const struct sockaddr *dest, socklen_t dlen, struct sockaddr_un *un, socklen_t *ulen)
{
    uint16_t port;
    if (dest == NULL) {
        if (!unsock_fd_converted(fd))
            return ROUTE_AS_IS;
        if (unsock_connect_pending(fd) != 0)
            return -1;
        struct usock *s = unsock_fd_lock(fd);
        if (s == NULL)
            return ROUTE_AS_IS;
        bool datagram = s->type == SOCK_DGRAM;
        unsock_unlock();
        return datagram ? ROUTE_CONNECTED_DATAGRAM : ROUTE_AS_IS;
    }
    if (!unsock_addr_covered(dest, dlen, &port)) {
        if (unsock_addr_blocked(dest, dlen)) {
            unsock_debug("send fd %d: IPv4 address not covered, blocked by UNSOCK_BLOCK_INET", fd);
            errno = EACCES;
            return -1;
        }
        if ((dest->sa_family == AF_INET || dest->sa_family == AF_INET6) && unsock_fd_converted(fd)) {
            /* Its IP socket is gone: a unix socket cannot reach IP addresses. */
            unsock_debug("send fd %d: a converted socket cannot send to an address unsock does not cover", fd);
            errno = ENETUNREACH;
            return -1;
        }
        return ROUTE_AS_IS;
    }
    if (!unsock_fd_converted(fd)) {
        int c = unsock_convert_for_send(fd, dest);
        if (c != 0)
            return c < 0 ? -1 : ROUTE_AS_IS;
    }
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return ROUTE_AS_IS;
    int type = s->type;
    unsock_unlock();
    if (type != SOCK_DGRAM)
        return ROUTE_NO_ADDRESS;
    *ulen = unsock_port_sockaddr(port, type, un);
    return ROUTE_UNIX;
}

/* Datagrams are sent with MSG_DONTWAIT: a unix receiver whose queue is full
 * would block the sender, where UDP drops the datagram; so it is dropped,
 * as is one to a port nobody serves (un given: an unconnected send). */
static ssize_t sent(ssize_t r, size_t n, int fd, const struct sockaddr_un *un)
{
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                  (un != NULL && (errno == ENOENT || errno == ECONNREFUSED)))) {
        unsock_debug("send fd %d: %s, datagram dropped as UDP would", fd,
                     errno == EAGAIN || errno == EWOULDBLOCK ? "receiver's queue full" : "nobody there");
        return (ssize_t)n;
    }
    return r;
}

static size_t iov_total(const struct msghdr *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->msg_iovlen; i++)
        n += m->msg_iov[i].iov_len;
    return n;
}

UNSOCK_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *dest, socklen_t dlen)
{
    unsock_init();
    struct sockaddr_un un;
    socklen_t ulen;
    switch (route(fd, dest, dlen, &un, &ulen)) {
    case ROUTE_AS_IS:
        return unsock_real.sendto(fd, buf, n, flags, dest, dlen);
    case ROUTE_NO_ADDRESS:
        return unsock_real.sendto(fd, buf, n, flags, NULL, 0);
    case ROUTE_UNIX:
        return sent(unsock_real.sendto(fd, buf, n, flags | MSG_DONTWAIT, (struct sockaddr *)&un, ulen), n, fd, &un);
    case ROUTE_CONNECTED_DATAGRAM:
        return sent(unsock_real.sendto(fd, buf, n, flags | MSG_DONTWAIT, NULL, 0), n, fd, NULL);
    default:
        return -1;
    }
}

UNSOCK_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    return sendto(fd, buf, n, flags, NULL, 0);
}

UNSOCK_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    unsock_init();
    struct sockaddr_un un;
    socklen_t ulen;
    struct msghdr m;
    int how = msg == NULL ? ROUTE_AS_IS : route(fd, msg->msg_name, msg->msg_namelen, &un, &ulen);
    switch (how) {
    case ROUTE_AS_IS:
        return unsock_real.sendmsg(fd, msg, flags);
    case ROUTE_CONNECTED_DATAGRAM:
        return sent(unsock_real.sendmsg(fd, msg, flags | MSG_DONTWAIT), iov_total(msg), fd, NULL);
    case ROUTE_NO_ADDRESS:
    case ROUTE_UNIX:
        m = *msg;
        m.msg_name = how == ROUTE_UNIX ? &un : NULL;
        m.msg_namelen = how == ROUTE_UNIX ? ulen : 0;
        return how == ROUTE_UNIX ? sent(unsock_real.sendmsg(fd, &m, flags | MSG_DONTWAIT), iov_total(msg), fd, &un)
                                 : unsock_real.sendmsg(fd, &m, flags);
    default:
        return -1;
    }
}

UNSOCK_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
    unsock_init();
    if (vec == NULL || vlen == 0)
        return unsock_real.sendmmsg(fd, vec, vlen, flags);
    /* One rewritten copy of the vector, each message with its own route. */
    struct sockaddr_un *names;
    struct mmsghdr *copy = unsock_mmsg_copy(vec, &vlen, &names);
    if (copy == NULL)
        return -1;
    bool changed = false;
    for (unsigned i = 0; i < vlen; i++) {
        socklen_t ulen;
        int how = route(fd, vec[i].msg_hdr.msg_name, vec[i].msg_hdr.msg_namelen, &names[i], &ulen);
        if (how < 0) {
            free(copy);
            return -1;
        }
        if (how == ROUTE_UNIX || how == ROUTE_NO_ADDRESS) {
            changed = true;
            copy[i].msg_hdr.msg_name = how == ROUTE_UNIX ? &names[i] : NULL;
            copy[i].msg_hdr.msg_namelen = how == ROUTE_UNIX ? ulen : 0;
        }
    }
    int r = unsock_real.sendmmsg(fd, changed ? copy : vec, vlen, flags);
    if (changed && r > 0)
        for (int i = 0; i < r; i++)
            vec[i].msg_len = copy[i].msg_len;
    free(copy);
    return r;
}
