/* read, write, recv and their fortified forms: only an early socket (early.h)
 * is unsock's business here. It was never connected, and TCP's errors for
 * that (ENOTCONN, EPIPE) are not a unix socket's (EINVAL, ENOTCONN): the IP
 * socket answers. Anything else goes straight to the C library. */
#undef _FORTIFY_SOURCE /* its inline wrappers would clash with ours */
#define _GNU_SOURCE
#include "early.h"
#include "init.h"
#include "real.h"

UNSOCK_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    unsock_init();
    return unsock_early_as_ip(fd) != 0 ? -1 : unsock_real.read(fd, buf, n);
}

UNSOCK_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    unsock_init();
    return unsock_early_as_ip(fd) != 0 ? -1 : unsock_real.write(fd, buf, n);
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
