/* bind and connect: the decision core's plan for the call, applied to the
 * caller's socket (a unix socket put in its place, or its own unix socket
 * bound or connected in place). */
#define _GNU_SOURCE
#include "bindconnect.h"

#include "addr.h"
#include "call.h"
#include "firecracker.h"
#include "log.h"
#include "notif.h"
#include "plan.h"
#include "sockaddr.h"
#include "sockfile.h"
#include "systemd.h"
#include "target.h"
#include "template.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- connect to a full backlog ------------------------------------------ */

struct later {
    struct call c;
    int sock;
    int64_t give_up_ms; /* a non-blocking caller waits so long, then gets EAGAIN as from unix */
    struct sockaddr_un un;
    socklen_t un_len;
    struct usock d;
};

/* A blocking connect of our own, a fifth of a second at a time, answered
 * INTERRUPTED when the caller has a signal waiting. The caller waits (the
 * descriptor cannot be swapped once it is answered): a non-blocking one at
 * most two seconds. */
static void *connect_later(void *arg)
{
    struct later *l = arg;
    struct timeval step = {.tv_sec = 0, .tv_usec = 200000};
    int err = 0;
    if (fcntl(l->sock, F_SETFL, 0) != 0 || setsockopt(l->sock, SOL_SOCKET, SO_SNDTIMEO, &step, sizeof(step)))
        err = errno;
    while (err == 0 && connect(l->sock, (const struct sockaddr *)&l->un, l->un_len) != 0) {
        if (errno != EAGAIN && errno != EINTR)
            err = errno == ENOENT ? ECONNREFUSED : errno;
        else if (!call_valid(&l->c))
            err = ECANCELED;
        else if (target_signalled(l->c.tid))
            err = INTERRUPTED;
        else if (unsock_now_ms() > l->give_up_ms)
            err = EAGAIN; /* a process that accepts its own connections must not wait on itself for ever */
    }
    if (err == 0 && fcntl(l->sock, F_SETFL, O_NONBLOCK) != 0) /* as call_install expects it */
        err = errno;
    if (err == 0)
        err = call_replace(&l->c, l->sock, &l->d, "");
    call_answer(&l->c, err);
    call_abandon(&l->c, l->sock, &l->d);
    close(l->c.dup);
    free(l);
    return NULL;
}

static bool wait_for_room(struct call *c, int sock, const struct unsock_plan *p, struct usock *d)
{
    struct later *l = malloc(sizeof(*l));
    if (l == NULL)
        return false;
    *l = (struct later){.c = *c, .sock = sock, .un = p->un, .un_len = p->un_len, .d = *d,
                        .give_up_ms = (c->flags & O_NONBLOCK) ? unsock_now_ms() + 2000 : INT64_MAX};
    if (!in_thread(connect_later, l)) {
        free(l);
        return false;
    }
    c->dup = -1;
    c->pending.nepolls = 0;
    d->opts = NULL, d->peers = NULL; /* the thread's now */
    return true;
}

/* ---- a record's connect that takes time -------------------------------------- */

struct record_later {
    struct call c;
    struct sockaddr_storage addr;
    struct unsock_query q;
    struct unsock_plan p;
    int sock;
    struct usock d;
};

/* A connect through a Firecracker multiplexer (its handshake, bounded by
 * the socket's timeouts), or a VSOCK or TIPC connect in progress for a
 * blocking caller: finished here, then answered as by the preload engine
 * (a non-blocking caller of a multiplexer gets EINPROGRESS, connected). */
