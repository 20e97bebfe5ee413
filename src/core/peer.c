#include "peer.h"

#include "addr.h"
#include "digits.h"

#include <stdio.h>
#include <string.h>

#define NAME_PREFIX "unsock:"

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t ULA_PREFIX[8] = {0xfd, 0x75, 0x6e, 0x73, 0x6f, 0x63, 0x6b, 0x00};

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* The IPv4 address of pid: 127.X.Y.Z, X.Y.Z = pid (Linux pids fit in 22 bits). */
static uint32_t v4_of(pid_t pid)
{
    return 0x7f000000u | ((uint32_t)pid & 0xffffffu);
}

socklen_t unsock_client_address(const struct sockaddr_storage *toward, pid_t pid, uid_t uid, uint16_t port,
                                struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (toward->ss_family == AF_INET6) {
        const struct in6_addr *t = &((const struct sockaddr_in6 *)toward)->sin6_addr;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        uint8_t *a = in6->sin6_addr.s6_addr;
        bool mapped = memcmp(t->s6_addr, V4_MAPPED, sizeof(V4_MAPPED)) == 0;
        uint32_t v4 = mapped ? (uint32_t)t->s6_addr[12] << 24 | (uint32_t)t->s6_addr[13] << 16 |
                                   (uint32_t)t->s6_addr[14] << 8 | t->s6_addr[15]
                             : 0;
        if (IN6_IS_ADDR_LOOPBACK(t) || IN6_IS_ADDR_UNSPECIFIED(t)) {
            in6->sin6_addr = in6addr_loopback;
        } else if (mapped && (v4 == INADDR_LOOPBACK || v4 == INADDR_ANY)) {
            memcpy(a, V4_MAPPED, sizeof(V4_MAPPED));
            put_be32(a + 12, INADDR_LOOPBACK);
        } else if (mapped) {
            memcpy(a, V4_MAPPED, sizeof(V4_MAPPED));
            put_be32(a + 12, v4_of(pid));
        } else {
            memcpy(a, ULA_PREFIX, sizeof(ULA_PREFIX));
            put_be32(a + 8, (uint32_t)uid);
            put_be32(a + 12, (uint32_t)pid);
        }
        return sizeof(*in6);
    }
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    uint32_t t = toward->ss_family == AF_INET ? ntohl(((const struct sockaddr_in *)toward)->sin_addr.s_addr) : 0;
    bool loopback = t == INADDR_LOOPBACK || t == INADDR_ANY;
    in->sin_addr.s_addr = htonl(loopback ? INADDR_LOOPBACK : v4_of(pid));
    return sizeof(*in);
}

/* What stays the same in a process's names from one connection to the next,
 * made once per thread for the last address and pid: "unsock:ADDR:" (or
 * "unsock:[ADDR6]:") and "/PID". Names are made per connection. */
struct name_parts {
    sa_family_t family;
    uint8_t addr[16];
    pid_t pid;
    size_t head_len, tail_len;
    char head[sizeof(NAME_PREFIX) + INET6_ADDRSTRLEN + 3];
    char tail[24];
};

static _Thread_local struct name_parts parts UNSOCK_TLS_HOT;

static void make_parts(const struct sockaddr *sa, const uint8_t *addr, size_t alen, pid_t pid)
{
    bool v6 = sa->sa_family == AF_INET6;
    char *p = parts.head;
    memcpy(p, NAME_PREFIX, sizeof(NAME_PREFIX) - 1);
    p += sizeof(NAME_PREFIX) - 1;
    if (v6)
        *p++ = '[';
    p += unsock_ip_text(sa, p);
    if (v6)
        *p++ = ']';
    *p++ = ':';
    parts.head_len = (size_t)(p - parts.head);
    parts.tail[0] = '/';
    parts.tail_len = 1 + unsock_decimal((unsigned long long)pid, parts.tail + 1);
    parts.family = sa->sa_family;
    memcpy(parts.addr, addr, alen);
    parts.pid = pid;
}

