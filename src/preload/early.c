#include "early.h"

#include "addr.h"
#include "carry.h"
#include "convert.h"
#include "fdswap.h"
#include "fdtable.h"
#include "log.h"
#include "owned.h"
#include "real.h"
#include "rules.h"
#include "sockaddr.h"
#include "sockfile.h"
#include "sockopts.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Per family (AF_INET, AF_INET6): whether the next stream socket will be
 * converted. A guess either way is safe; a wrong one costs a swap. */
static atomic_bool predicted[2];

static int family_index(int domain)
{
    return domain == AF_INET ? 0 : domain == AF_INET6 ? 1 : -1;
}

static bool rule_converts_stream(const struct unsock_rule *r, int family)
{
    bool to_unix = r->action == ACT_PATH || r->action == ACT_ABSTRACT;
    bool stream = r->type == 0 || r->type == SOCK_STREAM;
    /* an IPv6 socket reaches IPv4 rules through IPv4-mapped addresses */
    bool reaches = !r->has_addr || r->addr.family == family || family == AF_INET6;
    return r->from == FROM_IP && to_unix && stream && reaches;
}

void unsock_early_init(void)
{
    if (unsock_cfg.ip_at_socket)
        return;
    for (size_t i = 0; i < unsock_ruleset.n; i++) {
        if (rule_converts_stream(&unsock_ruleset.v[i], AF_INET))
            atomic_store(&predicted[0], true);
        if (rule_converts_stream(&unsock_ruleset.v[i], AF_INET6))
            atomic_store(&predicted[1], true);
    }
}

static bool converts(const struct unsock_plan *p)
{
    return p->kind == PLAN_UNIX && !p->in_place;
}

void unsock_early_learn(const struct unsock_query *q, const struct unsock_plan *p)
{
    int f = family_index(q->domain);
    if (f >= 0 && q->type == SOCK_STREAM && !q->converted && !unsock_cfg.ip_at_socket)
        atomic_store_explicit(&predicted[f], converts(p), memory_order_relaxed);
}

int unsock_early_socket(int domain, int type, int protocol)
{
    int f = family_index(domain);
    if (f < 0 || (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM ||
        (protocol != 0 && protocol != IPPROTO_TCP) || !atomic_load_explicit(&predicted[f], memory_order_relaxed) ||
        unsock_fd_nested())
        return -2;
    struct usock *s = unsock_sock_new(domain, SOCK_STREAM);
    if (s == NULL)
        return -2;
    int fd = unsock_real.socket(AF_UNIX, type, 0);
    if (fd < 0) {
        unsock_sock_free(s);
        return -2; /* the IP socket's own error, if it fails too */
    }
    s->early = true;
    s->protocol = protocol;
    s->local.ss_family = (sa_family_t)domain; /* 0.0.0.0:0 or [::]:0, as getsockname reports before bind */
    s->local_len = unsock_inet_len(domain);
    unsock_fd_attach_early(fd, s, domain, type);
    return fd;
}

/* The early socket s of fd with the lock held, or NULL (lock not held). */
static struct usock *lock_early(int fd)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s != NULL && !s->early) {
        unsock_unlock();
        s = NULL;
    }
    return s;
}

/* The socket is what the program asked for once it is connected. */
static int early_connect(int fd, const struct unsock_query *q, struct unsock_plan *p)
{
    struct sockaddr_storage local;
    socklen_t local_len = unsock_name_client(fd, q->addr, unsock_pid(),
                                             q->addr->sa_family == AF_INET6 ? geteuid() : 0, &local);
    if (unsock_real.connect(fd, (const struct sockaddr *)&p->un, p->un_len) != 0) {
        /* A control file at the path, nobody there, a full backlog: the
         * usual path tells them apart, from the IP socket. */
        if (errno == ECONNREFUSED || errno == ENOENT || errno == EAGAIN)
            return 1;
        unsock_failed_as_tcp(fd, q, p);
        int err = errno;
        if (unsock_early_materialize(fd) == 0) /* the next try needs a socket without a name */
            errno = err;
        return -1;
    }
    struct usock *s = lock_early(fd);
    if (s != NULL) {
        s->local = local;
        s->local_len = local_len;
        unsock_describe(s, q, p->port);
        unsock_fd_settle_locked(fd, s);
        unsock_unlock();
    }
    unsock_log_plan(fd, q, p, 0, NULL);
    return 0;
}

