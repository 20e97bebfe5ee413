#define _GNU_SOURCE
#include "datagram.h"

#include "addr.h"
#include "log.h"
#include "notif.h"
#include "plan.h"
#include "sockaddr.h"
#include "target.h"
#include "template.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* Longer than any datagram (UDP's are at most 64 KiB). */
#define DATA_MAX (256 * 1024)
#define IOV_MAX_TAKEN 1024 /* UIO_MAXIOV */

/* The caller's data buffers and where it wants the peer's address. */
struct io {
    struct iovec *iov; /* addresses in the caller's memory */
    size_t iovlen, total;
    int flags;
    uint64_t name, namelen; /* the address buffer and its length (recvfrom: a pointer to it) */
    uint64_t msg;           /* the caller's msghdr (recvmsg, sendmsg), or 0 */
    struct iovec one;
};

static void free_io(struct io *io)
{
    if (io->iov != &io->one)
        free(io->iov);
    io->iov = &io->one;
}

/* The caller's message at msg (a msghdr): false (the kernel's to answer,
 * with its errors) if it cannot be read, or has no address where one is
 * needed. */
static bool read_msg(const struct call *c, uint64_t msg, int flags, struct io *io, bool need_name)
{
    struct msghdr h;
    free_io(io);
    *io = (struct io){.iov = &io->one, .msg = msg, .flags = flags};
    if (target_read(c->tid, msg, &h, sizeof(h)) != 0 || (need_name && h.msg_name == NULL) ||
        h.msg_iovlen > IOV_MAX_TAKEN)
        return false;
    io->name = (uint64_t)(uintptr_t)h.msg_name, io->namelen = h.msg_namelen;
    io->iovlen = h.msg_iovlen;
    if (io->iovlen > 1 && (io->iov = calloc(io->iovlen, sizeof(*io->iov))) == NULL)
        return false;
    if (io->iovlen > 0 &&
        target_read(c->tid, (uint64_t)(uintptr_t)h.msg_iov, io->iov, io->iovlen * sizeof(*io->iov)) != 0)
        return false;
    for (size_t i = 0; i < io->iovlen; i++)
        io->total += io->iov[i].iov_len;
    return true;
}

/* What the call names (sendto/recvfrom, or the message of sendmsg/recvmsg);
 * false as for read_msg. */
static bool read_io(const struct call *c, bool msg, struct io *io)
{
    const __u64 *a = c->n.data.args;
    *io = (struct io){.iov = &io->one};
    if (msg)
        return read_msg(c, a[1], (int)a[2], io, true);
    io->one = (struct iovec){(void *)(uintptr_t)a[1], (size_t)a[2]};
    io->iovlen = 1, io->total = (size_t)a[2];
    io->flags = (int)a[3], io->name = a[4], io->namelen = a[5];
    return io->name != 0;
}

/* ---- send ------------------------------------------------------------------ */

/* The caller's data, gathered; NULL with *err. */
static void *gather(const struct call *c, const struct io *io, int *err)
{
    if (io->total > DATA_MAX) {
        *err = EMSGSIZE;
        return NULL;
    }
    unsigned char *buf = malloc(io->total ? io->total : 1), *at = buf;
    for (size_t i = 0; buf != NULL && i < io->iovlen; at += io->iov[i++].iov_len) {
        if (io->iov[i].iov_len > 0 &&
            target_read(c->tid, (uint64_t)(uintptr_t)io->iov[i].iov_base, at, io->iov[i].iov_len) != 0) {
            free(buf);
            *err = EFAULT;
            return NULL;
        }
    }
    if (buf == NULL)
        *err = ENOMEM;
    return buf;
}

