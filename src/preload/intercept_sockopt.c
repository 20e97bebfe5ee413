/* getsockopt, setsockopt: converted sockets still look like TCP sockets. */
#include "carry.h"
#include "fdtable.h"
#include "init.h"
#include "real.h"
#include "sockopts.h"

#include <errno.h>
#include <netinet/in.h>

UNSOCK_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    unsock_init();
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return unsock_real.getsockopt(fd, level, name, val, len);
    int r = unsock_sockopt_get(s, fd, level, name, val, len);
    unsock_unlock();
    return r == 1 ? unsock_real.getsockopt(fd, level, name, val, len) : r;
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
