/* accept, accept4, getsockname, getpeername: converted sockets report the
 * IP addresses the program expects, never AF_UNIX ones. */
#include "fdtable.h"
#include "init.h"
#include "log.h"
#include "names.h"
#include "real.h"
#include "sockaddr.h"
#include "sockopts.h"

#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>

static bool converting_foreign(void)
{
    return unsock_cfg.accept_convert_all || unsock_cfg.accept_convert_vsock;
}

/* UNSOCK_ACCEPT_CONVERT_ALL / _VSOCK: addresses of the families unsock
 * carries (unix, VSOCK, TIPC) on sockets it did not convert itself are
 * reported as the configured IPv4 address, port 0. */
static socklen_t foreign_addr(const struct sockaddr_storage *got, socklen_t gotlen,
                              struct sockaddr_storage *out)
{
    int fam = got->ss_family;
    bool convert = gotlen >= sizeof(sa_family_t) &&
                   ((unsock_cfg.accept_convert_all && (fam == AF_UNIX || fam == AF_VSOCK || fam == AF_TIPC)) ||
                    (unsock_cfg.accept_convert_vsock && fam == AF_VSOCK));
    if (convert)
        return unsock_fake_addr(0, out);
    memcpy(out, got, gotlen);
    return gotlen;
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags, bool four)
{
    unsock_init();
    if (!unsock_fd_converted(fd) && !converting_foreign()) {
        int c = four ? unsock_real.accept4(fd, addr, len, flags) : unsock_real.accept(fd, addr, len);
        if (c >= 0)
            unsock_fd_set(c, NULL);
        return c;
    }
    /* A program that does not ask for the peer may never: it is read when
     * it does (unsock_read_peer), unless the decision log wants it now. */
    bool unread = addr == NULL && !unsock_cfg.debug;
    struct sockaddr_storage peer, shown;
    socklen_t plen = sizeof(peer), shownlen;
    struct sockaddr *pa = unread ? NULL : (struct sockaddr *)&peer;
    socklen_t *pl = unread ? NULL : &plen;
    int c = four ? unsock_real.accept4(fd, pa, pl, flags) : unsock_real.accept(fd, pa, pl);
    if (c < 0)
        return c;
    if (unread)
        plen = 0;
    else if (plen > sizeof(peer))
        plen = sizeof(peer);
    struct usock *ls = unsock_fd_lock(fd), *s = NULL;
    if (ls == NULL) {
        unsock_fd_set(c, NULL);
        shownlen = foreign_addr(&peer, plen, &shown);
    } else if ((s = unsock_sock_new(ls->family, ls->type)) == NULL) {
        unsock_unlock();
        shownlen = unsock_fake_addr(0, &shown);
    } else {
        s->local = ls->local;
        s->local_len = ls->local_len;
        /* An accepted TCP socket inherits the listener's options. */
        for (size_t i = 0; i < ls->nopts; i++)
            unsock_opt_store(s, ls->opts[i].level, ls->opts[i].name, ls->opts[i].val, ls->opts[i].len);
        unsock_unlock();
        char what[32] = "";
        if (unsock_cfg.debug)
            snprintf(what, sizeof(what), "accept fd %d", c);
        if (unread)
            s->peer_unread = true;
        else
            s->peer_len = unsock_accepted_peer(c, s->family, &s->local, s->local_len,
                                               (const struct sockaddr_un *)&peer, plen, what, &s->peer);
        shown = s->peer;
        shownlen = s->peer_len;
        unsock_mark_family(c, s->family);
        unsock_fd_set(c, s);
    }
    /* As in the kernel, an address that cannot be stored costs the
     * connection, and a NULL address means the length is not looked at. */
    if (addr != NULL && unsock_copy_out(addr, len, &shown, shownlen, true) != 0) {
        int saved = errno;
        unsock_fd_close(c, unsock_real.close);
        errno = saved;
        return -1;
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
        if (!converting_foreign())
            return real(fd, addr, len);
        struct sockaddr_storage got, shown;
        socklen_t gotlen = sizeof(got);
        if (real(fd, (struct sockaddr *)&got, &gotlen) != 0)
            return -1;
        socklen_t shownlen = foreign_addr(&got, gotlen > sizeof(got) ? sizeof(got) : gotlen, &shown);
        return unsock_copy_out(addr, len, &shown, shownlen, true);
    }
    int r;
    if (peer && s->peer_unread)
        unsock_read_peer(s, fd, "getpeername");
    if (peer && s->peer_len == 0) {
        errno = ENOTCONN;
        r = -1;
    } else if (peer) {
        r = unsock_copy_out(addr, len, &s->peer, s->peer_len, true);
    } else {
        r = unsock_copy_out(addr, len, &s->local, s->local_len, true);
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
