#define _GNU_SOURCE
#include "real.h"

#include <errno.h>

#include <dlfcn.h>

struct unsock_real unsock_real;

#define RESOLVE(name, required)                                      \
    do {                                                             \
        *(void **)(&unsock_real.name) = dlsym(RTLD_NEXT, #name);     \
        if (unsock_real.name == NULL && (required))                  \
            return #name;                                            \
    } while (0)

const char *unsock_real_resolve(void)
{
    RESOLVE(socket, true);
    RESOLVE(socketpair, true);
    RESOLVE(bind, true);
    RESOLVE(connect, true);
    RESOLVE(listen, true);
    RESOLVE(shutdown, true);
    RESOLVE(accept, true);
    RESOLVE(accept4, true);
    RESOLVE(getsockname, true);
    RESOLVE(getpeername, true);
    RESOLVE(read, true);
    RESOLVE(write, true);
    RESOLVE(readv, true);
    RESOLVE(writev, true);
    RESOLVE(recv, true);
    RESOLVE(recvfrom, true);
    RESOLVE(recvmsg, true);
    RESOLVE(recvmmsg, true);
    RESOLVE(sendto, true);
    RESOLVE(sendmsg, true);
    RESOLVE(sendmmsg, true);
    RESOLVE(getsockopt, true);
    RESOLVE(setsockopt, true);
    RESOLVE(close, true);
    RESOLVE(dup, true);
    RESOLVE(dup2, true);
    RESOLVE(dup3, true);
    RESOLVE(fcntl, true);
    RESOLVE(ioctl, true);
    RESOLVE(epoll_ctl, true);
    /* Not every libc has these; callers fall back to fcntl / syscall(2). */
    RESOLVE(fcntl64, false);
    RESOLVE(close_range, false);
    *(void **)(&unsock_real.recvfrom_chk) = dlsym(RTLD_NEXT, "__recvfrom_chk");
    *(void **)(&unsock_real.read_chk) = dlsym(RTLD_NEXT, "__read_chk");
    *(void **)(&unsock_real.recv_chk) = dlsym(RTLD_NEXT, "__recv_chk");
    RESOLVE(closefrom, false);
    return NULL;
}

void unsock_close_keep_errno(int fd)
{
    int saved = errno;
    unsock_real.close(fd);
    errno = saved;
}
