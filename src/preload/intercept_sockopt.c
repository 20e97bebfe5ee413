/* getsockopt, setsockopt: converted sockets still look like TCP sockets. */
#include "carry.h"
#include "fdtable.h"
#include "init.h"
#include "real.h"
#include "sockaddr.h"
#include "sockopts.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static int int_out(void *val, socklen_t *len, int v)
{
    return unsock_copy_out(val, len, &v, sizeof(v), false);
}

UNSOCK_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    unsock_init();
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return unsock_real.getsockopt(fd, level, name, val, len);
    int r;
    if (level == SOL_SOCKET && name == SO_DOMAIN)
        r = int_out(val, len, s->family);
    else if (level == SOL_SOCKET && name == SO_ERROR && s->connect_error != 0) {
        r = int_out(val, len, s->connect_error); /* a connect completed later failed (pending.h) */
        s->connect_error = 0;
    }
    else if (level == SOL_SOCKET && name == SO_PROTOCOL)
        r = int_out(val, len, s->type == SOCK_STREAM ? IPPROTO_TCP : s->type == SOCK_DGRAM ? IPPROTO_UDP : 0);
    else if (unsock_opt_emulated(level))
        r = unsock_opt_get(s, fd, level, name, val, len);
    else {
        unsock_unlock();
        return unsock_real.getsockopt(fd, level, name, val, len);
    }
    unsock_unlock();
    return r;
}

UNSOCK_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    unsock_init();
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL) {
        int r = unsock_real.setsockopt(fd, level, name, val, len);
        uint64_t bit = r == 0 ? unsock_carry_bit(level, name) : 0;
        if (bit != 0)
            unsock_fd_touch(fd, bit);
        return r;
    }
    if (!unsock_opt_emulated(level)) {
        unsock_unlock();
        return unsock_real.setsockopt(fd, level, name, val, len);
    }
    int r = unsock_opt_set(s, level, name, val, len);
    unsock_unlock();
    return r;
}
