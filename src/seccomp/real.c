/* The supervisor calls the C library directly: the table the socket-file
 * code shared with the preload engine goes through (preload/real.h) holds
 * its functions. */
#define _GNU_SOURCE
#include "real.h"
#include "sockopts.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct unsock_real unsock_real = {
    .socket = socket,
    .socketpair = socketpair,
    .bind = bind,
    .connect = connect,
    .listen = listen,
    .shutdown = shutdown,
    .accept = accept,
    .accept4 = accept4,
    .getsockname = getsockname,
    .getpeername = getpeername,
    .getsockopt = getsockopt,
    .setsockopt = setsockopt,
    .sendto = sendto,
    .recvfrom = recvfrom,
    .sendmsg = sendmsg,
    .recvmsg = recvmsg,
    .close = close,
    .dup = dup,
    .dup2 = dup2,
    .dup3 = dup3,
    .fcntl = fcntl,
    .read = read,
};

const char *unsock_supervisor_binary(void)
{
    return "/proc/self/exe";
}

void unsock_close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}
