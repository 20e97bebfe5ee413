#include "convert.h"

#include "fdswap.h"
#include "firecracker.h"
#include "listeners.h"
#include "log.h"
#include "owned.h"
#include "peers.h"
#include "pending.h"
#include "real.h"
#include "sockaddr.h"
#include "sockfile.h"
#include "sockopts.h"
#include "template.h"
#include "addr.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int unsock_install(int tmp, int fd, struct usock *s, const char *owned_path)
{
    unsock_lock();
    if (owned_path != NULL)
        unsock_sock_own_file_locked(s, tmp, owned_path);
    int r = unsock_swap_install(tmp, fd);
    if (r == 0)
        unsock_fd_set_locked(fd, s);
    unsock_unlock();
    if (r != 0) {
        int saved = errno;
        if (owned_path != NULL)
            unlink(owned_path);
        if (s != NULL)
            unsock_sock_free(s);
        errno = saved;
    }
    return r;
}

static int tcp_errno(enum unsock_call call, int err)
{
    switch (err) {
    case ENOENT: case ENOTDIR: case ELOOP:
        return call == CALL_BIND ? EACCES : ECONNREFUSED; /* no directory: nobody there */
    case EROFS: case EPERM:
        return EACCES;
    case ENOSPC: case EDQUOT:
        return ENOMEM;
    default:
        return err;
    }
}

int unsock_failed_as_tcp(int fd, const struct unsock_query *q, const struct unsock_plan *p)
{
    int err = errno;
    unsock_log_plan(fd, q, p, err, NULL);
    errno = tcp_errno(q->call, err);
    return -1;
}

void unsock_describe_bound(struct usock *s, const struct unsock_query *q, const struct unsock_plan *p, uint16_t port)
{
    unsock_describe(s, q, port != 0 ? port : unsock_pseudo_port());
    if (q->addr->sa_family == AF_INET6) {
        /* As the kernel does, a bind to one IPv6 address (not :: and not
         * IPv4-mapped) makes the socket IPv6-only. */
        const struct in6_addr *a = &((const struct sockaddr_in6 *)q->addr)->sin6_addr;
        int only = !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_V4MAPPED(a);
        if (only)
            unsock_opt_store(s, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only));
    }
    if (p->kind == PLAN_UNIX && p->un.sun_path[0] != '\0')
        snprintf(s->path, sizeof(s->path), "%s", p->un.sun_path); /* found by listener_at() */
}

/* The new socket of `domain` for fd, described by a new *out; -1 on error.
 * Any descriptor number can come back, 0 included. */
static int prepare(int fd, const struct unsock_query *q, int domain, struct usock **out)
{
    struct usock *s = unsock_sock_new(q->addr->sa_family, q->type);
    if (s == NULL)
        return -1;
    int tmp = unsock_swap_prepare(fd, s, domain);
    if (tmp < 0) {
        unsock_sock_free(s);
        return -1;
    }
    *out = s;
    return tmp;
}

static void abandon(int tmp, struct usock *s)
{
    unsock_close_keep_errno(tmp);
    unsock_sock_free(s);
}

/* A Firecracker multiplexer's handshake, done on the unix socket before it
 * is installed, so the program never sees a byte of it: synchronous even on
 * a non-blocking socket (bounded by its timeouts), which then reports
 * EINPROGRESS and is at once writable with SO_ERROR 0. */
static int connect_firecracker(int tmp, const struct unsock_plan *p)
{
    if (unsock_control_firecracker(tmp, &p->record, p->control_file ? p->control_file : "rule") != 0)
        return -1;
    int fl = unsock_real.fcntl(tmp, F_GETFL);
    if (fl < 0)
        return -1;
    if (fl & O_NONBLOCK) {
        errno = EINPROGRESS;
        return -1;
    }
    return 0;
}

/* PLAN_RECORD: a socket of the record's family (or a unix one to the
 * Firecracker multiplexer) bound or connected to its destination. */
