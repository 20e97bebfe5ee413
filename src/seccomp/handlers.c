#define _GNU_SOURCE
#include "handlers.h"

#include "addr.h"
#include "firecracker.h"
#include "log.h"
#include "notif.h"
#include "plan.h"
#include "sockaddr.h"
#include "sockets.h"
#include "sockfile.h"
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* One trapped call being answered. */
struct call {
    int listener;
    struct seccomp_notif n;
    pid_t tid;
    int fd;      /* the caller's descriptor (args[0]) */
    int dup;     /* ours of it, or -1 */
    ino_t ino;
    int domain, type, flags;
};

static bool valid(const struct call *c)
{
    return notif_valid(c->listener, c->n.id);
}

static void pass(struct call *c)
{
    notif_continue(c->listener, c->n.id);
}

/* Our descriptor of the caller's socket and what it is; false (the call
 * goes to the kernel) if it is not a socket. */
static bool get_socket(struct call *c)
{
    struct stat st;
    socklen_t len = sizeof(int);
    c->dup = target_dup(c->tid, c->fd);
    return c->dup >= 0 && fstat(c->dup, &st) == 0 && S_ISSOCK(st.st_mode) &&
           (c->ino = st.st_ino, getsockopt(c->dup, SOL_SOCKET, SO_TYPE, &c->type, &len) == 0) &&
           (len = sizeof(int), getsockopt(c->dup, SOL_SOCKET, SO_DOMAIN, &c->domain, &len) == 0) &&
           (c->flags = fcntl(c->dup, F_GETFL)) >= 0 && valid(c);
}

/* A copy of the record of the caller's socket, if unsock made it. */
static bool converted(const struct call *c, struct ssock *out)
{
    if (c->domain != AF_UNIX)
        return false;
    socks_lock();
    const struct ssock *s = socks_find(c->ino);
    if (s != NULL)
        *out = *s;
    socks_unlock();
    return s != NULL;
}

static void read_options(int from, struct ssock *into);

/* The record of sock, a new socket of the program's: its addresses, and
 * the emulated options of the listener it was accepted from (opts_from) or
 * of the program's socket it replaces (options_of, a descriptor, or -1). */
static void remember(int sock, int family, int type, const struct sockaddr_storage *local, socklen_t local_len,
                     const struct sockaddr_storage *peer, socklen_t peer_len, const struct ssock *opts_from,
                     int options_of)
{
    struct stat st;
    if (fstat(sock, &st) != 0)
        return;
    socks_lock();
    struct ssock *s = socks_add(st.st_ino, family, type);
    if (s != NULL) {
        if (local_len)
            s->local = *local, s->local_len = local_len;
        if (peer_len)
            s->peer = *peer, s->peer_len = peer_len;
        for (size_t i = 0; opts_from != NULL && i < opts_from->nopts; i++)
            socks_opt_set(s, opts_from->opts[i].level, opts_from->opts[i].name, opts_from->opts[i].val,
                          opts_from->opts[i].len);
        if (options_of >= 0)
            read_options(options_of, s);
    }
    socks_unlock();
}

/* The TCP- and IP-level options a program may have set before bind or
 * connect: read back from its socket into the record, which emulates them. */
static const struct { int level, name; } EMULATED[] = {
    {IPPROTO_TCP, TCP_NODELAY}, {IPPROTO_TCP, TCP_CORK}, {IPPROTO_TCP, TCP_KEEPIDLE}, {IPPROTO_TCP, TCP_KEEPINTVL},
    {IPPROTO_TCP, TCP_KEEPCNT}, {IPPROTO_TCP, TCP_MAXSEG}, {IPPROTO_TCP, TCP_DEFER_ACCEPT},
    {IPPROTO_TCP, TCP_FASTOPEN}, {IPPROTO_TCP, TCP_USER_TIMEOUT}, {IPPROTO_TCP, TCP_CONGESTION},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT}, {IPPROTO_TCP, TCP_LINGER2}, {IPPROTO_IP, IP_TOS}, {IPPROTO_IP, IP_TTL},
    {IPPROTO_IPV6, IPV6_V6ONLY}, {IPPROTO_IPV6, IPV6_TCLASS},
};

static void read_options(int from, struct ssock *into)
{
    for (size_t i = 0; i < sizeof(EMULATED) / sizeof(EMULATED[0]); i++) {
        unsigned char val[sizeof(into->opts[0].val)];
        socklen_t len = sizeof(val);
        if (getsockopt(from, EMULATED[i].level, EMULATED[i].name, val, &len) == 0)
            socks_opt_set(into, EMULATED[i].level, EMULATED[i].name, val, len);
    }
}

