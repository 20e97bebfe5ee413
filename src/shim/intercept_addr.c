/* accept, accept4, getsockname, getpeername: converted sockets report the
 * IP addresses the program expects, never AF_UNIX ones. */
#include "fdtable.h"
#include "init.h"
#include "log.h"
#include "real.h"
#include "sockaddr.h"

#include <errno.h>
#include <linux/vm_sockets.h>
#include <string.h>

#ifndef AF_TIPC
#define AF_TIPC 30
#endif

/* UNSOCK_ACCEPT_CONVERT_ALL / _VSOCK: addresses of the families unsock
 * carries (unix, VSOCK, TIPC) on sockets it did not convert itself are
 * reported as the configured IPv4 address, port 0. */
static void convert_foreign(struct sockaddr *addr, socklen_t *len,
                            const struct sockaddr_storage *got, socklen_t gotlen)
{
    int fam = got->ss_family;
    bool convert = gotlen >= sizeof(sa_family_t) &&
                   ((unsock_cfg.accept_convert_all && (fam == AF_UNIX || fam == AF_VSOCK || fam == AF_TIPC)) ||
                    (unsock_cfg.accept_convert_vsock && fam == AF_VSOCK));
    if (!convert) {
        unsock_addr_out(addr, len, got, gotlen);
        return;
    }
    struct sockaddr_storage fake;
    socklen_t fl = unsock_fake_addr(AF_INET, 0, &fake);
    unsock_addr_out(addr, len, &fake, fl);
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool four)
{
    unsock_init();
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    int c = four ? unsock_real.accept4(fd, (struct sockaddr *)&peer, &plen, flags)
                 : unsock_real.accept(fd, (struct sockaddr *)&peer, &plen);
    if (c < 0)
        return c;
    if (plen > sizeof(peer))
        plen = sizeof(peer);
    struct usock *ls = unsock_fd_lock(fd);
    if (ls == NULL) {
        unsock_fd_set(c, NULL);
        convert_foreign(addr, len, &peer, plen);
        return c;
    }
    struct usock *s = unsock_sock_new(ls->family, ls->type);
    if (s != NULL) {
        s->local = ls->local;
        s->local_len = ls->local_len;
        s->peer_len = unsock_fake_addr(ls->family, unsock_pseudo_port(), &s->peer);
        unsock_fd_set_locked(c, s);
        unsock_addr_out(addr, len, &s->peer, s->peer_len);
    }
    unsock_unlock();
    if (s == NULL) {
        struct sockaddr_storage fake;
        socklen_t fl = unsock_fake_addr(AF_INET, 0, &fake);
        unsock_addr_out(addr, len, &fake, fl);
    }
    return c;
}

UNSOCK_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return do_accept(fd, addr, len, 0, false);
}

UNSOCK_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return do_accept(fd, addr, len, flags, true);
}

typedef int (*name_fn)(int, struct sockaddr *, socklen_t *);

static int do_name(int fd, struct sockaddr *addr, socklen_t *len, name_fn real, bool peer)
{
    unsock_init();
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL) {
        if (!unsock_cfg.accept_convert_all && !unsock_cfg.accept_convert_vsock)
            return real(fd, addr, len);
        struct sockaddr_storage got;
        socklen_t gotlen = sizeof(got);
        if (real(fd, (struct sockaddr *)&got, &gotlen) != 0)
            return -1;
        if (len == NULL) {
            errno = EFAULT;
            return -1;
        }
        convert_foreign(addr, len, &got, gotlen > sizeof(got) ? sizeof(got) : gotlen);
        return 0;
    }
    int r = 0;
    if (addr == NULL || len == NULL) {
        errno = EFAULT;
        r = -1;
    } else if ((int)*len < 0) {
        errno = EINVAL;
        r = -1;
    } else if (peer && s->peer_len == 0) {
        errno = ENOTCONN;
        r = -1;
    } else if (peer) {
        unsock_addr_out(addr, len, &s->peer, s->peer_len);
    } else {
        unsock_addr_out(addr, len, &s->local, s->local_len);
    }
    unsock_unlock();
    return r;
}

static int real_getsockname(int fd, struct sockaddr *a, socklen_t *l)
{
    return unsock_real.getsockname(fd, a, l);
}

static int real_getpeername(int fd, struct sockaddr *a, socklen_t *l)
{
    return unsock_real.getpeername(fd, a, l);
}

UNSOCK_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    return do_name(fd, addr, len, real_getsockname, false);
}

UNSOCK_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    return do_name(fd, addr, len, real_getpeername, true);
}
