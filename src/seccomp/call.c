#define _GNU_SOURCE
#include "call.h"

#include "carry.h"
#include "log.h"
#include "notif.h"
#include "sockaddr.h"
#include "sockfiles.h"
#include "sockopts.h"
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

bool call_valid(const struct call *c)
{
    return notif_valid(c->listener, c->n.id);
}

void call_pass(struct call *c)
{
    notif_continue(c->listener, c->n.id);
}

bool call_socket(struct call *c)
{
    struct stat st;
    c->dup = target_dup(c->tid, c->fd);
    if (c->dup < 0 || fstat(c->dup, &st) != 0 || !S_ISSOCK(st.st_mode))
        return false;
    c->ino = st.st_ino;
    return call_valid(c);
}

bool call_describe(struct call *c)
{
    socklen_t len = sizeof(int);
    return getsockopt(c->dup, SOL_SOCKET, SO_TYPE, &c->type, &len) == 0 &&
           (len = sizeof(int), getsockopt(c->dup, SOL_SOCKET, SO_DOMAIN, &c->domain, &len) == 0) &&
           (c->flags = fcntl(c->dup, F_GETFL)) >= 0;
}

void describe_accepted(struct usock *d, const struct usock *l, int conn, const struct sockaddr_un *un,
                       socklen_t len, const char *what)
{
    *d = (struct usock){.family = l->family, .type = l->type, .local = l->local, .local_len = l->local_len};
    for (size_t i = 0; i < l->nopts; i++) /* the listener's options, inherited */
        unsock_opt_store(d, l->opts[i].level, l->opts[i].name, l->opts[i].val, l->opts[i].len);
    d->peer_len = unsock_accepted_peer(conn, d->family, &d->local, d->local_len, un, len, what, &d->peer);
}

bool call_plan(struct call *c, enum unsock_call call, uint64_t at, socklen_t len, struct sockaddr_storage *addr,
               struct unsock_query *q, struct unsock_plan *p)
{
    if (len < sizeof(sa_family_t) || len > sizeof(*addr) || target_read(c->tid, at, addr, len) != 0 ||
        !unsock_plan_may_match(&unsock_ruleset, (const struct sockaddr *)addr, len) ||
        (c->dup < 0 && (!call_socket(c) || !call_describe(c))))
        return false;
    struct usock *rec = call_converted(c);
    *q = (struct unsock_query){.call = call, .domain = c->domain, .type = c->type, .converted = rec != NULL,
                               .addr = (const struct sockaddr *)addr, .len = len};
    if (rec != NULL)
        socks_unlock();
    unsock_plan(&unsock_ruleset, q, p);
    return true;
}

void call_answer(struct call *c, int err)
{
    if (err == 0)
        notif_return(c->listener, c->n.id, 0);
    else if (err != ECANCELED)
        notif_fail(c->listener, c->n.id, err);
}

/* A connection the kernel accepted on a converted listener (the program
 * asked for no peer address, so the supervisor was not called): it has
 * the listener's unix address. Recorded now, as accept would have. Lock
 * held. */
static struct ssock *recognise(const struct call *c)
{
    struct sockaddr_un un, peer_un;
    socklen_t len = sizeof(un), peer_len = sizeof(peer_un);
    if (getsockname(c->dup, (struct sockaddr *)&un, &len) != 0 || un.sun_family != AF_UNIX ||
        len <= offsetof(struct sockaddr_un, sun_path))
        return NULL;
    const struct ssock *l = socks_find_bound(&un, len);
    if (l == NULL || l->ino == c->ino || getpeername(c->dup, (struct sockaddr *)&peer_un, &peer_len) != 0)
        return NULL;
    char what[40];
    snprintf(what, sizeof(what), "accepted fd %d", c->fd);
    struct usock d;
    describe_accepted(&d, &l->u, c->dup, &peer_un, peer_len, what);
    struct ssock *s = socks_add(c->ino, d.family, d.type);
    if (s == NULL) {
        forget_description(&d);
        return NULL;
    }
    s->u = d;
    return s;
}

struct usock *call_converted(const struct call *c)
{
    socks_lock();
    struct ssock *s = socks_find(c->ino);
    if (s == NULL && c->domain != AF_INET && c->domain != AF_INET6) /* an IP socket is nobody's connection */
        s = recognise(c);
    if (s == NULL)
        socks_unlock();
    return s != NULL ? &s->u : NULL;
}

