#include "sockaddr.h"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

static bool in_ranges(int family, const uint8_t *ip)
{
    for (size_t i = 0; i < unsock_cfg.nranges; i++) {
        const struct unsock_range *r = &unsock_cfg.ranges[i];
        if (r->family == family && prefix_match(ip, r->addr, r->prefix))
            return true;
    }
    return false;
}

static bool v4_mapped(const struct in6_addr *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->s6_addr, prefix, sizeof(prefix)) == 0;
}

bool unsock_addr_covered(const struct sockaddr *addr, socklen_t len, uint16_t *port)
{
    if (addr == NULL)
        return false;
    uint16_t p;
    if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        if (!in_ranges(AF_INET, (const uint8_t *)&in->sin_addr))
            return false;
        p = ntohs(in->sin_port);
    } else if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        /* IPv4-mapped addresses (::ffff:a.b.c.d, as Java uses) are IPv4. */
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        if (!in_ranges(AF_INET6, in6->sin6_addr.s6_addr) &&
            !(v4_mapped(&in6->sin6_addr) && in_ranges(AF_INET, in6->sin6_addr.s6_addr + 12)))
            return false;
        p = ntohs(in6->sin6_port);
    } else {
        return false;
    }
    if (unsock_cfg.port >= 0 && p != unsock_cfg.port)
        return false;
    *port = p;
    return true;
}

bool unsock_addr_blocked(const struct sockaddr *addr, socklen_t len)
{
    /* A malformed address is left to the kernel to reject as such. */
    if (addr == NULL || !unsock_cfg.block_inet)
        return false;
    if (addr->sa_family == AF_INET)
        return len >= sizeof(struct sockaddr_in);
    return addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6) &&
           v4_mapped(&((const struct sockaddr_in6 *)addr)->sin6_addr);
}

socklen_t unsock_inet_len(int family)
{
    return family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static const char *suffix(int type)
{
    return type == SOCK_DGRAM ? ".udp" : ".sock";
}

socklen_t unsock_port_sockaddr(uint16_t port, int type, struct sockaddr_un *out)
{
    memset(out, 0, sizeof(*out));
    out->sun_family = AF_UNIX;
    /* Cannot truncate: the config guarantees dir_len + "/65535.sock" fits. */
    int n = snprintf(out->sun_path, sizeof(out->sun_path), "%s/%u%s", unsock_cfg.dir, (unsigned)port, suffix(type));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
}

int unsock_path_port(const char *path, size_t len)
{
    size_t dl = unsock_cfg.dir_len;
    if (len <= dl + 1 || memcmp(path, unsock_cfg.dir, dl) != 0 || path[dl] != '/')
        return -1;
    const char *p = path + dl + 1, *end = path + len;
    unsigned port = 0;
    size_t digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 6) {
        port = port * 10 + (unsigned)(*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || port > 65535)
        return -1;
    for (int type = SOCK_STREAM; type <= SOCK_DGRAM; type++) {
        size_t n = strlen(suffix(type));
        if ((size_t)(end - p) >= n && memcmp(p, suffix(type), n) == 0 && (p + n == end || p[n] == '\0'))
            return (int)port;
    }
    return -1;
}

socklen_t unsock_fake_addr(uint16_t port, struct sockaddr_storage *out)
{    memset(out, 0, sizeof(*out));
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

socklen_t unsock_reply_addr(const struct sockaddr_storage *end, uint16_t port, struct sockaddr_storage *out)
{
    socklen_t len = unsock_other_end(end, port, out);
    uint16_t ignored;
    if (!unsock_addr_covered((const struct sockaddr *)out, len, &ignored) &&
        unsock_addr_covered((const struct sockaddr *)end, len, &ignored)) {
        memcpy(out, end, len);
        ((struct sockaddr_in *)out)->sin_port = htons(port); /* sin6_port is at the same offset */
    }
    return len;
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