/* The SOL_SOCKET options a program may have set before bind or connect. */
static const int CARRIED[] = {SO_RCVTIMEO, SO_SNDTIMEO, SO_KEEPALIVE, SO_LINGER, SO_RCVBUF, SO_SNDBUF,
                              SO_PRIORITY, SO_MARK, SO_RCVLOWAT, SO_PASSCRED};

/* A new socket of `domain` for the caller's, with its options and
 * O_NONBLOCK carried over (made non-blocking for the supervisor's own
 * use; the caller's flag is put back at install). */
static int new_socket(const struct call *c, int domain)
{
    int s = socket(domain, c->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    for (size_t i = 0; s >= 0 && i < sizeof(CARRIED) / sizeof(CARRIED[0]); i++) {
        unsigned char val[64];
        socklen_t len = sizeof(val);
        if (getsockopt(c->dup, SOL_SOCKET, CARRIED[i], val, &len) == 0)
            (void)setsockopt(s, SOL_SOCKET, CARRIED[i], val, len); /* best effort, as a default stays */
    }
    return s;
}

/* Put sock in the caller's place: the call returns 0. */
static int install(struct call *c, int sock)
{
    if (fcntl(sock, F_SETFL, c->flags & O_NONBLOCK) != 0)
        return -1;
    return notif_install(c->listener, c->n.id, sock, c->fd, target_cloexec(c->tid, c->fd)) < 0 ? -1 : 0;
}

/* The socket files bound for the tree, removed at the end when dead. */
struct owned {
    struct owned *next;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
    dev_t dev;
    ino_t ino, sock_ino;
    int type;
};
static struct owned *owned;
static pthread_mutex_t owned_lock = PTHREAD_MUTEX_INITIALIZER;

static void own(int sock, const char *path, int type)
{
    struct stat st, sst;
    struct owned *o = calloc(1, sizeof(*o));
    if (o == NULL || lstat(path, &st) != 0 || fstat(sock, &sst) != 0) {
        free(o);
        return;
    }
    snprintf(o->path, sizeof(o->path), "%s", path);
    o->dev = st.st_dev, o->ino = st.st_ino, o->sock_ino = sst.st_ino, o->type = type;
    pthread_mutex_lock(&owned_lock);
    o->next = owned;
    owned = o;
    pthread_mutex_unlock(&owned_lock);
}

void handlers_exit(void)
{
    pthread_mutex_lock(&owned_lock);
    for (struct owned *o = owned, *next; o != NULL; o = next) {
        next = o->next;
        unsock_sockfile_release(o->path, o->dev, o->ino, o->sock_ino, o->type);
        free(o);
    }
    owned = NULL;
    pthread_mutex_unlock(&owned_lock);
}

/* ---- connect and bind ---------------------------------------------------- */

struct later {
    struct call c;
    int sock;
    ino_t ino;
    struct ssock options; /* the program's options, read before its descriptor is given back */
    int64_t give_up_ms;   /* a non-blocking caller waits so long, then gets EAGAIN as from unix */
    struct sockaddr_storage local, peer;
    socklen_t local_len, peer_len;
    struct sockaddr_un un;
    socklen_t un_len;
};

/* A connect to a full backlog: a blocking connect of our own, a fifth of a
 * second at a time, answered EINTR when the caller has a signal waiting.
 * The caller waits (the descriptor cannot be swapped once it is answered):
 * a non-blocking one at most two seconds. */
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
        else if (!valid(&l->c))
            err = ECANCELED;
        else if (target_signalled(l->c.tid))
            err = EINTR;
        else if (unsock_now_ms() > l->give_up_ms)
            err = EAGAIN; /* a process that accepts its own connections must not wait on itself for ever */
    }
    if (err == 0) {
        remember(l->sock, l->peer.ss_family, l->c.type, &l->local, l->local_len, &l->peer, l->peer_len, NULL, -1);
        socks_lock();
        struct ssock *s = socks_find(l->ino);
        for (size_t i = 0; s != NULL && i < l->options.nopts; i++)
            socks_opt_set(s, l->options.opts[i].level, l->options.opts[i].name, l->options.opts[i].val,
                          l->options.opts[i].len);
        socks_unlock();
        if (install(&l->c, l->sock) != 0)
            err = errno;
    }
    if (err != 0 && err != ECANCELED)
        notif_fail(l->c.listener, l->c.n.id, err);
    close(l->sock);
    free(l);
    return NULL;
}