static int apply_record(int fd, const struct unsock_query *q, struct unsock_plan *p)
{
    sa_family_t family = AF_UNIX;
    if (!p->firecracker)
        memcpy(&family, p->record.dest, sizeof(family));
    struct usock *s = NULL;
    int tmp = prepare(fd, q, family, &s);
    if (tmp < 0) {
        unsock_log_plan(fd, q, p, errno, ": no socket of that family");
        return -1;
    }
    unsock_control_apply_params(tmp, &p->record);
    const struct sockaddr *dest = (const struct sockaddr *)p->record.dest;
    int rc = p->firecracker ? connect_firecracker(tmp, p)
             : q->call == CALL_BIND ? unsock_real.bind(tmp, dest, p->record.dest_len)
                                     : unsock_real.connect(tmp, dest, p->record.dest_len);
    bool in_progress = rc != 0 && errno == EINPROGRESS && q->call != CALL_BIND;
    if (rc != 0 && !in_progress) {
        unsock_log_plan(fd, q, p, errno, NULL);
        abandon(tmp, s);
        return -1;
    }
    unsock_describe(s, q, p->port);
    if (unsock_install(tmp, fd, s, NULL) != 0)
        return -1;
    unsock_log_plan(fd, q, p, 0, in_progress ? " (in progress)" : NULL);
    if (in_progress) {
        errno = EINPROGRESS;
        return -1;
    }
    return 0;
}

/* A control file at the plan's path says where the socket goes instead. */
static bool control_file(int fd, const struct unsock_query *q, struct unsock_plan *p, int tmp, struct usock *s,
                         int *rc)
{
    int err = errno;
    if (!p->may_be_control || !unsock_plan_control_file(p, q, err)) {
        errno = err;
        return false;
    }
    abandon(tmp, s);
    if (p->kind == PLAN_RECORD) {
        *rc = apply_record(fd, q, p);
    } else {
        unsock_log_plan(fd, q, p, 0, NULL);
        errno = p->err;
        *rc = -1;
    }
    return true;
}

/* bind of a new unix socket for fd. */
static int apply_bind(int fd, const struct unsock_query *q, struct unsock_plan *p)
{
    struct usock *s = NULL;
    int tmp = prepare(fd, q, AF_UNIX, &s), rc, shared = -1;
    if (tmp < 0)
        return -1;
    rc = unsock_bind_plan(tmp, q, p);
    uint16_t port = p->port;
    bool in_use = rc != 0 && errno == EADDRINUSE && p->kind == PLAN_UNIX && !p->free_port;
    if (in_use && control_file(fd, q, p, tmp, s, &rc))
        return rc;
    if (in_use && p->un.sun_path[0] != '\0')
        rc = unsock_share_or_take_over(fd, q, p, &tmp, &shared);
    if (rc != 0) {
        unsock_failed_as_tcp(fd, q, p);
        abandon(tmp, s);
        return -1;
    }
    unsock_describe_bound(s, q, p, port);
    if (unsock_install(tmp, fd, s, p->kind == PLAN_UNIX && p->owns_file ? p->un.sun_path : NULL) != 0)
        return -1;
    char note[48] = "";
    if (shared >= 0)
        snprintf(note, sizeof(note), " (the listener of fd %d)", shared);
    unsock_log_plan(fd, q, p, 0, note);
    return 0;
}

static const char *const NOBODY_YET = " (nobody there yet, retried at the next send)";

/* UDP's connect succeeds before the server exists: the unix connect is
 * retried at the next send. A missing socket file is a port nobody
 * listens on. */
static bool connect_failed(int rc, const struct unsock_query *q, bool *pending)
{
    *pending = rc != 0 && q->type == SOCK_DGRAM && (errno == ENOENT || errno == ECONNREFUSED);
    if (rc != 0 && !*pending && errno == ENOENT)
        errno = ECONNREFUSED;
    return rc != 0 && !*pending;
}

/* connect of a new unix socket for fd (a datagram one bound first). */
static int apply_connect(int fd, const struct unsock_query *q, struct unsock_plan *p)
{
    struct usock *s = NULL;
    int tmp = prepare(fd, q, AF_UNIX, &s), rc;
    if (tmp < 0)
        return -1;
    struct sockaddr_un owned = {.sun_path = ""};
    if (p->implicit_bind && unsock_implicit_bind(tmp, s, q, p, &owned) != 0) {
        abandon(tmp, s);
        return -1;
    }
    if (q->type == SOCK_STREAM) /* named with its address, which the server then reports */
        s->local_len = unsock_name_client(tmp, q->addr, unsock_pid(),
                                          q->addr->sa_family == AF_INET6 ? geteuid() : 0, &s->local);
    rc = unsock_real.connect(tmp, (const struct sockaddr *)&p->un, p->un_len);
    if (rc != 0 && errno == ECONNREFUSED && control_file(fd, q, p, tmp, s, &rc))
        return rc;
    if (rc != 0 && errno == EAGAIN && q->type == SOCK_STREAM) {
        /* The backlog is full: TCP would go on trying (pending.h). */
        unsock_describe(s, q, p->port);
        rc = unsock_connect_later(fd, tmp, s, &p->un, p->un_len);
        unsock_log_plan(fd, q, p, errno == EINPROGRESS ? 0 : errno, " (in progress: the backlog is full)");
        return rc;
    }
    bool pending;
    if (connect_failed(rc, q, &pending)) {
        unsock_failed_as_tcp(fd, q, p);
        if (owned.sun_path[0] != '\0')
            unlink(owned.sun_path);
        abandon(tmp, s);
        return -1;
    }
    s->peer_pending = pending;
    unsock_describe(s, q, p->port);
    if (unsock_install(tmp, fd, s, owned.sun_path[0] ? owned.sun_path : NULL) != 0)
        return -1;
    if (q->type == SOCK_DGRAM && !unsock_rule_has_port(p->rule))
        unsock_peer_remember(fd, p->port, &p->un, p->un_len); /* datagrams from there come from p->port */
    unsock_log_plan(fd, q, p, 0, pending ? NOBODY_YET : NULL);
    return 0;
}