/* A datagram socket sending first: converted, with an implicit bind. */
static int convert(struct call *c, const struct unsock_query *q, const struct unsock_plan *p)
{
    struct usock d;
    struct sockaddr_un owned = {.sun_path = ""};
    int sock = call_prepare(c, q->addr->sa_family, AF_UNIX, &d);
    if (sock < 0)
        return -1;
    int err = unsock_implicit_bind(sock, &d, q, p, &owned) == 0 ? call_replace(c, sock, &d, owned.sun_path) : errno;
    if (err != 0) {
        if (owned.sun_path[0] != '\0')
            unlink(owned.sun_path);
        call_abandon(c, sock, &d);
        errno = err;
        return -1;
    }
    forget_description(&d);
    unsock_debug("send fd %d: implicit bind -> %s", c->fd, owned.sun_path[0] ? owned.sun_path : "(abstract)");
    return sock;
}

/* Send to p's unix address from sock, as UDP would: a datagram nobody can
 * take now (a full queue, nobody there) is dropped, not waited for. */
static ssize_t send_as_udp(const struct call *c, int sock, const struct io *io, const struct unsock_plan *p, int *err)
{
    void *data = gather(c, io, err);
    if (data == NULL)
        return -1;
    ssize_t r = sendto(sock, data, io->total, io->flags | MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)&p->un, p->un_len);
    *err = errno;
    free(data);
    if (r < 0 && (*err == EAGAIN || *err == ENOENT || *err == ECONNREFUSED || *err == EPERM)) {
        unsock_debug("send fd %d: %s, datagram dropped as UDP would", c->fd,
                     *err == EAGAIN ? "receiver's queue full" : "nobody there");
        return (ssize_t)io->total;
    }
    return r;
}

/* The socket is ours from here on: the caller's descriptor's new socket. */
static void adopt(struct call *c, int sock)
{
    struct stat st;
    close(c->dup);
    c->dup = sock;
    if (fstat(sock, &st) == 0)
        c->ino = st.st_ino;
}

/* Send the message io as its address's plan says: the bytes sent, or -1
 * with *err; PASSED if the kernel is to do it (nothing done). */
#define PASSED (-2)
static ssize_t send_one(struct call *c, struct io *io, int *err)
{
    struct sockaddr_storage addr;
    struct unsock_query q;
    struct unsock_plan p;
    if (!call_plan(c, CALL_SEND, io->name, (socklen_t)io->namelen, &addr, &q, &p) || c->type != SOCK_DGRAM)
        return PASSED;
    struct usock *rec;
    if (p.kind == PLAN_REJECT) {
        unsock_log_plan(c->fd, &q, &p, 0, NULL);
        *err = p.err;
        return -1;
    }
    if (p.kind != PLAN_UNIX || (!q.converted && !p.implicit_bind))
        return PASSED;
    int sock;
    if (!q.converted) {
        if ((sock = convert(c, &q, &p)) < 0)
            return *err = errno, -1;
        adopt(c, sock);
    }
    if (unsock_is_ip(q.addr, q.len)) {
        unsock_log_plan(c->fd, &q, &p, 0, NULL);
        if (!p.known_peer && !unsock_rule_has_port(p.rule) && (rec = call_converted(c)) != NULL) {
            unsock_peers_remember(rec, p.port, &p.un, p.un_len); /* what comes back from there is from p.port */
            socks_unlock();
        }
    }
    return send_as_udp(c, c->dup, io, &p, err);
}

void on_send(struct call *c, bool msg)
{
    struct io io;
    int err = 0;
    ssize_t r = read_io(c, msg, &io) ? send_one(c, &io, &err) : PASSED;
    free_io(&io);
    if (r == PASSED)
        call_pass(c);
    else if (r < 0)
        notif_fail(c->listener, c->n.id, err);
    else
        notif_return(c->listener, c->n.id, r);
}

/* sendmmsg: each message as sendmsg, as long as the first is unsock's;
 * the count sent, or the first message's error. */