static void *record_later(void *arg)
{
    struct record_later *r = arg;
    int err;
    if (r->p.firecracker) {
        err = unsock_control_firecracker(r->sock, &r->p.record, r->p.control_file ? r->p.control_file : "rule") == 0
                  ? 0 : errno;
    } else if ((err = call_wait(&r->c, r->sock, POLLOUT, INT64_MAX)) == 0) {
        socklen_t len = sizeof(err);
        if (getsockopt(r->sock, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
    }
    if (err == 0) {
        unsock_describe(&r->d, &r->q, unsock_ip_port(r->q.addr));
        err = call_replace(&r->c, r->sock, &r->d, "");
    }
    if (err != ECANCELED)
        unsock_log_plan(r->c.fd, &r->q, &r->p, err == INTERRUPTED ? EINTR : err, NULL);
    if (err == 0 && r->p.firecracker && (r->c.flags & O_NONBLOCK))
        err = EINPROGRESS;
    call_answer(&r->c, err);
    call_abandon(&r->c, r->sock, &r->d);
    close(r->c.dup);
    free(r);
    return NULL;
}

static bool finish_later(struct call *c, const struct unsock_query *q, const struct unsock_plan *p, int sock,
                         struct usock *d)
{
    struct record_later *r = malloc(sizeof(*r));
    if (r == NULL)
        return false;
    *r = (struct record_later){.c = *c, .q = *q, .p = *p, .sock = sock, .d = *d};
    memcpy(&r->addr, q->addr, q->len);
    r->q.addr = (const struct sockaddr *)&r->addr;
    if (p->control_file == p->un.sun_path)
        r->p.control_file = r->p.un.sun_path;
    if (!in_thread(record_later, r)) {
        free(r);
        return false;
    }
    c->dup = -1;
    c->pending.nepolls = 0;
    d->opts = NULL, d->peers = NULL; /* the thread's now */
    return true;
}

/* ---- the plans ------------------------------------------------------------ */

/* A socket of another family: the record of a vsock= / tipc= rule or a
 * control file, or a unix one to a Firecracker multiplexer. */
static int apply_record(struct call *c, const struct unsock_query *q, struct unsock_plan *p)
{
    sa_family_t family = AF_UNIX;
    if (!p->firecracker)
        memcpy(&family, p->record.dest, sizeof(family));
    struct usock d;
    int sock = call_prepare(c, q->addr->sa_family, family, &d);
    if (sock < 0)
        return errno;
    unsock_control_apply_params(sock, &p->record);
    const struct sockaddr *dest = (const struct sockaddr *)p->record.dest;
    int rc = p->firecracker            ? -1
             : q->call == CALL_BIND    ? bind(sock, dest, p->record.dest_len)
                                       : connect(sock, dest, p->record.dest_len);
    int err = rc == 0 ? 0 : p->firecracker ? EINPROGRESS : errno;
    bool blocking = !(c->flags & O_NONBLOCK);
    if (err == EINPROGRESS && (p->firecracker || blocking)) {
        if (finish_later(c, q, p, sock, &d))
            return -1; /* the thread answers */
        if (p->firecracker)
            err = EAGAIN; /* no thread for the handshake */
    }
    if (err == 0 || err == EINPROGRESS) {
        unsock_describe(&d, q, unsock_ip_port(q->addr));
        int e = call_replace(c, sock, &d, "");
        err = e != 0 ? e : err;
    }
    unsock_log_plan(c->fd, q, p, err == EINPROGRESS ? 0 : err, err == EINPROGRESS ? " (in progress)" : NULL);
    call_abandon(c, sock, &d);
    return err;
}

/* The call found a control file where the plan's socket would be: its
 * record decides (p refined). */
static int apply_control(struct call *c, const struct unsock_query *q, struct unsock_plan *p)
{
    if (p->kind == PLAN_RECORD)
        return apply_record(c, q, p);
    unsock_log_plan(c->fd, q, p, 0, NULL);
    return p->err;
}

/* connect of a new unix socket for the caller's (a datagram one bound
 * first). A datagram socket connects only where a server is: unlike the
 * preload engine, the supervisor sees no later send to connect at. */
static int apply_connect(struct call *c, const struct unsock_query *q, struct unsock_plan *p)
{
    struct usock d;
    int sock = call_prepare(c, q->addr->sa_family, AF_UNIX, &d);
    if (sock < 0)
        return errno;
    struct sockaddr_un owned = {.sun_path = ""};
    if (p->implicit_bind && unsock_implicit_bind(sock, &d, q, p, &owned) != 0) {
        int err = errno;
        call_abandon(c, sock, &d);
        return err;
    }
    if (c->type == SOCK_STREAM) /* named with its address, which the server then reports */
        d.local_len = unsock_name_client(sock, q->addr, target_pid(c->tid),
                                         q->addr->sa_family == AF_INET6 ? target_uid(c->tid) : 0, &d.local);
    int err = connect(sock, (const struct sockaddr *)&p->un, p->un_len) == 0 ? 0 : errno;
    if (err == ECONNREFUSED && p->may_be_control && unsock_plan_control_file(p, q, err)) {
        call_abandon(c, sock, &d);
        return apply_control(c, q, p);
    }
    if (err == EAGAIN && c->type == SOCK_STREAM) {
        unsock_describe(&d, q, p->port);
        if (wait_for_room(c, sock, p, &d)) {
            unsock_log_plan(c->fd, q, p, 0, " (waiting: the backlog is full)");
            return -1; /* the thread answers */
        }
    }
    if (err == 0) {
        unsock_describe(&d, q, p->port);
        if (c->type == SOCK_DGRAM && !unsock_rule_has_port(p->rule))
            unsock_peers_remember(&d, p->port, &p->un, p->un_len); /* datagrams from there come from p->port */
        err = call_replace(c, sock, &d, owned.sun_path);
    }
    if (err != 0 && owned.sun_path[0] != '\0')
        unlink(owned.sun_path);
    err = err == ENOENT ? ECONNREFUSED : err;
    call_abandon(c, sock, &d);
    unsock_log_plan(c->fd, q, p, err, NULL);
    return err;
}

/* bind or connect of the program's own unix socket, done on our descriptor
 * of it (the same socket); a converted datagram socket connected again
 * shows its new peer. */
static int apply_in_place(struct call *c, const struct unsock_query *q, const struct unsock_plan *p)
{
    int rc = p->kind == PLAN_BLACKHOLE ? unsock_bind_blackhole(c->dup)
             : q->call == CALL_BIND    ? unsock_bind_unix(c->dup, p, true)
                                       : connect(c->dup, (const struct sockaddr *)&p->un, p->un_len);
    int err = rc == 0 ? 0 : errno == ENOENT ? ECONNREFUSED : errno;
    struct usock *s;
    if (err == 0 && q->call == CALL_CONNECT && q->converted && unsock_is_ip(q->addr, q->len) &&
        (s = call_converted(c)) != NULL) {
        unsock_set_peer(s, q->addr);
        socks_unlock();
    }
    unsock_log_plan(c->fd, q, p, err, NULL);
    return err;
}

/* A stream socket bound by a plan: the connections accepted from it
 * without the supervisor are known by its unix address (call.h). */
static void mark_bound(int sock)
{
    struct sockaddr_un un;
    socklen_t len = sizeof(un);
    struct stat st;
    if (getsockname(sock, (struct sockaddr *)&un, &len) != 0 || fstat(sock, &st) != 0)
        return;
    socks_lock();
    struct ssock *s = socks_find(st.st_ino);
    if (s != NULL)
        socks_set_bound(s, &un, len);
    socks_unlock();
}

/* bind to a socket systemd passed, which takes the caller's place: a unix
 * one recorded as bound at the caller's address, an IP one left native. */
static int apply_systemd(struct call *c, const struct unsock_query *q, const struct unsock_plan *p)
{
    const char *why = NULL;
    int sock = systemd_pick(p->fdname, &why), domain = 0, err;
    socklen_t len = sizeof(domain);
    if (sock < 0 || getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
        fcntl(sock, F_SETFL, O_NONBLOCK) != 0) { /* as call_install expects it */
        char note[96];
        snprintf(note, sizeof(note), " (%s)", why != NULL ? why : strerror(errno));
        unsock_log_plan(c->fd, q, p, EADDRNOTAVAIL, note);
        if (sock >= 0)
            close(sock);
        return EADDRNOTAVAIL;
    }
    if (domain == AF_UNIX) {
        struct usock d = {.family = q->addr->sa_family, .type = c->type};
        unsock_describe(&d, q, unsock_ip_port(q->addr));
        if ((err = call_replace(c, sock, &d, "")) == 0)
            mark_bound(sock);
        forget_description(&d);
    } else {
        err = call_install(c, sock) == 0 ? 0 : errno;
    }
    unsock_log_plan(c->fd, q, p, err, NULL);
    close(sock);
    return err;
}

/* bind of a new unix socket for the caller's (or a blackhole). */
static int apply_bind(struct call *c, const struct unsock_query *q, struct unsock_plan *p)
{
    struct usock d;
    int sock = call_prepare(c, q->addr->sa_family, AF_UNIX, &d);
    if (sock < 0)
        return errno;
    int err = unsock_bind_plan(sock, q, p) == 0 ? 0 : errno;
    if (err == EADDRINUSE && p->kind == PLAN_UNIX && !p->free_port && p->may_be_control &&
        unsock_plan_control_file(p, q, EADDRINUSE)) {
        call_abandon(c, sock, &d);
        return apply_control(c, q, p);
    }
    if (err == 0) {
        unsock_describe(&d, q, p->port != 0 ? p->port : unsock_pseudo_port());
        err = call_replace(c, sock, &d, p->kind == PLAN_UNIX && p->owns_file ? p->un.sun_path : "");
        if (err == 0 && c->type == SOCK_STREAM)
            mark_bound(sock);
    }
    unsock_log_plan(c->fd, q, p, err, NULL);
    call_abandon(c, sock, &d);
    return err;
}

void on_bind_connect(struct call *c, enum unsock_call call)
{
    struct sockaddr_storage addr;
    struct unsock_query q;
    struct unsock_plan p;
    if (!call_plan(c, call, c->n.data.args[1], (socklen_t)c->n.data.args[2], &addr, &q, &p))
        return call_pass(c);
    int err;
    switch (p.kind) {
    case PLAN_NATIVE:
        if (p.rule != NULL || unsock_is_ip(q.addr, q.len))
            unsock_log_plan(c->fd, &q, &p, 0, NULL);
        return call_pass(c);
    case PLAN_REJECT:
        unsock_log_plan(c->fd, &q, &p, 0, NULL);
        return notif_fail(c->listener, c->n.id, p.err);
    default:
        break;
    }
    if (c->type != SOCK_STREAM && c->type != SOCK_DGRAM) {
        unsock_log_plan(c->fd, &q, &p, 0, " (left to the kernel: not a stream or datagram socket)");
        return call_pass(c);
    }
    if (p.kind == PLAN_SYSTEMD)
        err = apply_systemd(c, &q, &p);
    else if (p.in_place) /* the program's unix socket (from-unix, or converted already): done on it */
        err = apply_in_place(c, &q, &p);
    else if (p.kind == PLAN_RECORD)
        err = apply_record(c, &q, &p);
    else
        err = call == CALL_BIND ? apply_bind(c, &q, &p) : apply_connect(c, &q, &p);
    if (err >= 0) /* below: a thread of its own answers */
        call_answer(c, err);
}