static bool in_thread(void *(*fn)(void *), void *arg)
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

/* A socket of another family: the record of a vsock= / tipc= rule or a
 * control file (a Firecracker multiplexer is the preload engine's only). */
static int apply_record(struct call *c, const struct unsock_query *q, struct unsock_plan *p)
{
    sa_family_t family;
    memcpy(&family, p->record.dest, sizeof(family));
    if (p->firecracker) {
        unsock_log_plan(c->fd, q, p, EOPNOTSUPP, " (Firecracker needs the preload engine)");
        return ECONNREFUSED;
    }
    int sock = new_socket(c, family);
    if (sock < 0)
        return errno;
    unsock_control_apply_params(sock, &p->record);
    const struct sockaddr *dest = (const struct sockaddr *)p->record.dest;
    int rc = q->call == CALL_BIND ? bind(sock, dest, p->record.dest_len) : connect(sock, dest, p->record.dest_len);
    int err = rc == 0 || (errno == EINPROGRESS && q->call != CALL_BIND) ? 0 : errno;
    if (err == 0) {
        struct sockaddr_storage ip;
        memcpy(&ip, q->addr, unsock_inet_len(q->addr->sa_family));
        if (q->call == CALL_BIND)
            remember(sock, q->addr->sa_family, c->type, &ip, unsock_inet_len(ip.ss_family), NULL, 0, NULL, c->dup);
        else
            remember(sock, q->addr->sa_family, c->type, NULL, 0, &ip, unsock_inet_len(ip.ss_family), NULL, c->dup);
        if (install(c, sock) != 0)
            err = errno;
    }
    unsock_log_plan(c->fd, q, p, err, rc != 0 && err == 0 ? " (in progress)" : NULL);
    close(sock);
    return err;
}

/* connect of a stream socket to a unix address. */
static int apply_connect(struct call *c, const struct unsock_query *q, struct unsock_plan *p)
{
    int sock = new_socket(c, AF_UNIX);
    if (sock < 0)
        return errno;
    struct sockaddr_storage local, peer;
    socklen_t local_len = 0, peer_len = unsock_inet_len(q->addr->sa_family);
    memcpy(&peer, q->addr, peer_len);
    /* named with its address, which the server then reports (TCP's picture if no name is free) */
    local_len = unsock_name_client(sock, q->addr, target_pid(c->tid),
                                   q->addr->sa_family == AF_INET6 ? target_uid(c->tid) : 0, &local);
    if (local_len == 0)
        local_len = unsock_other_end((const struct sockaddr_storage *)q->addr, unsock_pseudo_port(), &local);
    if (connect(sock, (const struct sockaddr *)&p->un, p->un_len) != 0) {
        int err = errno;
        if (err == ECONNREFUSED && p->may_be_control && unsock_plan_control_file(p, q, err)) {
            close(sock);
            if (p->kind == PLAN_RECORD)
                return apply_record(c, q, p);
            unsock_log_plan(c->fd, q, p, 0, NULL);
            return p->err;
        }
        if (err == EAGAIN) { /* the backlog is full: TCP would go on trying */
            struct later *l = malloc(sizeof(*l));
            if (l != NULL) {
                struct stat st;
                *l = (struct later){.c = *c, .sock = sock, .local = local, .local_len = local_len, .peer = peer,
                                    .peer_len = peer_len, .un = p->un, .un_len = p->un_len,
                                    .ino = fstat(sock, &st) == 0 ? st.st_ino : 0,
                                    .give_up_ms = (c->flags & O_NONBLOCK) ? unsock_now_ms() + 2000 : INT64_MAX};
                read_options(c->dup, &l->options);
                if (in_thread(connect_later, l)) {
                    unsock_log_plan(c->fd, q, p, 0, " (waiting: the backlog is full)");
                    return -1; /* the thread answers */
                }
                free(l);
            }
        }
        close(sock);
        err = err == ENOENT ? ECONNREFUSED : err;
        unsock_log_plan(c->fd, q, p, err, NULL);
        return err;
    }
    remember(sock, q->addr->sa_family, c->type, &local, local_len, &peer, peer_len, NULL, c->dup);
    int err = install(c, sock) == 0 ? 0 : errno;
    close(sock);
    unsock_log_plan(c->fd, q, p, err, NULL);
    return err;
}

