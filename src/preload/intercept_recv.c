/* recvfrom, recvmsg, recvmmsg, __recvfrom_chk: a converted stream socket
 * reports no sender address, as TCP does; a converted datagram socket
 * reports the IP address and port of the sender's socket file (port 0 for
 * a sender without one). Converted sockets received over SCM_RIGHTS are
 * recognised. */
#undef _FORTIFY_SOURCE /* its inline recvfrom wrapper would clash with ours */
#define _GNU_SOURCE    /* recvmmsg */
#include "adopt.h"
#include "cmsg.h"
#include "fdtable.h"
#include "early.h"
#include "init.h"
#include "peers.h"
#include "real.h"
#include "template.h"
#include "sockaddr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* What the program is told about senders on a converted socket. */
struct view {
    bool datagram;
    int pktinfo; /* the family of packet info the program asked for, or 0 */
    struct sockaddr_storage local;
};

static bool converted_view(int fd, struct view *v)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return false;
    v->datagram = s->type == SOCK_DGRAM;
    v->pktinfo = v->datagram ? unsock_cmsg_pktinfo_wanted(s) : 0;
    v->local = s->local;
    if (s->local_len == 0)
        v->local.ss_family = (sa_family_t)s->family;
    unsock_unlock();
    return true;
}

static socklen_t sender(int fd, const struct view *v, const struct sockaddr_un *un, socklen_t len,
                        struct sockaddr_storage *out)
{
    struct usock *s = v->datagram ? unsock_fd_lock(fd) : NULL;
    if (s == NULL)
        return 0;
    socklen_t n = unsock_datagram_sender(s, un, len, out);
    unsock_unlock();
    return n;
}

/* The kernel's checks of an address length, made before anything is
 * received so that no data is consumed and then reported as an error. */
static int check_len(const socklen_t *len)
{
    if (len == NULL) {
        errno = EFAULT;
        return -1;
    }
    if ((int)*len < 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

UNSOCK_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len)
{
    unsock_init();
    if (unsock_early_as_ip(fd) != 0) /* TCP's ENOTCONN, not a unix socket's EINVAL */
        return -1;
    struct view v;
    if (addr == NULL || !unsock_fd_converted(fd) || !converted_view(fd, &v))
        return unsock_real.recvfrom(fd, buf, n, flags, addr, len);
    if (check_len(len) != 0)
        return -1;
    struct sockaddr_un un;
    socklen_t ul = sizeof(un);
    ssize_t r = unsock_real.recvfrom(fd, buf, n, flags, (struct sockaddr *)&un, &ul);
    if (r < 0)
        return r;
    struct sockaddr_storage shown;
    socklen_t sl = sender(fd, &v, &un, ul, &shown);
    unsock_copy_out(addr, len, &shown, sl, true);
    return r;
}

UNSOCK_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                     struct sockaddr *addr, socklen_t *len)
{
    unsock_init();
    if (n > buflen && unsock_real.recvfrom_chk != NULL)
        return unsock_real.recvfrom_chk(fd, buf, n, buflen, flags, addr, len); /* aborts */
    return recvfrom(fd, buf, n, flags, addr, len);
}

/* Receive into m (a copy of the program's msg with our own name buffer),
 * then give the program its fields back with the sender translated. */
static void finish_msg(int fd, struct msghdr *msg, const struct msghdr *m, const struct view *v,
                       const struct sockaddr_un *un)
{
    struct sockaddr_storage shown;
    socklen_t sl = sender(fd, v, un, m->msg_namelen, &shown);
    if (msg->msg_name != NULL)
        unsock_copy_out(msg->msg_name, &msg->msg_namelen, &shown, sl, true);
    size_t capacity = msg->msg_controllen;
    msg->msg_controllen = m->msg_controllen;
    msg->msg_flags = m->msg_flags;
    if (v->pktinfo != 0)
        unsock_cmsg_add_pktinfo(msg, capacity, v->pktinfo, &v->local);
    if (msg->msg_controllen > 0)
        unsock_adopt_rights(msg);
}

UNSOCK_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    unsock_init();
    if (unsock_early_as_ip(fd) != 0) /* TCP's ENOTCONN, not a unix socket's EINVAL */
        return -1;
    struct view v;
    if (msg == NULL || !unsock_fd_converted(fd) || !converted_view(fd, &v) ||
        (msg->msg_name == NULL && v.pktinfo == 0)) {
        ssize_t r = unsock_real.recvmsg(fd, msg, flags);
        if (r >= 0 && msg != NULL && msg->msg_controllen > 0)
            unsock_adopt_rights(msg);
        return r;
    }
    struct sockaddr_un un;
    struct msghdr m = *msg;
    m.msg_name = &un;
    m.msg_namelen = sizeof(un);
    ssize_t r = unsock_real.recvmsg(fd, &m, flags);
    if (r >= 0)
        finish_msg(fd, msg, &m, &v, &un);
    return r;
}

UNSOCK_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, unsock_mmsg_flags flags,
                           struct timespec *timeout)
{
    unsock_init();
    if (unsock_early_as_ip(fd) != 0) /* TCP's ENOTCONN, not a unix socket's EINVAL */
        return -1;
    struct view v;
    if (vec == NULL || vlen == 0 || !unsock_fd_converted(fd) || !converted_view(fd, &v)) {
        int r = unsock_real.recvmmsg(fd, vec, vlen, flags, timeout);
        for (int i = 0; i < r; i++)
            if (vec[i].msg_hdr.msg_controllen > 0)
                unsock_adopt_rights(&vec[i].msg_hdr);
        return r;
    }
    if (vlen > 1024)
        vlen = 1024; /* UIO_MAXIOV, as the kernel caps it */
    /* A copy of the vector whose messages have unix address buffers. */
    struct mmsghdr *copy = malloc(vlen * (sizeof(*copy) + sizeof(struct sockaddr_un)));
    if (copy == NULL) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(copy, vec, vlen * sizeof(*copy));
    struct sockaddr_un *names = (struct sockaddr_un *)(copy + vlen);
    for (unsigned i = 0; i < vlen; i++) {
        copy[i].msg_hdr.msg_name = &names[i];
        copy[i].msg_hdr.msg_namelen = sizeof(names[i]);
    }
    int r = unsock_real.recvmmsg(fd, copy, vlen, flags, timeout);
    for (int i = 0; i < r; i++) {
        vec[i].msg_len = copy[i].msg_len;
        finish_msg(fd, &vec[i].msg_hdr, &copy[i].msg_hdr, &v, &names[i]);
    }
    free(copy);
    return r;
}