/* On the program's own unix socket: a from-unix / from-abstract rule's
 * address, or a converted datagram socket connected again. */
static int apply_in_place(int fd, const struct unsock_query *q, struct unsock_plan *p)
{
    int rc;
    bool pending = false, reconnect = q->converted && unsock_is_ip(q->addr, q->len);
    if (p->kind == PLAN_BLACKHOLE)
        rc = unsock_bind_blackhole(fd);
    else if (q->call == CALL_BIND)
        rc = unsock_bind_unix(fd, p, true);
    else
        rc = unsock_real.connect(fd, (const struct sockaddr *)&p->un, p->un_len);
    if (reconnect ? connect_failed(rc, q, &pending) : rc != 0) {
        unsock_log_plan(fd, q, p, errno, NULL);
        return -1;
    }
    struct usock *s;
    if (reconnect && (s = unsock_fd_lock(fd)) != NULL) {
        unsock_set_peer(s, q->addr);
        s->peer_pending = pending;
        unsock_unlock();
    }
    unsock_log_plan(fd, q, p, 0, pending ? NOBODY_YET : NULL);
    return 0;
}

/* A datagram socket sending before it is bound: converted with an implicit
 * bind; the caller sends. */
static int apply_send(int fd, const struct unsock_query *q, struct unsock_plan *p)
{
    struct usock *s = NULL;
    int tmp = prepare(fd, q, AF_UNIX, &s);
    if (tmp < 0)
        return -1;
    struct sockaddr_un owned;
    if (unsock_implicit_bind(tmp, s, q, p, &owned) != 0) {
        abandon(tmp, s);
        return -1;
    }
    if (unsock_install(tmp, fd, s, owned.sun_path[0] ? owned.sun_path : NULL) != 0)
        return -1;
    unsock_debug("send fd %d: implicit bind -> %s", fd, owned.sun_path[0] ? owned.sun_path : "(abstract)");
    return 0;
}

int unsock_apply(int fd, const struct unsock_query *q, struct unsock_plan *p)
{
    if (p->in_place)
        return q->call == CALL_SEND ? 0 : apply_in_place(fd, q, p);
    if (q->call == CALL_SEND)
        return p->implicit_bind ? apply_send(fd, q, p) : 0;
    if (p->kind == PLAN_RECORD)
        return apply_record(fd, q, p);
    return q->call == CALL_BIND ? apply_bind(fd, q, p) : apply_connect(fd, q, p);
}

int unsock_connect_pending(int fd)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return 0;
    bool pending = s->peer_pending;
    struct sockaddr_storage peer = s->peer;
    struct unsock_query q = {.call = CALL_CONNECT, .type = s->type, .converted = true,
                             .addr = (const struct sockaddr *)&peer, .len = s->peer_len};
    unsock_unlock();
    if (!pending)
        return 0;
    struct unsock_plan p;
    unsock_plan(&unsock_ruleset, &q, &p);
    if (p.kind != PLAN_UNIX) {
        errno = ECONNREFUSED;
        return -1;
    }
    if (unsock_real.connect(fd, (const struct sockaddr *)&p.un, p.un_len) != 0) {
        if (errno == ENOENT)
            errno = ECONNREFUSED;
        return -1;
    }
    if ((s = unsock_fd_lock(fd)) != NULL) {
        s->peer_pending = false;
        unsock_unlock();
    }
    unsock_log_plan(fd, &q, &p, 0, " (connected at last)");
    return 0;
}
