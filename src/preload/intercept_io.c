/* read, write, readv, writev, recv, sendfile and their fortified forms: an early
 * socket (early.h) was never connected, and TCP's errors for that (ENOTCONN,
 * EPIPE) are not a unix socket's (EINVAL, ENOTCONN): the IP socket answers.
 * A write on a converted datagram socket is the send it is on UDP
 * (intercept_send.c: dropped rather than blocking on a full receiver).
 * Anything else goes straight to the C library after one lock-free look. */
#undef _FORTIFY_SOURCE /* its inline wrappers would clash with ours */
#define _GNU_SOURCE
#include "early.h"
#include "init.h"
#include "real.h"

#include <limits.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

UNSOCK_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    unsock_init();
    return unsock_early_as_ip(fd) != 0 ? -1 : unsock_real.read(fd, buf, n);
}

/* What a write on fd is: 1 a send (a converted datagram socket), 0 a write
 * (fd made its IP socket first if it was an early one), -1 an error. */
static int write_is_send(int fd)
{
    int type = unsock_fd_converted_type(fd);
    if (type == SOCK_DGRAM)
        return 1;
    return (type & UNSOCK_EARLY) && unsock_early_materialize(fd) != 0 ? -1 : 0;
}

UNSOCK_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    unsock_init();
    int how = write_is_send(fd);
    return how == 0 ? unsock_real.write(fd, buf, n) : how > 0 ? send(fd, buf, n, 0) : -1;
}

UNSOCK_EXPORT ssize_t writev(int fd, const struct iovec *iov, int count)
{
    unsock_init();
    int how = write_is_send(fd);
    if (how < 0)
        return -1;
    if (how == 0 || count < 0 || count > IOV_MAX) /* the kernel's EINVAL for a bad count, not sendmsg's */
        return unsock_real.writev(fd, iov, count);
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = count};
    return sendmsg(fd, &m, 0);
}

/* The kernel's sendfile: glibc's sendfile64 is sendfile on 64-bit systems,
 * and no wrapper of its own is worth a slot in the table. */
static ssize_t send_file(int out, int in, off_t *offset, size_t count)
{
    unsock_init();
    return unsock_early_as_ip(out) != 0 ? -1 : syscall(SYS_sendfile, out, in, offset, count);
}

UNSOCK_EXPORT ssize_t sendfile(int out, int in, off_t *offset, size_t count)
{
    return send_file(out, in, offset, count);
}

UNSOCK_EXPORT ssize_t sendfile64(int out, int in, off_t *offset, size_t count)
{
    return send_file(out, in, offset, count);
}

UNSOCK_EXPORT ssize_t readv(int fd, const struct iovec *iov, int count)
{
    unsock_init();
    return unsock_early_as_ip(fd) != 0 ? -1 : unsock_real.readv(fd, iov, count);
}

UNSOCK_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    unsock_init();
    return unsock_early_as_ip(fd) != 0 ? -1 : unsock_real.recv(fd, buf, n, flags);
}

#ifdef __GLIBC__
UNSOCK_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    unsock_init();
    if (n > buflen && unsock_real.read_chk != NULL)
        return unsock_real.read_chk(fd, buf, n, buflen); /* aborts, with glibc's message */
    return read(fd, buf, n);
}

UNSOCK_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    unsock_init();
    if (n > buflen && unsock_real.recv_chk != NULL)
        return unsock_real.recv_chk(fd, buf, n, buflen, flags);
    return recv(fd, buf, n, flags);
}
#endif
