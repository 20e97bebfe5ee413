#define _GNU_SOURCE /* F_GETOWN_EX, F_SETSIG, dup3 */
#include "fdswap.h"

#include "log.h"
#include "real.h"
#include "sockopts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int unsock_socket_type(int fd)
{
    int type = 0;
    socklen_t len = sizeof(type);
    if (unsock_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return -1;
    return type;
}

/* SOL_SOCKET options that mean the same on AF_UNIX. */
static const int copied_options[] = {
    SO_RCVTIMEO, SO_SNDTIMEO, SO_RCVBUF, SO_SNDBUF, SO_RCVLOWAT, SO_LINGER,
    SO_PRIORITY, SO_KEEPALIVE, SO_PASSCRED, SO_BROADCAST, SO_OOBINLINE,
    SO_TIMESTAMP, SO_TIMESTAMPNS, SO_MARK, SO_REUSEADDR, SO_REUSEPORT,
    SO_DONTROUTE,
};

/* The buffer sizes of a fresh IP socket: unix sockets start with larger
 * buffers, which must not shrink to TCP's defaults unless the program asked. */
static int inet_default(int type, int name)
{
    int fd = unsock_real.socket(AF_INET, type | SOCK_CLOEXEC, 0);
    int v = -1;
    socklen_t len = sizeof(v);
    if (fd >= 0) {
        if (unsock_real.getsockopt(fd, SOL_SOCKET, name, &v, &len) != 0)
            v = -1;
        unsock_real.close(fd);
    }
    return v;
}

static void copy_socket_options(int from, int to, int type)
{
    for (size_t i = 0; i < sizeof(copied_options) / sizeof(copied_options[0]); i++) {
        int name = copied_options[i];
        unsigned char a[32], b[32];
        socklen_t al = sizeof(a), bl = sizeof(b);
        if (unsock_real.getsockopt(from, SOL_SOCKET, name, a, &al) != 0 ||
            unsock_real.getsockopt(to, SOL_SOCKET, name, b, &bl) != 0 ||
            (al == bl && memcmp(a, b, al) == 0))
            continue;
        if (name == SO_RCVBUF || name == SO_SNDBUF) {
            int v;
            memcpy(&v, a, sizeof(v));
            if (v == inet_default(type, name))
                continue;
            v /= 2; /* the kernel doubles what is set */
            memcpy(a, &v, sizeof(v));
        }
        if (unsock_real.setsockopt(to, SOL_SOCKET, name, a, al) != 0)
            unsock_debug("socket option %d not carried over to the unix socket: %s", name, strerror(errno));
    }
}

static int copy_owner(int from, int to)
{
    struct f_owner_ex owner;
    if (unsock_real.fcntl(from, F_GETOWN_EX, &owner) != 0)
        return -1;
    if (owner.pid != 0 && unsock_real.fcntl(to, F_SETOWN_EX, &owner) != 0)
        return -1;
    int sig = unsock_real.fcntl(from, F_GETSIG);
    if (sig > 0 && unsock_real.fcntl(to, F_SETSIG, sig) != 0)
        return -1;
    return 0;
}

int unsock_swap_prepare(int fd, struct usock *s)
{
    int fl = unsock_real.fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    int tmp = unsock_real.socket(AF_UNIX, s->type | SOCK_CLOEXEC, 0);
    if (tmp < 0)
        return -1;
    bool touched = unsock_fd_touched(fd);
    if (touched) {
        copy_socket_options(fd, tmp, s->type);
        unsock_opt_snapshot(s, fd);
        if (copy_owner(fd, tmp) != 0)
            goto fail;
    }
    /* O_ASYNC last: it takes effect for the owner set above. */
    if ((fl & (O_NONBLOCK | O_ASYNC)) != 0 && unsock_real.fcntl(tmp, F_SETFL, fl & (O_NONBLOCK | O_ASYNC)) != 0)
        goto fail;
    return tmp;
fail:;
    int saved = errno;
    unsock_real.close(tmp);
    errno = saved;
    return -1;
}

int unsock_swap_install(int tmp, int fd)
{
    int fdflags = unsock_real.fcntl(fd, F_GETFD);
    int r = fdflags < 0 ? -1 : unsock_real.dup3(tmp, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0);
    int saved = errno;
    unsock_real.close(tmp);
    errno = saved;
    return r < 0 ? -1 : 0;
}
