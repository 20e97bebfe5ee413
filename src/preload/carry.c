#define _GNU_SOURCE /* IPV6_RECVPKTINFO */
#include "carry.h"

#include "log.h"
#include "real.h"
#include "sockopts.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif

enum kind {
    SET,     /* SOL_SOCKET: means the same on AF_UNIX */
    BUFFER,  /* a buffer size: the kernel doubles what is set */
    EMULATE, /* TCP/IP level: recorded for sockopts.c */
};

static const struct carried {
    int level, name;
    int alias;  /* another name for the same setting (FORCE, _NEW), or -1 */
    enum kind kind;
} carried[] = {
    {SOL_SOCKET, SO_RCVTIMEO, SO_RCVTIMEO_NEW, SET},
    {SOL_SOCKET, SO_SNDTIMEO, SO_SNDTIMEO_NEW, SET},
    {SOL_SOCKET, SO_RCVLOWAT, -1, SET},
    {SOL_SOCKET, SO_LINGER, -1, SET},
    {SOL_SOCKET, SO_PRIORITY, -1, SET},
    {SOL_SOCKET, SO_KEEPALIVE, -1, SET},
    {SOL_SOCKET, SO_PASSCRED, -1, SET},
    {SOL_SOCKET, SO_BROADCAST, -1, SET},
    {SOL_SOCKET, SO_OOBINLINE, -1, SET},
    {SOL_SOCKET, SO_TIMESTAMP, -1, SET},
    {SOL_SOCKET, SO_TIMESTAMPNS, -1, SET},
    {SOL_SOCKET, SO_MARK, -1, SET},
    {SOL_SOCKET, SO_REUSEADDR, -1, SET},
    {SOL_SOCKET, SO_REUSEPORT, -1, EMULATE}, /* AF_UNIX refuses it (EOPNOTSUPP) */
    {SOL_SOCKET, SO_DONTROUTE, -1, SET},
    {SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE, BUFFER},
    {SOL_SOCKET, SO_SNDBUF, SO_SNDBUFFORCE, BUFFER},
    {IPPROTO_TCP, TCP_NODELAY, -1, EMULATE},
    {IPPROTO_TCP, TCP_CORK, -1, EMULATE},
    {IPPROTO_TCP, TCP_KEEPIDLE, -1, EMULATE},
    {IPPROTO_TCP, TCP_KEEPINTVL, -1, EMULATE},
    {IPPROTO_TCP, TCP_KEEPCNT, -1, EMULATE},
    {IPPROTO_TCP, TCP_MAXSEG, -1, EMULATE},
    {IPPROTO_TCP, TCP_DEFER_ACCEPT, -1, EMULATE},
    {IPPROTO_TCP, TCP_FASTOPEN, -1, EMULATE},
    {IPPROTO_TCP, TCP_USER_TIMEOUT, -1, EMULATE},
    {IPPROTO_TCP, TCP_CONGESTION, -1, EMULATE},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT, -1, EMULATE},
    {IPPROTO_TCP, TCP_LINGER2, -1, EMULATE},
    {IPPROTO_TCP, TCP_SYNCNT, -1, EMULATE},
    {IPPROTO_TCP, TCP_WINDOW_CLAMP, -1, EMULATE},
    {IPPROTO_IP, IP_TOS, -1, EMULATE},
    {IPPROTO_IP, IP_TTL, -1, EMULATE},
    {IPPROTO_IPV6, IPV6_V6ONLY, -1, EMULATE},
    {IPPROTO_IPV6, IPV6_TCLASS, -1, EMULATE},
    {IPPROTO_IPV6, IPV6_UNICAST_HOPS, -1, EMULATE},
    {IPPROTO_IP, IP_PKTINFO, -1, EMULATE},
    {IPPROTO_IPV6, IPV6_RECVPKTINFO, -1, EMULATE},
};

#define NCARRIED (sizeof(carried) / sizeof(carried[0]))
_Static_assert(NCARRIED < 63, "one touched bit per option, bit 63 is UNSOCK_TOUCHED_ASYNC");

static const struct carried *find(int level, int name)
{
    for (size_t i = 0; i < NCARRIED; i++)
        if (carried[i].level == level && (carried[i].name == name || carried[i].alias == name))
            return &carried[i];
    return NULL;
}

uint64_t unsock_carry_bit(int level, int name)
{
    const struct carried *c = find(level, name);
    return c != NULL ? (uint64_t)1 << (c - carried) : 0;
}

bool unsock_carry_same_on_unix(int level, int name)
{
    const struct carried *c = find(level, name);
    return c != NULL && c->kind != EMULATE;
}

