/* send, sendto, sendmsg, sendmmsg: datagrams to covered addresses go to their
 * socket files; a datagram socket sending before it is bound is converted
 * on the way (UDP clients usually never call bind or connect). */
#define _GNU_SOURCE /* sendmmsg */
#include "cmsg.h"
#include "convert.h"
#include "early.h"
#include "init.h"
#include "log.h"
#include "peers.h"
#include "query.h"
#include "real.h"
#include "template.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum route { ROUTE_AS_IS, ROUTE_UNIX, ROUTE_NO_ADDRESS, ROUTE_CONNECTED_DATAGRAM };

/* Where a send to dest on fd goes: unchanged, to the unix address in *un,
 * without an address (a converted stream socket, where TCP ignores it), or
 * to the peer of a converted connected datagram socket. A send with
 * MSG_FASTOPEN on a stream socket not connected yet connects it first, as
 * TCP Fast Open does. -1 with errno on error. */
static int route(int fd, const struct sockaddr *dest, socklen_t dlen, int flags, struct sockaddr_un *un,
                 socklen_t *ulen)
{
    if (dest == NULL) {
        /* The data path of converted stream sockets: no lock taken. */
        int type = unsock_fd_converted_type(fd);
        if (type & UNSOCK_EARLY) /* TCP's EPIPE, not a unix socket's ENOTCONN */
            return unsock_early_as_ip(fd) != 0 ? -1 : ROUTE_AS_IS;
        if (type != SOCK_DGRAM)
            return ROUTE_AS_IS;
        return unsock_connect_pending(fd) != 0 ? -1 : ROUTE_CONNECTED_DATAGRAM;
    }
    struct unsock_query q;
    struct unsock_plan p;
    struct sockaddr_un peer;
    int asked = unsock_query_fd((flags & MSG_FASTOPEN) ? CALL_FASTOPEN : CALL_SEND, fd, dest, dlen, &q, &peer);
    if (asked <= 0)
        return asked < 0 || unsock_early_as_ip(fd) != 0 ? -1 : ROUTE_AS_IS;
    unsock_plan(&unsock_ruleset, &q, &p);
    int early = q.early ? unsock_early_apply(fd, &q, &p) : 1; /* connected by MSG_FASTOPEN, or made an IP socket */
    if (early <= 0)
        return early < 0 ? -1 : ROUTE_NO_ADDRESS;
    if (p.kind == PLAN_NATIVE)
        return ROUTE_AS_IS;
    if (p.kind == PLAN_REJECT) {
        unsock_log_plan(fd, &q, &p, 0, NULL);
        errno = p.err;
        return -1;
    }
    if (unsock_apply(fd, &q, &p) != 0)
        return -1;
    if (p.no_address || q.call == CALL_FASTOPEN)
        return ROUTE_NO_ADDRESS;
    if (unsock_is_ip(dest, dlen)) {
        unsock_log_plan(fd, &q, &p, 0, NULL);
        if (!p.known_peer && !unsock_rule_has_port(p.rule))
            unsock_peer_remember(fd, p.port, &p.un, p.un_len); /* what comes back from there is from p.port */
    }
    *un = p.un;
    *ulen = p.un_len;
    return ROUTE_UNIX;
}

/* A send without an address on a converted datagram socket failed: on a
 * socket never connected with UDP's EDESTADDRREQ (a unix socket says
 * ENOTCONN); a peer that went away (a server restarting), whose unix socket
 * the kernel then disconnects, is connected again at the next send, as UDP
 * goes on sending to its port. */
static void connected_send_failed(int fd)
{
    if (errno != ENOTCONN && errno != ECONNREFUSED)
        return;
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return;
    if (s->peer_len == 0 && errno == ENOTCONN)
        errno = EDESTADDRREQ;
    else if (s->peer_len != 0)
        s->peer_pending = true;
    unsock_unlock();
}

/* Datagrams are sent with MSG_DONTWAIT: a unix receiver whose queue is full
 * would block the sender, where UDP drops the datagram; so it is dropped,
 * as is one to a port nobody serves, or to a receiver connected to another
 * peer (EPERM, where UDP filters it) (un given: an unconnected send). */
static ssize_t sent(ssize_t r, size_t n, int fd, const struct sockaddr_un *un)
{
    if (r < 0 && un == NULL)
        connected_send_failed(fd);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                  (un != NULL && (errno == ENOENT || errno == ECONNREFUSED || errno == EPERM)))) {
        unsock_debug("send fd %d: %s, datagram dropped as UDP would", fd,
                     errno == EAGAIN || errno == EWOULDBLOCK ? "receiver's queue full" : "nobody there");
        return (ssize_t)n;
    }
    return r;
}

static size_t iov_total(const struct msghdr *m)
{
    size_t n = 0;
    for (size_t i = 0; i < (size_t)m->msg_iovlen; i++) /* an int on musl */
        n += m->msg_iov[i].iov_len;
    return n;
}

UNSOCK_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *dest, socklen_t dlen)
{
    unsock_init();
    struct sockaddr_un un;
    socklen_t ulen;
    switch (route(fd, dest, dlen, flags, &un, &ulen)) {
    case ROUTE_AS_IS:
        return unsock_real.sendto(fd, buf, n, flags, dest, dlen);
    case ROUTE_NO_ADDRESS:
        return unsock_real.sendto(fd, buf, n, flags & ~MSG_FASTOPEN, NULL, 0);
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
    if (msg != NULL && msg->msg_controllen > 0)
        unsock_early_materialize_passed(msg);
    int how = msg == NULL ? ROUTE_AS_IS : route(fd, msg->msg_name, msg->msg_namelen, flags, &un, &ulen);
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
        r = unsock_real.sendmsg(fd, &m, flags & ~MSG_FASTOPEN);
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
UNSOCK_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, unsock_mmsg_flags flags)
{
    unsock_init();
    bool ours = vec != NULL && unsock_fd_converted(fd);
    for (unsigned i = 0; vec != NULL && !ours && i < vlen; i++) {
        const struct msghdr *h = &vec[i].msg_hdr;
        struct unsock_query q;
        struct unsock_plan p;
        struct sockaddr_un peer;
        int asked = unsock_query_fd(CALL_SEND, fd, h->msg_name, h->msg_namelen, &q, &peer);
        if (asked > 0)
            unsock_plan(&unsock_ruleset, &q, &p);
        ours = asked < 0 || (asked > 0 && p.kind != PLAN_NATIVE);
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