static int early_bind(int fd, const struct unsock_query *q, struct unsock_plan *p)
{
    if (unsock_bind_plan(fd, q, p) != 0) {
        if (errno == EADDRINUSE) /* a listener to share or take over, a control file: the usual path */
            return 1;
        return unsock_failed_as_tcp(fd, q, p); /* not bound: still the socket it was */
    }
    struct usock *s = lock_early(fd);
    if (s != NULL) {
        unsock_describe_bound(s, q, p, p->port);
        if (p->owns_file)
            unsock_sock_own_file_locked(s, fd, p->un.sun_path);
        unsock_fd_settle_locked(fd, s);
        unsock_unlock();
    }
    unsock_log_plan(fd, q, p, 0, NULL);
    return 0;
}

int unsock_early_apply(int fd, const struct unsock_query *q, struct unsock_plan *p)
{
    if (p->kind == PLAN_REJECT)
        return 1; /* refused: the socket stays as it is */
    if (converts(p) && q->call != CALL_SEND) {
        int r = q->call == CALL_BIND ? early_bind(fd, q, p) : early_connect(fd, q, p);
        if (r == 0)
            unsock_mark_family(fd, q->domain);
        if (r <= 0)
            return r;
    }
    return unsock_early_materialize(fd) != 0 ? -1 : 1;
}

int unsock_early_materialize(int fd)
{
    struct usock *s = lock_early(fd);
    if (s == NULL)
        return 0;
    int family = s->family, type = s->type;
    uint64_t touched = unsock_fd_touched(fd);
    int ip = unsock_real.socket(family, type | SOCK_CLOEXEC, s->protocol);
    if (ip >= 0)
        touched |= unsock_carry_back(fd, ip, s, touched); /* what a later swap carries from the IP socket */
    unsock_unlock();
    /* O_ASYNC and the epoll registration follow the descriptor, as in any swap. */
    if (ip < 0 || unsock_swap_carry_flags(fd, ip, touched) != 0 || unsock_swap_install(ip, fd) != 0) {
        unsock_debug("fd %d: no IP socket for it: %s", fd, strerror(errno));
        return -1;
    }
    unsock_fd_materialized(fd, family, type);
    unsock_fd_touch(fd, touched);
    return 0;
}

void unsock_early_materialize_passed(const struct msghdr *msg)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
            if (unsock_fd_early(fd))
                unsock_early_materialize(fd);
        }
    }
}

void unsock_early_materialize_inherited(void)
{
    /* Not in a vfork child: it shares our memory, and the state of the
     * parent's descriptors with it (its own are a copy). */
    if (getpid() != unsock_pid())
        return;
    for (int fd = unsock_fd_next_converted(0); fd >= 0; fd = unsock_fd_next_converted((unsigned)fd + 1)) {
        int fdflags;
        if (unsock_fd_early(fd) && (fdflags = unsock_real.fcntl(fd, F_GETFD)) >= 0 && !(fdflags & FD_CLOEXEC))
            unsock_early_materialize(fd);
    }
}

int unsock_early_getsockopt(struct usock *s, int fd, int level, int name, void *val, socklen_t *len)
{
    if (level != SOL_SOCKET)
        return unsock_opt_emulated(level, name) ? unsock_sockopt_get(s, fd, level, name, val, len)
                                                : UNSOCK_EARLY_NEEDS_IP;
    switch (name) {
    case SO_DOMAIN:
    case SO_PROTOCOL:
    case SO_PEERCRED:
    case SO_REUSEPORT:
        return unsock_sockopt_get(s, fd, level, name, val, len);
    case SO_TYPE:
    case SO_ERROR:
    case SO_ACCEPTCONN:
    case SO_SNDLOWAT:
        return 1;
    case SO_SNDBUF:
    case SO_RCVBUF:
        /* Sizes set by the program read back alike; unix sockets' defaults are not TCP's. */
        if (unsock_fd_touched(fd) & unsock_carry_bit(level, name))
            return 1;
        return unsock_opt_fresh(s, level, name, val, len);
    default:
        return unsock_carry_same_on_unix(level, name) ? 1 : UNSOCK_EARLY_NEEDS_IP;
    }
}

int unsock_early_setsockopt(struct usock *s, int fd, int level, int name, const void *val, socklen_t len)
{
    if (unsock_opt_emulated(level, name)) {
        int r = unsock_opt_set(s, level, name, val, len);
        return r == UNSOCK_OPT_NOT_KEPT ? UNSOCK_EARLY_NEEDS_IP : r;
    }
    if (level != SOL_SOCKET || !unsock_carry_same_on_unix(level, name))
        return UNSOCK_EARLY_NEEDS_IP;
    int r = unsock_real.setsockopt(fd, level, name, val, len);
    if (r == 0)
        unsock_fd_touch(fd, unsock_carry_bit(level, name));
    return r;
}