/* A size set explicitly must read back the same; above the sysctl maximum
 * the program used the FORCE variant. */
static void carry_buffer(int to, const struct carried *c, const unsigned char *val)
{
    int v, half, now = 0;
    socklen_t nl = sizeof(now);
    memcpy(&v, val, sizeof(v));
    half = v / 2;
    if (unsock_real.setsockopt(to, SOL_SOCKET, c->name, &half, sizeof(half)) != 0 ||
        unsock_real.getsockopt(to, SOL_SOCKET, c->name, &now, &nl) != 0)
        return;
    if (now != v && unsock_real.setsockopt(to, SOL_SOCKET, c->alias, &half, sizeof(half)) != 0)
        unsock_debug("buffer size %d not carried over: %s", v, strerror(errno));
}

/* An option's value `from` has, set on `to` (kinds SET and BUFFER) or
 * recorded in s (EMULATE). */
static void apply(int to, struct usock *s, const struct carried *c, const unsigned char *val, socklen_t len)
{
    if (c->kind == EMULATE)
        unsock_opt_store(s, c->level, c->name, val, len);
    else if (c->kind == BUFFER)
        carry_buffer(to, c, val);
    else if (unsock_real.setsockopt(to, c->level, c->name, val, len) != 0)
        unsock_debug("socket option %d not carried over: %s", c->name, strerror(errno));
}

/* Every carried option of a fresh IP socket of one family and type, as the
 * kernel reports it: made once per process. */
struct defaults {
    bool known[NCARRIED];
    socklen_t len[NCARRIED];
    unsigned char val[NCARRIED][32];
};
static _Atomic(struct defaults *) defaults_made[2][2]; /* [AF_INET6][SOCK_DGRAM] */

static const struct defaults *defaults_of(int family, int type)
{
    if ((family != AF_INET && family != AF_INET6) || (type != SOCK_STREAM && type != SOCK_DGRAM))
        return NULL;
    _Atomic(struct defaults *) *slot = &defaults_made[family == AF_INET6][type == SOCK_DGRAM];
    struct defaults *d = atomic_load_explicit(slot, memory_order_acquire);
    if (d != NULL)
        return d;
    int fresh = unsock_real.socket(family, type | SOCK_CLOEXEC, 0);
    if (fresh < 0)
        return NULL;
    if ((d = calloc(1, sizeof(*d))) != NULL) {
        for (size_t i = 0; i < NCARRIED; i++) {
            d->len[i] = sizeof(d->val[i]);
            d->known[i] = unsock_real.getsockopt(fresh, carried[i].level, carried[i].name, d->val[i], &d->len[i]) == 0;
        }
    }
    unsock_close_keep_errno(fresh);
    struct defaults *first = NULL;
    if (d != NULL && !atomic_compare_exchange_strong_explicit(slot, &first, d, memory_order_acq_rel,
                                                              memory_order_acquire)) {
        free(d);
        d = first;
    }
    return d;
}

/* The options flagged in touched, and with d every other one whose value
 * differs from d's (a fresh socket's); emulated ones only into an s. */
static void carry(int from, int to, struct usock *s, uint64_t touched, const struct defaults *d)
{
    for (size_t i = 0; i < NCARRIED; i++) {
        bool set = (touched & ((uint64_t)1 << i)) != 0;
        if ((!set && (d == NULL || !d->known[i])) || (carried[i].kind == EMULATE && s == NULL))
            continue;
        unsigned char val[32];
        socklen_t len = sizeof(val);
        if (unsock_real.getsockopt(from, carried[i].level, carried[i].name, val, &len) != 0)
            continue;
        if (set || len != d->len[i] || memcmp(val, d->val[i], len) != 0)
            apply(to, s, &carried[i], val, len);
    }
}

void unsock_carry(int from, int to, struct usock *s, uint64_t touched)
{
    carry(from, to, s, touched, NULL);
}

void unsock_carry_changed(int from, int to, struct usock *s, uint64_t touched)
{
    carry(from, to, s, touched, defaults_of(s->family, s->type));
}

uint64_t unsock_carry_back(int from, int to, const struct usock *s, uint64_t touched)
{
    carry(from, to, NULL, touched, NULL);
    uint64_t set = 0;
    for (size_t i = 0; i < s->nopts; i++) {
        const struct unsock_opt *o = &s->opts[i];
        if (unsock_real.setsockopt(to, o->level, o->name, o->val, o->len) == 0)
            set |= unsock_carry_bit(o->level, o->name);
        else
            unsock_debug("socket option %d/%d not set on the IP socket: %s", o->level, o->name, strerror(errno));
    }
    return set;
}