socklen_t unsock_client_name(const struct sockaddr_storage *addr, pid_t pid, struct sockaddr_un *out)
{
    const struct sockaddr *sa = (const struct sockaddr *)addr;
    bool v6 = sa->sa_family == AF_INET6;
    const uint8_t *a = v6 ? ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr
                          : (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
    size_t alen = v6 ? 16 : 4;
    if (parts.family != sa->sa_family || parts.pid != pid || memcmp(parts.addr, a, alen) != 0)
        make_parts(sa, a, alen, pid);
    /* "\0unsock:ADDR:PORT/PID": at most 1 + 7 + 47 + 3 + 5 + 11 bytes */
    out->sun_family = AF_UNIX;
    char *p = out->sun_path;
    *p++ = '\0';
    memcpy(p, parts.head, parts.head_len);
    p += parts.head_len;
    p += unsock_decimal(unsock_ip_port(sa), p);
    memcpy(p, parts.tail, parts.tail_len);
    p += parts.tail_len;
    return (socklen_t)(p - (char *)out);
}

/* Dotted IPv4 as unsock_ip_text writes it (no leading zeros) spanning s[0..len). */
static bool ipv4_parse(const char *s, size_t len, uint8_t out[4])
{
    const char *end = s + len;
    for (int i = 0; i < 4; i++) {
        const char *dot = i < 3 ? memchr(s, '.', (size_t)(end - s)) : end;
        unsigned long long v;
        if (dot == NULL || !unsock_digits(s, (size_t)(dot - s), 3, false, 255, &v))
            return false;
        out[i] = (uint8_t)v;
        s = dot + 1;
    }
    return true;
}

/* The host of an "ADDR" or "[ADDR6]" in out, port 0; false if it is neither. */
static bool host_parse(const char *s, size_t hlen, struct sockaddr_storage *out, socklen_t *outlen)
{
    memset(out, 0, sizeof(*out));
    if (hlen > 2 && s[0] == '[' && s[hlen - 1] == ']') {
        char host[INET6_ADDRSTRLEN];
        if (hlen - 2 >= sizeof(host))
            return false;
        memcpy(host, s + 1, hlen - 2);
        host[hlen - 2] = '\0';
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
        in6->sin6_family = AF_INET6;
        *outlen = sizeof(*in6);
        return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    in->sin_family = AF_INET;
    *outlen = sizeof(*in);
    return hlen > 0 && ipv4_parse(s, hlen, (uint8_t *)&in->sin_addr);
}

/* The last "ADDR:" read in this thread and its address: a server's clients
 * in one process share it, and only their ports differ. */
static _Thread_local struct {
    size_t len;
    char head[INET6_ADDRSTRLEN + 3];
    struct sockaddr_storage addr;
    socklen_t addr_len;
} seen UNSOCK_TLS_HOT;

bool unsock_client_name_parse(const struct sockaddr_un *un, socklen_t len, struct sockaddr_storage *out,
                              socklen_t *outlen)
{
    size_t off = offsetof(struct sockaddr_un, sun_path), prefix = sizeof(NAME_PREFIX) - 1;
    if (len <= off + 1 + prefix || len > sizeof(*un) || un->sun_path[0] != '\0' ||
        memcmp(un->sun_path + 1, NAME_PREFIX, prefix) != 0)
        return false;
    const char *s = un->sun_path + 1 + prefix; /* "ADDR:PORT/PID" */
    size_t n = len - off - 1 - prefix;
    const char *slash = memchr(s, '/', n);
    if (slash != NULL)
        n = (size_t)(slash - s);
    const char *colon;
    if (seen.len != 0 && n > seen.len && memcmp(s, seen.head, seen.len) == 0) {
        colon = s + seen.len - 1;
    } else {
        colon = NULL;
        for (size_t i = 0; i < n; i++)
            if (s[i] == ':')
                colon = s + i;
        size_t hlen = colon != NULL ? (size_t)(colon - s) : 0;
        if (colon == NULL || hlen + 1 >= sizeof(seen.head) || !host_parse(s, hlen, &seen.addr, &seen.addr_len)) {
            seen.len = 0;
            return false;
        }
        memcpy(seen.head, s, hlen + 1);
        seen.len = hlen + 1;
    }
    unsigned long long port;
    if (!unsock_digits(colon + 1, (size_t)(s + n - colon - 1), 5, false, 65535, &port))
        return false;
    memcpy(out, &seen.addr, sizeof(*out));
    ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port); /* sin6_port is at the same place */
    *outlen = seen.addr_len;
    return true;
}

pid_t unsock_client_name_pid(const struct sockaddr_un *un, socklen_t len)
{
    struct sockaddr_storage addr;
    socklen_t alen;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (!unsock_client_name_parse(un, len, &addr, &alen))
        return 0;
    const char *name = un->sun_path + 1, *end = un->sun_path + (len - off);
    const char *slash = memchr(name, '/', (size_t)(end - name));
    unsigned long long pid;
    if (slash == NULL || !unsock_digits(slash + 1, (size_t)(end - slash - 1), 10, false, 0x7fffffff, &pid))
        return 0;
    return (pid_t)pid;
}

socklen_t unsock_address_as(int family, const struct sockaddr_storage *addr, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (addr->ss_family == family) {
        memcpy(out, addr, unsock_inet_len(family));
        return unsock_inet_len(family);
    }
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
    if (family == AF_INET6 && addr->ss_family == AF_INET) {
        struct sockaddr_in6 *o = (struct sockaddr_in6 *)out;
        o->sin6_family = AF_INET6;
        o->sin6_port = in->sin_port;
        memcpy(o->sin6_addr.s6_addr, V4_MAPPED, sizeof(V4_MAPPED));
        memcpy(o->sin6_addr.s6_addr + 12, &in->sin_addr, 4);
        return sizeof(*o);
    }
    if (family == AF_INET && addr->ss_family == AF_INET6 &&
        memcmp(in6->sin6_addr.s6_addr, V4_MAPPED, sizeof(V4_MAPPED)) == 0) {
        struct sockaddr_in *o = (struct sockaddr_in *)out;
        o->sin_family = AF_INET;
        o->sin_port = in6->sin6_port;
        memcpy(&o->sin_addr, in6->sin6_addr.s6_addr + 12, 4);
        return sizeof(*o);
    }
    return 0;
}
