/* getsockopt, setsockopt: converted sockets still look like TCP sockets. */
#include "carry.h"
#include "early.h"
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
    int r = s->early ? unsock_early_getsockopt(s, fd, level, name, val, len)
                     : unsock_sockopt_get(s, fd, level, name, val, len);
    unsock_unlock();
    if (r == UNSOCK_EARLY_NEEDS_IP && unsock_early_materialize(fd) != 0)
        return -1;
    return r == 1 || r == UNSOCK_EARLY_NEEDS_IP ? unsock_real.getsockopt(fd, level, name, val, len) : r;
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
    if (s->early) {
        int r = unsock_early_setsockopt(s, fd, level, name, val, len);
        unsock_unlock();
        if (r != UNSOCK_EARLY_NEEDS_IP)
            return r;
        return unsock_early_materialize(fd) != 0 ? -1 : setsockopt(fd, level, name, val, len);
    }
    if (!unsock_opt_emulated(level, name)) {
        unsock_unlock();
        return unsock_real.setsockopt(fd, level, name, val, len);
    }
    int r = unsock_opt_set(s, level, name, val, len);
    unsock_unlock();
    return r;
}