/* bind or connect of the program's own unix socket, done on our descriptor
 * of it (the same socket). */
static int apply_in_place(struct call *c, const struct unsock_query *q, const struct unsock_plan *p)
{
    int rc = p->kind == PLAN_BLACKHOLE ? unsock_bind_blackhole(c->dup)
             : q->call == CALL_BIND    ? unsock_bind_unix(c->dup, p, true)
                                       : connect(c->dup, (const struct sockaddr *)&p->un, p->un_len);
    int err = rc == 0 ? 0 : errno == ENOENT ? ECONNREFUSED : errno;
    unsock_log_plan(c->fd, q, p, err, NULL);
    if (err == 0)
        notif_return(c->listener, c->n.id, 0);
    return err;
}

/* bind of a stream socket to a unix address (or a blackhole). */
static int apply_bind(struct call *c, const struct unsock_query *q, struct unsock_plan *p)
{
    int sock = new_socket(c, AF_UNIX), rc;
    if (sock < 0)
        return errno;
    rc = unsock_bind_plan(sock, q, p);
    uint16_t port = p->port;
    if (rc != 0 && errno == EADDRINUSE && p->kind == PLAN_UNIX && !p->free_port && p->may_be_control &&
        unsock_plan_control_file(p, q, EADDRINUSE)) {
        close(sock);
        if (p->kind == PLAN_RECORD)
            return apply_record(c, q, p);
        unsock_log_plan(c->fd, q, p, 0, NULL);
        return p->err;
    }
    int err = rc == 0 ? 0 : errno;
    if (err == 0) {
        struct sockaddr_storage local;
        socklen_t len = unsock_inet_len(q->addr->sa_family);
        memcpy(&local, q->addr, len);
        ((struct sockaddr_in *)&local)->sin_port = htons(port != 0 ? port : unsock_pseudo_port());
        remember(sock, q->addr->sa_family, c->type, &local, len, NULL, 0, NULL, c->dup);
        if (install(c, sock) != 0)
            err = errno;
        else if (p->kind == PLAN_UNIX && p->owns_file)
            own(sock, p->un.sun_path, c->type);
    }
    unsock_log_plan(c->fd, q, p, err, NULL);
    close(sock);
    return err;
}

static void on_bind_connect(struct call *c, enum unsock_call call)
{
    struct sockaddr_storage addr;
    socklen_t len = (socklen_t)c->n.data.args[2];
    if (len < sizeof(sa_family_t) || len > sizeof(addr) || target_read(c->tid, c->n.data.args[1], &addr, len) != 0 ||
        !unsock_plan_may_match(&unsock_ruleset, (const struct sockaddr *)&addr, len) || !get_socket(c))
        return pass(c);
    struct ssock rec;
    bool conv = converted(c, &rec);
    struct unsock_query q = {.call = call, .domain = conv ? rec.family : c->domain, .type = c->type,
                             .converted = conv, .addr = (const struct sockaddr *)&addr, .len = len};
    if (conv)
        q.domain = AF_UNIX;
    struct unsock_plan p;
    unsock_plan(&unsock_ruleset, &q, &p);
    int err;
    switch (p.kind) {
    case PLAN_NATIVE:
        if (p.rule != NULL || unsock_is_ip(q.addr, q.len))
            unsock_log_plan(c->fd, &q, &p, 0, NULL);
        return pass(c);
    case PLAN_REJECT:
        unsock_log_plan(c->fd, &q, &p, 0, NULL);
        return notif_fail(c->listener, c->n.id, p.err);
    case PLAN_SYSTEMD:
        unsock_log_plan(c->fd, &q, &p, EADDRNOTAVAIL, " (systemd sockets need the preload engine)");
        return notif_fail(c->listener, c->n.id, EADDRNOTAVAIL);
    default:
        break;
    }
    if (c->type != SOCK_STREAM) {
        unsock_log_plan(c->fd, &q, &p, 0, " (left to the kernel: the seccomp engine converts stream sockets)");
        return pass(c);
    }
    if (p.in_place) /* the program's unix socket (from-unix, or converted already): done on it */
        err = apply_in_place(c, &q, &p);
    else if (p.kind == PLAN_RECORD)
        err = apply_record(c, &q, &p);
    else
        err = call == CALL_BIND ? apply_bind(c, &q, &p) : apply_connect(c, &q, &p);
    if (err > 0)
        notif_fail(c->listener, c->n.id, err);
}

