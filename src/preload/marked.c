/* The shim under the seccomp engine (UNSOCK_SUPERVISED): its own socket
 * calls carry UNSOCK_SHIM_MARK in an argument the kernel ignores, and the
 * supervisor's filter lets them through without asking it, so the rules
 * are applied once, by the shim, at no cost to the supervisor. (A program
 * could forge the mark: the seccomp engine is no sandbox.) sendto and
 * recvfrom use all six arguments: they go as sendmsg and recvmsg. */
#define _GNU_SOURCE
#include "real.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MARKED(...) syscall(__VA_ARGS__)

static int m_bind(int fd, const struct sockaddr *a, socklen_t l)
{
    return (int)MARKED(SYS_bind, fd, a, l, 0, 0, UNSOCK_SHIM_MARK);
}

static int m_connect(int fd, const struct sockaddr *a, socklen_t l)
{
    return (int)MARKED(SYS_connect, fd, a, l, 0, 0, UNSOCK_SHIM_MARK);
}

static int m_accept4(int fd, struct sockaddr *a, socklen_t *l, int flags)
{
    return (int)MARKED(SYS_accept4, fd, a, l, flags, 0, UNSOCK_SHIM_MARK);
}

static int m_accept(int fd, struct sockaddr *a, socklen_t *l)
{
    return m_accept4(fd, a, l, 0);
}

static int m_getsockname(int fd, struct sockaddr *a, socklen_t *l)
{
    return (int)MARKED(SYS_getsockname, fd, a, l, 0, 0, UNSOCK_SHIM_MARK);
}

static int m_getpeername(int fd, struct sockaddr *a, socklen_t *l)
{
    return (int)MARKED(SYS_getpeername, fd, a, l, 0, 0, UNSOCK_SHIM_MARK);
}

static int m_getsockopt(int fd, int level, int name, void *v, socklen_t *l)
{
    return (int)MARKED(SYS_getsockopt, fd, level, name, v, l, UNSOCK_SHIM_MARK);
}

static int m_setsockopt(int fd, int level, int name, const void *v, socklen_t l)
{
    return (int)MARKED(SYS_setsockopt, fd, level, name, v, l, UNSOCK_SHIM_MARK);
}

static ssize_t m_sendmsg(int fd, const struct msghdr *m, int flags)
{
    return MARKED(SYS_sendmsg, fd, m, flags, 0, 0, UNSOCK_SHIM_MARK);
}

static ssize_t m_recvmsg(int fd, struct msghdr *m, int flags)
{
    return MARKED(SYS_recvmsg, fd, m, flags, 0, 0, UNSOCK_SHIM_MARK);
}

static int m_sendmmsg(int fd, struct mmsghdr *v, unsigned int n, unsock_mmsg_flags flags)
{
    return (int)MARKED(SYS_sendmmsg, fd, v, n, flags, 0, UNSOCK_SHIM_MARK);
}

static int m_recvmmsg(int fd, struct mmsghdr *v, unsigned int n, unsock_mmsg_flags flags, struct timespec *t)
{
    return (int)MARKED(SYS_recvmmsg, fd, v, n, flags, t, UNSOCK_SHIM_MARK);
}

static int m_epoll_ctl(int ep, int op, int fd, struct epoll_event *e)
{
    return (int)MARKED(SYS_epoll_ctl, ep, op, fd, e, 0, UNSOCK_SHIM_MARK);
}

static ssize_t m_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a, socklen_t l)
{
    struct iovec v = {(void *)buf, n};
    struct msghdr m = {.msg_name = (void *)a, .msg_namelen = a != NULL ? l : 0, .msg_iov = &v, .msg_iovlen = 1};
    return m_sendmsg(fd, &m, flags);
}

static ssize_t m_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *l)
{
    if (a != NULL && l == NULL) {
        errno = EFAULT;
        return -1;
    }
    struct iovec v = {buf, n};
    struct msghdr m = {.msg_name = a, .msg_namelen = a != NULL ? *l : 0, .msg_iov = &v, .msg_iovlen = 1};
    ssize_t r = m_recvmsg(fd, &m, flags);
    if (r >= 0 && a != NULL)
        *l = m.msg_namelen;
    return r;
}

void unsock_real_mark(void)
{
    if (getenv("UNSOCK_SUPERVISED") == NULL)
        return;
    unsock_real.bind = m_bind;
    unsock_real.connect = m_connect;
    unsock_real.accept = m_accept;
    unsock_real.accept4 = m_accept4;
    unsock_real.getsockname = m_getsockname;
    unsock_real.getpeername = m_getpeername;
    unsock_real.getsockopt = m_getsockopt;
    unsock_real.setsockopt = m_setsockopt;
    unsock_real.sendmsg = m_sendmsg;
    unsock_real.recvmsg = m_recvmsg;
    unsock_real.sendmmsg = m_sendmmsg;
    unsock_real.recvmmsg = m_recvmmsg;
    unsock_real.epoll_ctl = m_epoll_ctl;
    unsock_real.sendto = m_sendto;
    unsock_real.recvfrom = m_recvfrom;
}
