/* accept, accept4, getsockname, getpeername: converted sockets report the
 * IP addresses the program expects, never AF_UNIX ones. */
#define _GNU_SOURCE /* struct ucred */
#include "fdtable.h"
#include "init.h"
#include "log.h"
#include "names.h"
#include "peer.h"
#include "real.h"
#include "sockaddr.h"
#include "sockopts.h"

#include <errno.h>
#include <linux/vm_sockets.h>
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

/* The address of the peer of accepted connection c, whose own socket is s
 * (the listener's family and address) and its peer's unix address un: the
 * one a client under unsock named its socket with, else one made of the
 * peer's credentials (core/peer.h). */
static socklen_t peer_address(int c, const struct usock *ls, const struct sockaddr_un *un, socklen_t len,
                              struct sockaddr_storage *out)
{
    struct sockaddr_storage named;
    socklen_t nlen, got = 0;
    if (unsock_client_name_parse(un, len, &named, &nlen))
        got = unsock_address_as(ls->family, &named, out);
    struct ucred cred = {0};
    socklen_t clen = sizeof(cred);
    bool know = (got == 0 || unsock_cfg.debug) &&
                unsock_real.getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0;
    if (got == 0) {
        struct sockaddr_storage toward = ls->local;
        if (ls->local_len == 0)
            toward.ss_family = (sa_family_t)ls->family;
        got = unsock_cfg.peer_loopback ? unsock_other_end(&toward, unsock_pseudo_port(), out)
                                       : unsock_client_address(&toward, cred.pid, cred.uid, unsock_pseudo_port(), out);
    }
    if (unsock_cfg.debug) {
        char where[160];
        unsock_addr_describe((const struct sockaddr *)out, got, where, sizeof(where));
        if (know)
            unsock_log_line("accept fd %d: peer %s is pid %d uid %u", c, where, (int)cred.pid, (unsigned)cred.uid);
        else
            unsock_log_line("accept fd %d: peer %s", c, where);
    }
    return got;
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
    struct sockaddr_storage peer, shown;
    socklen_t plen = sizeof(peer), shownlen;
    int c = four ? unsock_real.accept4(fd, (struct sockaddr *)&peer, &plen, flags)
                 : unsock_real.accept(fd, (struct sockaddr *)&peer, &plen);
    if (c < 0)
        return c;
    if (plen > sizeof(peer))
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
        s->peer_len = peer_address(c, s, (const struct sockaddr_un *)&peer, plen, &s->peer);
        shown = s->peer;
        shownlen = s->peer_len;
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
