/* The libc functions that libunsock.so interposes, resolved with RTLD_NEXT. */
#ifndef UNSOCK_REAL_H
#define UNSOCK_REAL_H

#include "common.h"

#include <time.h>

struct mmsghdr;

/* Where glibc and musl declare the interposed functions differently. */
#ifdef __GLIBC__
typedef unsigned long unsock_ioctl_request; /* ioctl(int, unsigned long, ...) */
typedef int unsock_mmsg_flags;              /* sendmmsg/recvmmsg flags */
#else
typedef int unsock_ioctl_request;
typedef unsigned int unsock_mmsg_flags;
#endif

#include <sys/epoll.h>
#include <sys/uio.h>

struct unsock_real {
    int (*socket)(int, int, int);
    int (*socketpair)(int, int, int, int[2]);
    int (*bind)(int, const struct sockaddr *, socklen_t);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    int (*listen)(int, int);
    int (*shutdown)(int, int);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    int (*getsockname)(int, struct sockaddr *, socklen_t *);
    int (*getpeername)(int, struct sockaddr *, socklen_t *);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*read_chk)(int, void *, size_t, size_t);
    ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    int (*recvmmsg)(int, struct mmsghdr *, unsigned int, unsock_mmsg_flags, struct timespec *);
    ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    int (*sendmmsg)(int, struct mmsghdr *, unsigned int, unsock_mmsg_flags);
    int (*getsockopt)(int, int, int, void *, socklen_t *);
    int (*setsockopt)(int, int, int, const void *, socklen_t);
    int (*close)(int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*ioctl)(int, unsock_ioctl_request, ...);
    int (*fcntl64)(int, int, ...);
    int (*epoll_ctl)(int, int, int, struct epoll_event *);
    int (*close_range)(unsigned int, unsigned int, int);
    void (*closefrom)(int);
};

/* close(2) without disturbing errno, for clean-up after a failed call. */
void unsock_close_keep_errno(int fd);

/* Filled once by unsock_init(); read-only afterwards. */
extern struct unsock_real unsock_real;

/* Resolve every pointer; returns the name of the first symbol that is
 * required but missing, or NULL. */
const char *unsock_real_resolve(void);

/* Under the seccomp engine, the socket calls that its filter traps carry
 * UNSOCK_SHIM_MARK instead (marked.c). */
void unsock_real_mark(void);


#endif
