/* send, sendto, sendmsg, sendmmsg: datagrams to covered addresses go to their
 * socket files; a datagram socket sending before it is bound is converted
 * on the way (UDP clients usually never call bind or connect). */
#define _GNU_SOURCE /* sendmmsg */
#include "cmsg.h"
#include "convert.h"
#include "decide.h"
#include "fdtable.h"
#include "init.h"
#include "peers.h"
#include "real.h"
#include "sockaddr.h"
#include "target.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum route { ROUTE_AS_IS, ROUTE_UNIX, ROUTE_NO_ADDRESS, ROUTE_CONNECTED_DATAGRAM };

/* The rule for a send on fd to dest, NULL if there is none or it leaves
 * the socket alone (see unsock_rule_for). */
static const struct unsock_rule *send_rule(int fd, const struct sockaddr *dest, socklen_t dlen, int *type,
                                           int *domain)
{
    const struct unsock_rule *r = unsock_rule_for(fd, RULE_OUT, dest, dlen, type, domain);
    return r != NULL && r->action != ACT_IGNORE ? r : NULL;
}

/* Where a send to dest on fd goes: unchanged, to the unix address in *un,
 * without an address (a converted stream socket, where TCP ignores it), or
 * to the peer of a converted connected datagram socket. -1 with errno on
 * error. */
static int route(int fd, const struct sockaddr *dest, socklen_t dlen, struct sockaddr_un *un, socklen_t *ulen)
{
    if (dest == NULL) {
        /* The data path of converted stream sockets: no lock taken. */
        if (unsock_fd_converted_type(fd) != SOCK_DGRAM)
            return ROUTE_AS_IS;
        return unsock_connect_pending(fd) != 0 ? -1 : ROUTE_CONNECTED_DATAGRAM;
    }
    bool converted = unsock_fd_converted(fd), ip = unsock_is_ip(dest, dlen);
    /* sin_port and sin6_port are at the same offset */
    uint16_t port = ip ? ntohs(((const struct sockaddr_in *)dest)->sin_port) : 0;
    if (converted && port != 0 && unsock_peer_addr(fd, port, un, ulen))
        return ROUTE_UNIX;
    int type, domain;
    const struct unsock_rule *r = send_rule(fd, dest, dlen, &type, &domain);
    if (type < 0)
        return -1;
    if (r == NULL) {
        if (ip && converted) {
            /* Its IP socket is gone: a unix socket cannot reach IP addresses. */
            unsock_debug("send fd %d: a converted socket cannot send to an address no rule converts -> ENETUNREACH", fd);
            errno = ENETUNREACH;
            return -1;
        }
        return ROUTE_AS_IS;
    }
    if (r->action == ACT_REJECT)
        return unsock_rejected("send", fd, dest, dlen, type, r);
    if (r->action != ACT_PATH && r->action != ACT_ABSTRACT) {
        unsock_decided("send", fd, dest, dlen, type, r, "unreachable: datagrams go to unix addresses only, "
                       "connect() first");
        errno = ENETUNREACH;
        return -1;
    }
    if (!ip) {
        if (unsock_rule_sockaddr(r, type, NULL, 0, un, ulen) != 0)
            return -1;
        return ROUTE_UNIX;
    }
    if (!converted) {
        if (type != SOCK_DGRAM || dest->sa_family != domain)
            return ROUTE_AS_IS;
        if (unsock_convert_for_send(fd, type, r, dest) != 0)
            return -1;
    }
    if (type != SOCK_DGRAM)
        return ROUTE_NO_ADDRESS;
    if (unsock_rule_sockaddr(r, type, dest, port, un, ulen) != 0)
        return -1;
    unsock_decided("send", fd, dest, dlen, type, r, "%s", unsock_target_describe(r, un));
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
    int how = msg == NULL ? ROUTE_AS_IS : route(fd, msg->msg_name, msg->msg_namelen, &un, &ulen);
    if (how == ROUTE_AS_IS || how < 0)
        return how < 0 ? -1 : unsock_real.sendmsg(fd, msg, flags);
    /* A converted socket: without the IP-level control messages (a source
     * address given with IP_PKTINFO) that a unix socket would refuse. */
    struct msghdr m;
    void *control;
    if (unsock_cmsg_strip(msg, &m, &control) != 0)
        return -1;
    ssize_t r;
    if (how == ROUTE_NO_ADDRESS) {
        m.msg_name = NULL;
        m.msg_namelen = 0;
        r = unsock_real.sendmsg(fd, &m, flags);
    } else {
        if (how == ROUTE_UNIX) {
            m.msg_name = &un;
            m.msg_namelen = ulen;
        }
        r = sent(unsock_real.sendmsg(fd, &m, flags | MSG_DONTWAIT), iov_total(msg), fd,
                 how == ROUTE_UNIX ? &un : NULL);
    }
    int saved = errno;
    free(control);
    errno = saved;
    return r;
}

/* Messages for unsock (to covered or blocked addresses, or on a converted
 * socket) go one by one through sendmsg() above, so that each is routed and
 * dropped as UDP would drop it; the kernel's sendmmsg gets the rest. */
UNSOCK_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
    unsock_init();
    bool ours = vec != NULL && unsock_fd_converted(fd);
    for (unsigned i = 0; vec != NULL && !ours && i < vlen; i++) {
        int type, domain;
        const struct msghdr *h = &vec[i].msg_hdr;
        ours = send_rule(fd, h->msg_name, h->msg_namelen, &type, &domain) != NULL || type < 0;
    }
    if (!ours)
        return unsock_real.sendmmsg(fd, vec, vlen, flags);
    if (vlen > 1024)
        vlen = 1024; /* UIO_MAXIOV, as the kernel caps it */
    unsigned i;
    for (i = 0; i < vlen; i++) {
        ssize_t r = sendmsg(fd, &vec[i].msg_hdr, flags);
        if (r < 0) {
            if (i == 0)
                return -1;
            break;
        }
        vec[i].msg_len = (unsigned)r;
    }
    return (int)i;
}