void on_sendmmsg(struct call *c)
{
    uint64_t vec = c->n.data.args[1];
    unsigned vlen = (unsigned)c->n.data.args[2] < IOV_MAX_TAKEN ? (unsigned)c->n.data.args[2] : IOV_MAX_TAKEN;
    int flags = (int)c->n.data.args[3], err = 0;
    struct io io = {.iov = &io.one};
    unsigned i;
    for (i = 0; i < vlen; i++) {
        uint64_t at = vec + i * sizeof(struct mmsghdr);
        ssize_t r = read_msg(c, at, flags, &io, true) ? send_one(c, &io, &err) : PASSED;
        if (r == PASSED && i == 0) {
            free_io(&io);
            return call_pass(c);
        }
        unsigned sent = (unsigned)r;
        if (r < 0 || target_write(c->tid, at + offsetof(struct mmsghdr, msg_len), &sent, sizeof(sent)) != 0)
            break;
    }
    free_io(&io);
    if (i == 0)
        return notif_fail(c->listener, c->n.id, err ? err : EFAULT);
    notif_return(c->listener, c->n.id, i);
}

/* ---- receive ---------------------------------------------------------------- */

struct reception {
    struct call c;
    struct io io;
    int64_t deadline_ms;
    uint64_t vec; /* recvmmsg's vector of messages, or 0 */
    unsigned vlen, got;
};

/* One receive on our descriptor of the caller's socket, without waiting;
 * the data and the sender given to the caller. The call's answer, or -1
 * with errno (EAGAIN: nothing there). */
static ssize_t receive(struct reception *rc)
{
    struct call *c = &rc->c;
    struct io *io = &rc->io;
    socklen_t room = 0;
    if (io->msg != 0)
        room = (socklen_t)io->namelen;
    else if (target_read(c->tid, io->namelen, &room, sizeof(room)) != 0)
        return errno = EFAULT, -1;
    if ((int)room < 0)
        return errno = EINVAL, -1;
    size_t cap = io->total < DATA_MAX ? io->total : DATA_MAX;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (buf == NULL)
        return errno = ENOMEM, -1;
    struct sockaddr_un un;
    struct iovec v = {buf, cap};
    struct msghdr h = {.msg_name = &un, .msg_namelen = sizeof(un), .msg_iov = &v, .msg_iovlen = 1};
    ssize_t r = recvmsg(c->dup, &h, io->flags | MSG_DONTWAIT);
    int err = r < 0 ? errno : 0;
    struct sockaddr_storage shown;
    socklen_t shown_len = 0;
    struct usock *rec;
    if (r >= 0 && (rec = call_converted(c)) != NULL) {
        if (rec->type == SOCK_DGRAM)
            shown_len = unsock_datagram_sender(rec, &un, h.msg_namelen, &shown);
        socks_unlock();
    }
    size_t left = r < 0 ? 0 : (size_t)r < cap ? (size_t)r : cap;
    unsigned char *at = buf;
    for (size_t i = 0; i < io->iovlen && left > 0 && err == 0; i++) {
        size_t n = io->iov[i].iov_len < left ? io->iov[i].iov_len : left;
        if (target_write(c->tid, (uint64_t)(uintptr_t)io->iov[i].iov_base, at, n) != 0)
            err = EFAULT, r = -1;
        at += n, left -= n;
    }
    free(buf);
    if (r < 0)
        return errno = err, -1;
    int flags = h.msg_flags;
    if ((room > 0 && io->name != 0 && target_write(c->tid, io->name, &shown, room < shown_len ? room : shown_len) != 0) ||
        (io->msg == 0 && target_write(c->tid, io->namelen, &shown_len, sizeof(shown_len)) != 0) ||
        (io->msg != 0 &&
         (target_write(c->tid, io->msg + offsetof(struct msghdr, msg_namelen), &shown_len, sizeof(shown_len)) ||
          target_write(c->tid, io->msg + offsetof(struct msghdr, msg_controllen), &(size_t){0}, sizeof(size_t)) ||
          target_write(c->tid, io->msg + offsetof(struct msghdr, msg_flags), &flags, sizeof(flags)))))
        return errno = EFAULT, -1;
    return r;
}

/* Receive what rc asks for: one message, or for recvmmsg as many of the
 * vector's as are there. The count (recvmmsg) or length, or -1 with errno
 * if none came. */
