#define _GNU_SOURCE /* struct ucred */
#include "sockaddr.h"

#include "log.h"
#include "match.h"
#include "peer.h"
#include "real.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static bool v4_mapped(const struct in6_addr *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->s6_addr, prefix, sizeof(prefix)) == 0;
}

socklen_t unsock_fake_addr(uint16_t port, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (size_t i = 0; i < unsock_cfg.nranges; i++) {
        if (unsock_cfg.ranges[i].family == AF_INET) {
            memcpy(&in->sin_addr, unsock_cfg.ranges[i].addr, 4);
            break;
        }
    }
    return sizeof(*in);
}

socklen_t unsock_fake_addr6(uint16_t port, struct sockaddr_storage *out)
{
    for (size_t i = 0; i < unsock_cfg.nranges; i++) {
        if (unsock_cfg.ranges[i].family == AF_INET6) {
            memset(out, 0, sizeof(*out));
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(port);
            memcpy(&in6->sin6_addr, unsock_cfg.ranges[i].addr, sizeof(in6->sin6_addr));
            return sizeof(*in6);
        }
    }
    struct sockaddr_storage v4;
    unsock_fake_addr(port, &v4);
    return unsock_address_as(AF_INET6, &v4, out);
}

socklen_t unsock_other_end(const struct sockaddr_storage *end, uint16_t port, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (end->ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        in6->sin6_addr = ((const struct sockaddr_in6 *)end)->sin6_addr;
        uint8_t *a = in6->sin6_addr.s6_addr;
        if (v4_mapped(&in6->sin6_addr)) {
            uint32_t ip = ((uint32_t)a[12] << 24) | ((uint32_t)a[13] << 16) | ((uint32_t)a[14] << 8) | a[15];
            if (ip == INADDR_ANY || (ip >> 24) == 127) {
                a[12] = 127, a[13] = 0, a[14] = 0, a[15] = 1;
            }
        } else if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
            in6->sin6_addr = in6addr_loopback;
        }
        return sizeof(*in6);
    }
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr = ((const struct sockaddr_in *)end)->sin_addr;
    uint32_t ip = ntohl(in->sin_addr.s_addr);
    if (ip == INADDR_ANY || (ip >> 24) == 127)
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof(*in);
}

/* Whether a datagram to addr goes to a unix socket. */
static bool to_unix(const struct sockaddr *addr, socklen_t len)
{
    const struct unsock_rule *r = unsock_rules_match_ip(&unsock_ruleset, RULE_OUT, SOCK_DGRAM, addr, len);
    return r != NULL && (r->action == ACT_PATH || r->action == ACT_ABSTRACT);
}

socklen_t unsock_reply_addr(const struct sockaddr_storage *end, uint16_t port, struct sockaddr_storage *out)
{
    socklen_t len = unsock_other_end(end, port, out);
    if (!to_unix((const struct sockaddr *)out, len) && to_unix((const struct sockaddr *)end, len)) {
        memcpy(out, end, len);
        ((struct sockaddr_in *)out)->sin_port = htons(port); /* sin6_port is at the same offset */
    }
    return len;
}

int64_t unsock_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0; /* cannot fail for CLOCK_MONOTONIC; bounds stay finite */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint16_t unsock_pseudo_port(void)
{
    /* Cycle through the kernel's default ephemeral range, from a random
     * start so that two processes rarely report the same ports. */
    static _Atomic unsigned counter;
    static _Atomic bool seeded;
    if (!atomic_load_explicit(&seeded, memory_order_relaxed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned expected = 0;
        atomic_compare_exchange_strong(&counter, &expected, (unsigned)ts.tv_nsec);
        atomic_store(&seeded, true);
    }
    unsigned n = atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
    return (uint16_t)(32768 + n % (60999 - 32768 + 1));
}

int unsock_copy_out(void *dst, socklen_t *dstlen, const void *src, socklen_t srclen, bool report_full)
{
    if (dstlen == NULL) {
        errno = EFAULT;
        return -1;
    }
    if ((int)*dstlen < 0) {
        errno = EINVAL;
        return -1;
    }
    socklen_t n = *dstlen < srclen ? *dstlen : srclen;
    if (n > 0) {
        if (dst == NULL) {
            errno = EFAULT;
            return -1;
        }
        memcpy(dst, src, n);
    }
    *dstlen = report_full ? srclen : n;
    return 0;
}

/* The address a process has toward `toward`, by the configuration. */
static socklen_t client_address(const struct sockaddr_storage *toward, pid_t pid, uid_t uid, uint16_t port,
                                struct sockaddr_storage *out)
{
    return unsock_cfg.peer_loopback ? unsock_other_end(toward, port, out)
                                    : unsock_client_address(toward, pid, uid, port, out);
}

socklen_t unsock_name_client(int sock, const struct sockaddr *dest, pid_t pid, uid_t uid,
                             struct sockaddr_storage *local)
{
    int saved = errno;
    struct sockaddr_storage toward;
    memcpy(&toward, dest, unsock_inet_len(dest->sa_family));
    socklen_t named = 0;
    for (int tries = 0; tries < 32 && named == 0; tries++) {
        struct sockaddr_un un;
        socklen_t len = client_address(&toward, pid, uid, unsock_pseudo_port(), local);
        if (unsock_real.bind(sock, (const struct sockaddr *)&un, unsock_client_name(local, pid, &un)) == 0)
            named = len;
        else if (errno != EADDRINUSE)
            break;
    }
    errno = saved;
    return named;
}

socklen_t unsock_accepted_peer(int conn, int family, const struct sockaddr_storage *local, socklen_t local_len,
                               const struct sockaddr_un *un, socklen_t len, const char *what,
                               struct sockaddr_storage *out)
{
    struct sockaddr_storage named;
    socklen_t nlen, got = 0;
    if (unsock_client_name_parse(un, len, &named, &nlen))
        got = unsock_address_as(family, &named, out);
    struct ucred cred = {0};
    socklen_t clen = sizeof(cred);
    bool know = (got == 0 || unsock_cfg.debug) &&
                unsock_real.getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0;
    if (got == 0) {
        struct sockaddr_storage toward = *local;
        if (local_len == 0)
            toward.ss_family = (sa_family_t)family;
        got = client_address(&toward, cred.pid, cred.uid, unsock_pseudo_port(), out);
    }
    if (unsock_cfg.debug) {
        char where[160];
        unsock_addr_describe((const struct sockaddr *)out, got, where, sizeof(where));
        if (know)
            unsock_log_line("%s: peer %s is pid %d uid %u", what, where, (int)cred.pid, (unsigned)cred.uid);
        else
            unsock_log_line("%s: peer %s", what, where);
    }
    return got;
}
