/* close, dup, dup2, dup3, fcntl, close_range, closefrom: the per-descriptor
 * state of converted sockets follows descriptor copies and ends with the
 * last one. */
#undef _FILE_OFFSET_BITS /* we define both fcntl and fcntl64 ourselves */
#define _GNU_SOURCE
#include "early.h"
#include "fdtable.h"
#include "init.h"
#include "log.h"
#include "real.h"
#include "systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int real_close(int fd)
{
    return unsock_real.close(fd);
}

UNSOCK_EXPORT int close(int fd)
{
    unsock_init();
    if (unsock_systemd_protected(fd)) {
        unsock_debug("close fd %d: a socket passed by systemd, kept open", fd);
        return 0;
    }
    return unsock_fd_close(fd, real_close);
}

UNSOCK_EXPORT int dup(int fd)
{
    unsock_init();
    int r = unsock_real.dup(fd);
    if (r >= 0)
        unsock_fd_dup(fd, r);
    return r;
}

/* A passed socket on fd2 moves out of the way of a dup2 or dup3 onto fd2.
 * If the call then fails, the copy left on fd2 is one the program never
 * had: it is closed, as the program's call would have done. */
static int clear_passed(int fd2)
{
    return unsock_systemd_protected(fd2) ? unsock_systemd_move(fd2) : 0;
}

static void undo_clear(int moved, int fd2)
{
    if (moved > 0) {
        int saved = errno;
        unsock_fd_close(fd2, real_close);
        errno = saved;
    }
}

UNSOCK_EXPORT int dup2(int fd, int fd2)
{
    unsock_init();
    int moved = fd != fd2 ? clear_passed(fd2) : 0;
    if (moved < 0)
        return -1;
    int r = unsock_real.dup2(fd, fd2);
    if (r >= 0 && fd != fd2)
        unsock_fd_dup(fd, r);
    else if (r < 0)
        undo_clear(moved, fd2);
    return r;
}

UNSOCK_EXPORT int dup3(int fd, int fd2, int flags)
{
    unsock_init();
    int moved = fd != fd2 ? clear_passed(fd2) : 0;
    if (moved < 0)
        return -1;
    int r = unsock_real.dup3(fd, fd2, flags);
    if (r >= 0)
        unsock_fd_dup(fd, r);
    else
        undo_clear(moved, fd2);
    return r;
}

static int after_fcntl(int fd, int cmd, unsigned long arg, int r)
{
    if (r < 0)
        return r;
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
        unsock_fd_dup(fd, r);
    else if (cmd == F_SETOWN || cmd == F_SETOWN_EX || cmd == F_SETSIG || (cmd == F_SETFL && (arg & O_ASYNC)))
        unsock_fd_touch(fd, UNSOCK_TOUCHED_ASYNC);
    return r;
}

/* fcntl's third argument is an int, a long or a pointer; all are passed in
 * the same register class, so reading it as unsigned long is what libc does. */
UNSOCK_EXPORT int fcntl(int fd, int cmd, ...)
{
    unsock_init();
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return after_fcntl(fd, cmd, arg, unsock_real.fcntl(fd, cmd, arg));
}

UNSOCK_EXPORT int fcntl64(int fd, int cmd, ...)
{
    unsock_init();
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    int (*f)(int, int, ...) = unsock_real.fcntl64 ? unsock_real.fcntl64 : unsock_real.fcntl;
    return after_fcntl(fd, cmd, arg, f(fd, cmd, arg));
}

/* Converted sockets in [first, last] one by one, so their files are handled. */
static void close_converted(unsigned first, unsigned last)
{
    for (int fd = unsock_fd_next_converted(first); fd >= 0 && (unsigned)fd <= last;
         fd = unsock_fd_next_converted((unsigned)fd + 1))
        unsock_fd_close(fd, real_close);
}

/* What an early socket answers as its IP socket would (early.h). */
static bool same_on_unix(unsock_ioctl_request request)
{
    return request == FIONBIO || request == FIOASYNC || request == FIOCLEX || request == FIONCLEX ||
           request == FIONREAD || request == TIOCOUTQ || request == FIOSETOWN || request == SIOCSPGRP ||
           request == FIOGETOWN || request == SIOCGPGRP;
}

/* To notice the owner or O_ASYNC of a socket being set, as with fcntl. */
UNSOCK_EXPORT int ioctl(int fd, unsock_ioctl_request request, ...)
{
    unsock_init();
    va_list ap;
    va_start(ap, request);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    if (!same_on_unix(request) && unsock_early_as_ip(fd) != 0)
        return -1;
    int r = unsock_real.ioctl(fd, request, arg);
    if (r == 0 && (request == FIOSETOWN || request == SIOCSPGRP || request == FIOASYNC))
        unsock_fd_touch(fd, UNSOCK_TOUCHED_ASYNC);
    return r;
}

static int do_close_range(unsigned first, unsigned last, int flags)
{
    if ((flags & CLOSE_RANGE_CLOEXEC) == 0)
        close_converted(first, last);
    if (unsock_real.close_range != NULL)
        return unsock_real.close_range(first, last, flags);
    return (int)syscall(SYS_close_range, first, last, flags);
}

/* [first, last] below a passed socket; one by one if the kernel lacks
 * close_range(2), as closefrom falls back to. */
static int close_below_passed(unsigned first, unsigned last, int flags)
{
    int r = do_close_range(first, last, flags);
    if (r != 0 && errno == ENOSYS && flags == 0) {
        for (unsigned fd = first; fd <= last; fd++)
            unsock_fd_close((int)fd, real_close);
        r = 0;
    }
    return r;
}

/* The sockets systemd passed stay open: the range is closed around them.
 * They already have FD_CLOEXEC, so CLOSE_RANGE_CLOEXEC needs no split. */
UNSOCK_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
    unsock_init();
    if (first > last || (flags & CLOSE_RANGE_CLOEXEC) != 0)
        return do_close_range(first, last, flags);
    for (;;) {
        int p = unsock_systemd_next_protected(first);
        if (p < 0 || (unsigned)p > last)
            return do_close_range(first, last, flags);
        unsock_debug("close_range: fd %d is a socket passed by systemd, kept open", p);
        if ((unsigned)p > first && close_below_passed(first, (unsigned)p - 1, flags) != 0)
            return -1;
        if ((unsigned)p == last)
            return 0;
        first = (unsigned)p + 1;
    }
}

UNSOCK_EXPORT void closefrom(int lowfd)
{
    unsock_init();
    unsigned first = lowfd < 0 ? 0 : (unsigned)lowfd;
    int p;
    while ((p = unsock_systemd_next_protected(first)) >= 0) {
        unsock_debug("closefrom: fd %d is a socket passed by systemd, kept open", p);
        if ((unsigned)p > first)
            close_below_passed(first, (unsigned)p - 1, 0);
        first = (unsigned)p + 1;
    }
    close_converted(first, ~0u);
    if (unsock_real.closefrom != NULL)
        unsock_real.closefrom((int)first);
    else
        syscall(SYS_close_range, first, ~0u, 0);
}