/* ---- accept ---------------------------------------------------------------- */

struct acceptance {
    struct call c;
    struct ssock listener;
};

/* Hand conn to the caller as accept would; 0 or an errno. */
static int deliver(struct acceptance *a, int conn, const struct sockaddr_un *un, socklen_t ulen)
{
    struct call *c = &a->c;
    int flags = c->n.data.nr == __NR_accept4 ? (int)c->n.data.args[3] : 0;
    struct sockaddr_storage peer;
    char what[32];
    snprintf(what, sizeof(what), "accept on fd %d", c->fd);
    socklen_t plen = unsock_accepted_peer(conn, a->listener.family, &a->listener.local, a->listener.local_len, un,
                                          ulen, what, &peer);
    uint64_t addr = c->n.data.args[1], lenp = c->n.data.args[2];
    if (addr != 0) {
        socklen_t room;
        if (lenp == 0 || target_read(c->tid, lenp, &room, sizeof(room)) != 0)
            return EFAULT;
        if ((int)room < 0)
            return EINVAL;
        if ((room > 0 && target_write(c->tid, addr, &peer, room < plen ? room : plen) != 0) ||
            target_write(c->tid, lenp, &plen, sizeof(plen)) != 0)
            return EFAULT;
    }
    if (fcntl(conn, F_SETFL, (flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0) != 0)
        return errno;
    remember(conn, a->listener.family, a->listener.type, &a->listener.local, a->listener.local_len, &peer, plen,
             &a->listener, -1);
    return notif_install(c->listener, c->n.id, conn, -1, (flags & SOCK_CLOEXEC) != 0) < 0 ? errno : 0;
}

/* One accept by the supervisor on the caller's listener: a connection,
 * or -1 with errno (EAGAIN: none waiting). The listener's blocking mode is
 * the program's (one open file), so it is polled first, and accepts are
 * taken one at a time: no accept of ours ever blocks. */
static int take(struct acceptance *a, struct sockaddr_un *un, socklen_t *ulen)
{
    static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&one_at_a_time);
    struct pollfd pfd = {a->c.dup, POLLIN, 0};
    int conn = -1;
    *ulen = sizeof(*un);
    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN))
        conn = accept4(a->c.dup, (struct sockaddr *)un, ulen, SOCK_CLOEXEC | SOCK_NONBLOCK);
    else
        errno = EAGAIN;
    int saved = errno;
    pthread_mutex_unlock(&one_at_a_time);
    errno = saved;
    return conn;
}

static void finish_accept(struct acceptance *a, int conn, const struct sockaddr_un *un, socklen_t ulen)
{
    int err = deliver(a, conn, un, ulen);
    if (err != 0 && err != ENOENT)
        notif_fail(a->c.listener, a->c.n.id, err);
    close(conn);
}

/* A blocking accept: waits for a connection a twentieth of a second at a
 * time, so that a signal for the caller (Ctrl-C) is answered with EINTR. */
static void *accept_later(void *arg)
{
    struct acceptance *a = arg;
    for (;;) {
        struct pollfd pfd = {a->c.dup, POLLIN, 0};
        int r = poll(&pfd, 1, 50);
        if (!valid(&a->c))
            break;
        if (r > 0) {
            struct sockaddr_un un;
            socklen_t ulen;
            int conn = take(a, &un, &ulen);
            if (conn >= 0) {
                finish_accept(a, conn, &un, ulen);
                break;
            }
            if (errno != EAGAIN && errno != EINTR) {
                notif_fail(a->c.listener, a->c.n.id, errno);
                break;
            }
        } else if (target_signalled(a->c.tid)) {
            notif_fail(a->c.listener, a->c.n.id, EINTR);
            break;
        }
    }
    close(a->c.dup);
    free(a);
    return NULL;
}

static void on_accept(struct call *c)
{
    struct acceptance a = {.c = *c};
    if (!get_socket(c) || !converted(c, &a.listener))
        return pass(c);
    a.c = *c;
    struct sockaddr_un un;
    socklen_t ulen;
    int conn = take(&a, &un, &ulen);
    if (conn >= 0)
        return finish_accept(&a, conn, &un, ulen);
    if (errno != EAGAIN || (c->flags & O_NONBLOCK))
        return notif_fail(c->listener, c->n.id, errno);
    struct acceptance *later = malloc(sizeof(*later));
    if (later != NULL) {
        *later = a;
        if (in_thread(accept_later, later)) {
            c->dup = -1; /* the thread's now */
            return;
        }
        free(later);
    }
    notif_fail(c->listener, c->n.id, EAGAIN);
}