static ssize_t receive_all(struct reception *rc)
{
    if (rc->vec == 0)
        return receive(rc);
    int flags = rc->io.flags;
    while (rc->got < rc->vlen) {
        uint64_t at = rc->vec + rc->got * sizeof(struct mmsghdr);
        if (!read_msg(&rc->c, at, flags, &rc->io, false)) {
            errno = EFAULT;
            break;
        }
        ssize_t r = receive(rc);
        unsigned len = (unsigned)r;
        if (r < 0 || target_write(rc->c.tid, at + offsetof(struct mmsghdr, msg_len), &len, sizeof(len)) != 0)
            break;
        rc->got++;
    }
    return rc->got > 0 ? (ssize_t)rc->got : -1;
}

static void answer(struct reception *rc, ssize_t r)
{
    if (r >= 0)
        notif_return(rc->c.listener, rc->c.n.id, r);
    else if (errno != ECANCELED)
        notif_fail(rc->c.listener, rc->c.n.id, errno);
}

static void release(struct reception *rc)
{
    free_io(&rc->io);
    if (rc->c.dup >= 0)
        close(rc->c.dup);
    free(rc);
}

/* A blocking receive: waits for data (until the socket's SO_RCVTIMEO),
 * answering INTERRUPTED when the caller has a signal waiting. */
static void *receive_later(void *arg)
{
    struct reception *rc = arg;
    ssize_t r = -1;
    for (;;) {
        int err = call_wait(&rc->c, rc->c.dup, POLLIN, rc->deadline_ms);
        if (err != 0) {
            errno = err;
            break;
        }
        if ((r = receive_all(rc)) >= 0 || (errno != EAGAIN && errno != EINTR))
            break;
    }
    answer(rc, r);
    release(rc);
    return NULL;
}

static int64_t deadline(int sock)
{
    struct timeval tv = {0, 0};
    socklen_t len = sizeof(tv);
    if (getsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) != 0 || (tv.tv_sec == 0 && tv.tv_usec == 0))
        return INT64_MAX;
    return unsock_now_ms() + tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* rc's receive on a converted socket: now, or in a thread of its own if
 * the caller blocks till something comes. */
static void start(struct call *c, struct reception *rc)
{
    socks_unlock();
    c->flags = fcntl(c->dup, F_GETFL);
    rc->c = *c;
    ssize_t r = receive_all(rc);
    bool blocking = c->flags >= 0 && !(c->flags & O_NONBLOCK) && !(rc->io.flags & MSG_DONTWAIT);
    if (r < 0 && errno == EAGAIN && blocking) {
        rc->deadline_ms = deadline(c->dup);
        if (in_thread(receive_later, rc)) {
            c->dup = -1; /* the thread's now */
            return;
        }
    }
    answer(rc, r);
    rc->c.dup = -1; /* handle() closes it */
    release(rc);
}

void on_recv(struct call *c, bool msg)
{
    struct reception *rc = calloc(1, sizeof(*rc));
    if (rc == NULL)
        return call_pass(c);
    rc->io.iov = &rc->io.one;
    if (!read_io(c, msg, &rc->io) || !call_socket(c) || call_converted(c) == NULL) {
        free_io(&rc->io);
        free(rc);
        return call_pass(c);
    }
    start(c, rc);
}

void on_recvmmsg(struct call *c)
{
    struct reception *rc = calloc(1, sizeof(*rc));
    if (rc == NULL)
        return call_pass(c);
    rc->io = (struct io){.iov = &rc->io.one, .flags = (int)c->n.data.args[3]};
    rc->vec = c->n.data.args[1];
    rc->vlen = (unsigned)c->n.data.args[2] < IOV_MAX_TAKEN ? (unsigned)c->n.data.args[2] : IOV_MAX_TAKEN;
    if (rc->vec == 0 || rc->vlen == 0 || !call_socket(c) || call_converted(c) == NULL) {
        free(rc);
        return call_pass(c);
    }
    start(c, rc);
}