static int new_socket(const struct call *c, int domain)
{
    return socket(domain, c->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

/* The owner and signal of O_ASYNC the program gave its socket, given to
 * the one that replaces it (an owner for SIGURG alone is not: the
 * supervisor sees no fcntl, and asking costs every conversion a call). */
static int carry_owner(int from, int to)
{
    struct f_owner_ex owner;
    if (fcntl(from, F_GETOWN_EX, &owner) != 0)
        return -1;
    if (owner.pid == 0)
        return 0;
    int sig = fcntl(from, F_GETSIG);
    return sig < 0 || fcntl(to, F_SETOWN_EX, &owner) != 0 || fcntl(to, F_SETSIG, sig) != 0 ? -1 : 0;
}

struct as_program {
    const struct call *c;
    int sock, flags, err;
};

static void *as_program(void *arg)
{
    struct as_program *a = arg;
    const struct call *c = a->c;
    int at = c->fd;
    if (unshare(CLONE_FILES) != 0 || (a->sock != at && dup3(a->sock, at, 0) < 0) ||
        fcntl(at, F_SETFL, a->flags) != 0) {
        a->err = errno;
        return NULL;
    }
    for (unsigned i = 0; i < c->pending.nepolls; i++) {
        const struct pending_epoll *e = &c->pending.epolls[i];
        struct epoll_event ev = {.events = e->events, .data.u64 = e->data};
        if (e->ep >= 0 && epoll_ctl(e->ep, EPOLL_CTL_ADD, at, &ev) != 0 && errno != EEXIST)
            unsock_debug("fd %d: not added to epoll fd %d again: %s", at, e->epfd, strerror(errno));
    }
    return NULL;
}

/* What the kernel keys by the program's descriptor number: O_ASYNC (whose
 * signals report it as si_fd) and epoll registrations (which the program
 * changes by it). Done with the program's number in a thread with a table
 * of descriptors of its own. */
static int set_flags(const struct call *c, int sock, int flags)
{
    if (!(flags & O_ASYNC) && c->pending.nepolls == 0) /* ours are made non-blocking */
        return flags == O_NONBLOCK ? 0 : fcntl(sock, F_SETFL, flags);
    struct as_program a = {c, sock, flags, 0};
    pthread_t t;
    if ((a.err = pthread_create(&t, NULL, as_program, &a)) == 0)
        pthread_join(t, NULL);
    errno = a.err;
    return a.err == 0 ? 0 : -1;
}

int call_install(struct call *c, int sock)
{
    if (((c->flags & O_ASYNC) && carry_owner(c->dup, sock) != 0) ||
        set_flags(c, sock, c->flags & (O_NONBLOCK | O_ASYNC)) != 0)
        return -1;
    return notif_install(c->listener, c->n.id, sock, c->fd, target_cloexec(c->tid, c->fd)) < 0 ? -1 : 0;
}

struct usock *remember(int sock, struct usock *d)
{
    struct stat st;
    if (fstat(sock, &st) != 0)
        return NULL;
    socks_lock();
    struct ssock *s = socks_add(st.st_ino, d->family, d->type);
    if (s == NULL) {
        socks_unlock();
        return NULL;
    }
    s->u = *d;
    d->opts = NULL, d->nopts = d->capopts = 0, d->peers = NULL;
    return &s->u;
}

void forget_description(struct usock *d)
{
    free(d->opts);
    free(d->peers);
    d->opts = NULL, d->nopts = d->capopts = 0, d->peers = NULL;
}

/* What the program did to the socket it had (pending) is carried over to
 * `to`: the options now, the epoll sets at call_install. */
static void carry_options(struct call *c, int to, struct usock *s)
{
    socks_lock();
    if (!socks_pending_take(c->ino, &c->pending))
        c->pending = (struct pending){0};
    socks_unlock();
    if (c->pending.options != 0)
        unsock_carry(c->dup, to, s, c->pending.options);
}

int call_wait(const struct call *c, int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        struct pollfd pfd = {fd, events, 0};
        int r = poll(&pfd, 1, 50);
        if (!call_valid(c))
            return ECANCELED;
        if (r > 0)
            return 0;
        if (target_signalled(c->tid))
            return INTERRUPTED;
        if (unsock_now_ms() >= deadline_ms)
            return EAGAIN;
    }
}

/* The replacement's record: d, with the options carried from the
 * program's socket. */
static void record(int sock, struct usock *d)
{
    if (remember(sock, d) != NULL)
        socks_unlock();
    forget_description(d);
}

void call_forget_pending(struct call *c)
{
    for (unsigned i = 0; i < c->pending.nepolls; i++)
        pending_epoll_drop(&c->pending.epolls[i]);
    c->pending.nepolls = 0;
}

int call_replace(struct call *c, int sock, struct usock *d, const char *owned)
{
    record(sock, d);
    int err = call_install(c, sock) == 0 ? 0 : errno;
    call_forget_pending(c);
    if (err != 0)
        return err;
    if (owned[0] != '\0')
        sockfiles_own(sock, owned, c->type);
    return 0;
}

int call_prepare(struct call *c, int family, int domain, struct usock *d)
{
    *d = (struct usock){.family = family, .type = c->type};
    int sock = new_socket(c, domain);
    if (sock >= 0)
        carry_options(c, sock, d);
    return sock;
}

void call_abandon(struct call *c, int sock, struct usock *d)
{
    call_forget_pending(c);
    forget_description(d);
    close(sock);
}

/* Write len bytes of what (at most the caller's *lenp) to the caller's
 * addr, and the length to *lenp, as getsockname and getsockopt do. */
int call_copy_out(const struct call *c, uint64_t addr, uint64_t lenp, const void *what, socklen_t len)
{
    socklen_t room;
    if (lenp == 0 || target_read(c->tid, lenp, &room, sizeof(room)) != 0)
        return EFAULT;
    if ((int)room < 0)
        return EINVAL;
    if ((room > 0 && target_write(c->tid, addr, what, room < len ? room : len) != 0) ||
        target_write(c->tid, lenp, &len, sizeof(len)) != 0)
        return EFAULT;
    return 0;
}

bool in_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return false;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    bool ok = pthread_create(&t, &attr, fn, arg) == 0;
    pthread_attr_destroy(&attr);
    return ok;
}