/* ---- names and options --------------------------------------------------- */

static void on_name(struct call *c, bool peer)
{
    struct ssock rec;
    if (!get_socket(c) || !converted(c, &rec))
        return pass(c);
    const struct sockaddr_storage *a = peer ? &rec.peer : &rec.local;
    socklen_t alen = peer ? rec.peer_len : rec.local_len;
    if (peer && alen == 0)
        return notif_fail(c->listener, c->n.id, ENOTCONN);
    uint64_t addr = c->n.data.args[1], lenp = c->n.data.args[2];
    socklen_t room;
    if (lenp == 0 || target_read(c->tid, lenp, &room, sizeof(room)) != 0)
        return notif_fail(c->listener, c->n.id, EFAULT);
    if ((int)room < 0)
        return notif_fail(c->listener, c->n.id, EINVAL);
    if ((room > 0 && target_write(c->tid, addr, a, room < alen ? room : alen) != 0) ||
        target_write(c->tid, lenp, &alen, sizeof(alen)) != 0)
        return notif_fail(c->listener, c->n.id, EFAULT);
    notif_return(c->listener, c->n.id, 0);
}

static void on_sockopt(struct call *c, bool set)
{
    int level = (int)c->n.data.args[1], name = (int)c->n.data.args[2];
    uint64_t val = c->n.data.args[3], lenarg = c->n.data.args[4];
    struct ssock rec;
    if (!get_socket(c) || !converted(c, &rec))
        return pass(c);
    if (level == SOL_SOCKET && set)
        return pass(c);
    unsigned char buf[sizeof(struct tcp_info) + 64] = {0};
    if (set) {
        socklen_t len = (socklen_t)lenarg;
        if (len > sizeof(rec.opts[0].val) || target_read(c->tid, val, buf, len) != 0)
            return notif_fail(c->listener, c->n.id, len > sizeof(rec.opts[0].val) ? EINVAL : EFAULT);
        socks_lock();
        struct ssock *s = socks_find(c->ino);
        int r = s != NULL ? socks_opt_set(s, level, name, buf, len) : 0;
        socks_unlock();
        return r == 0 ? notif_return(c->listener, c->n.id, 0) : notif_fail(c->listener, c->n.id, errno);
    }
    socklen_t room, out = sizeof(int);
    if (lenarg == 0 || target_read(c->tid, lenarg, &room, sizeof(room)) != 0)
        return notif_fail(c->listener, c->n.id, EFAULT);
    int v = 0;
    const struct ssock_opt *o = socks_opt_get(&rec, level, name);
    if (level == SOL_SOCKET)
        v = name == SO_DOMAIN ? rec.family : rec.type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    if (o != NULL) {
        memcpy(buf, o->val, o->len);
        out = o->len;
    } else if (level == IPPROTO_TCP && name == TCP_INFO) {
        out = sizeof(struct tcp_info);
    } else {
        memcpy(buf, &v, sizeof(v));
    }
    if (out > room)
        out = room;
    if ((out > 0 && target_write(c->tid, val, buf, out) != 0) || target_write(c->tid, lenarg, &out, sizeof(out)) != 0)
        return notif_fail(c->listener, c->n.id, EFAULT);
    notif_return(c->listener, c->n.id, 0);
}

void handle(int listener, const struct seccomp_notif *n)
{
    struct call c = {.listener = listener, .n = *n, .tid = (pid_t)n->pid, .fd = (int)n->data.args[0], .dup = -1};
    switch (n->data.nr) {
    case __NR_connect:
        on_bind_connect(&c, CALL_CONNECT);
        break;
    case __NR_bind:
        on_bind_connect(&c, CALL_BIND);
        break;
    case __NR_accept:
    case __NR_accept4:
        on_accept(&c);
        break;
    case __NR_getsockname:
    case __NR_getpeername:
        on_name(&c, n->data.nr == __NR_getpeername);
        break;
    case __NR_setsockopt:
    case __NR_getsockopt:
        on_sockopt(&c, n->data.nr == __NR_setsockopt);
        break;
    default:
        pass(&c);
    }
    if (c.dup >= 0)
        close(c.dup);
}
