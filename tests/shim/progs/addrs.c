/* accept, accept4, getsockname and getpeername on converted sockets: AF_INET
 * addresses with the right ports, and NULL, short, zero, negative and long
 * length arguments handled exactly as the kernel handles them on TCP.
 * Usage: addrs COVERED_IP REAL_IP */
#include "probe.h"

#define SENTINEL 0xaa

struct outcome {
    int ok, err, len, family, overflow;
};

/* How a call left its arguments: result, errno, length, family, and whether
 * anything was written past the length the caller gave. */
static struct outcome observe(int ret, const unsigned char *buf, size_t bufsize, int lenin, int lenout)
{
    struct outcome o = {ret >= 0, ret >= 0 ? 0 : errno, lenout, -1, 0};
    if (ret >= 0 && lenin >= 2)
        o.family = buf[0] | buf[1] << 8;
    size_t from = lenin < 0 ? 0 : (size_t)lenin;
    for (size_t i = from; i < bufsize; i++)
        if (buf[i] != SENTINEL)
            o.overflow = 1;
    return o;
}

static void same(const char *what, struct outcome r, struct outcome k)
{
    EXPECT(r.ok == k.ok && r.err == k.err && r.len == k.len && r.family == k.family && r.overflow == k.overflow,
           "%s: TCP gives ok=%d errno=%d len=%d family=%d overflow=%d, converted ok=%d errno=%d len=%d family=%d "
           "overflow=%d",
           what, r.ok, r.err, r.len, r.family, r.overflow, k.ok, k.err, k.len, k.family, k.overflow);
}

enum { BUF, NULLBUF };

/* One accept variant on the listener l after a client connected. */
static struct outcome try_accept(const char *ip, int l, int four, int bufkind, int lenkind, int lenin, int flags)
{
    int c = connect_to(ip, port_of(l));
    unsigned char buf[64];
    memset(buf, SENTINEL, sizeof(buf));
    socklen_t len = (socklen_t)lenin;
    struct sockaddr *addr = bufkind == BUF ? (struct sockaddr *)buf : NULL;
    socklen_t *lenp = lenkind ? &len : NULL;
    errno = 0;
    int a = four ? accept4(l, addr, lenp, flags) : accept(l, addr, lenp);
    struct outcome o = observe(a, buf, sizeof(buf), bufkind == BUF ? lenin : 0, lenkind ? (int)len : -1);
    if (a >= 0) {
        if (flags & SOCK_NONBLOCK)
            EXPECT(fcntl(a, F_GETFL) & O_NONBLOCK, "accept4 SOCK_NONBLOCK lost");
        if (flags & SOCK_CLOEXEC)
            EXPECT(fcntl(a, F_GETFD) & FD_CLOEXEC, "accept4 SOCK_CLOEXEC lost");
        close(a);
    }
    close(c);
    return o;
}

typedef int (*name_fn)(int, struct sockaddr *, socklen_t *);

static struct outcome try_name(name_fn fn, int fd, int bufkind, int lenkind, int lenin)
{
    unsigned char buf[64];
    memset(buf, SENTINEL, sizeof(buf));
    socklen_t len = (socklen_t)lenin;
    errno = 0;
    int r = fn(fd, bufkind == BUF ? (struct sockaddr *)buf : NULL, lenkind ? &len : NULL);
    return observe(r, buf, sizeof(buf), bufkind == BUF ? lenin : 0, lenkind ? (int)len : -1);
}

struct variant {
    const char *name;
    int bufkind, lenkind, lenin;
};

static const struct variant variants[] = {
    {"full buffer", BUF, 1, 16},      {"long buffer", BUF, 1, 64},   {"short buffer", BUF, 1, 2},
    {"7-byte buffer", BUF, 1, 7},     {"zero length", BUF, 1, 0},    {"negative length", BUF, 1, -1},
    {"NULL length", BUF, 0, 0},       {"NULL address", NULLBUF, 1, 16}, {"NULL address, length 0", NULLBUF, 1, 0},
    {"NULL both", NULLBUF, 0, 0},
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static void check_addr(const char *what, const struct sockaddr_in *a, const char *ip, int port)
{
    char got[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &a->sin_addr, got, sizeof(got));
    EXPECT(a->sin_family == AF_INET, "%s: family %d", what, a->sin_family);
    EXPECT(strcmp(got, ip) == 0, "%s: address %s, expected %s", what, got, ip);
    if (port >= 0)
        EXPECT(ntohs(a->sin_port) == port, "%s: port %d, expected %d", what, ntohs(a->sin_port), port);
    else
        EXPECT(ntohs(a->sin_port) != 0, "%s: port 0", what);
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: addrs COVERED_IP REAL_IP");
    const char *ips[2] = {argv[2], argv[1]}; /* real TCP first */
    int l[2], c[2], a[2];
    for (int i = 0; i < 2; i++) {
        l[i] = listener(ips[i], 0);
        c[i] = connect_to(ips[i], port_of(l[i]));
        a[i] = accept(l[i], NULL, NULL);
        MUST(a[i]);
    }
    CHECK(is_unix_socket(l[1]) && is_unix_socket(c[1]) && is_unix_socket(a[1]), "not converted");
    CHECK(!is_unix_socket(l[0]), "converted");

    char what[128];
    for (size_t v = 0; v < NVARIANTS; v++) {
        const struct variant *x = &variants[v];
        snprintf(what, sizeof(what), "accept, %s", x->name);
        same(what, try_accept(ips[0], l[0], 0, x->bufkind, x->lenkind, x->lenin, 0),
             try_accept(ips[1], l[1], 0, x->bufkind, x->lenkind, x->lenin, 0));
        snprintf(what, sizeof(what), "accept4, %s", x->name);
#ifndef __GLIBC__
        /* musl retries an accept4 that failed EINVAL as accept, which waits for one more client */
        if (x->lenin >= 0)
#endif
            same(what, try_accept(ips[0], l[0], 1, x->bufkind, x->lenkind, x->lenin, SOCK_NONBLOCK | SOCK_CLOEXEC),
                 try_accept(ips[1], l[1], 1, x->bufkind, x->lenkind, x->lenin, SOCK_NONBLOCK | SOCK_CLOEXEC));
        struct {
            const char *name;
            name_fn fn;
            int *fds;
        } calls[] = {
            {"getsockname(listener)", getsockname, l}, {"getsockname(client)", getsockname, c},
            {"getsockname(accepted)", getsockname, a}, {"getpeername(listener)", getpeername, l},
            {"getpeername(client)", getpeername, c},   {"getpeername(accepted)", getpeername, a},
        };
        for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
            snprintf(what, sizeof(what), "%s, %s", calls[i].name, x->name);
            same(what, try_name(calls[i].fn, calls[i].fds[0], x->bufkind, x->lenkind, x->lenin),
                 try_name(calls[i].fn, calls[i].fds[1], x->bufkind, x->lenkind, x->lenin));
        }
    }

    /* The addresses themselves, on the converted sockets; the ephemeral end
     * shows 127.0.0.1, the source the kernel's loopback route gives. */
    const char *ip = ips[1], *loop = "127.0.0.1";
    int port = port_of(l[1]);
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    MUST(getsockname(l[1], (struct sockaddr *)&sa, &len));
    check_addr("getsockname(listener)", &sa, ip, port);
    len = sizeof(sa);
    MUST(getpeername(c[1], (struct sockaddr *)&sa, &len));
    check_addr("getpeername(client)", &sa, ip, port);
    len = sizeof(sa);
    MUST(getsockname(c[1], (struct sockaddr *)&sa, &len));
    check_addr("getsockname(client)", &sa, loop, -1);
    len = sizeof(sa);
    MUST(getsockname(a[1], (struct sockaddr *)&sa, &len));
    check_addr("getsockname(accepted)", &sa, ip, port);
    len = sizeof(sa);
    MUST(getpeername(a[1], (struct sockaddr *)&sa, &len));
    check_addr("getpeername(accepted)", &sa, loop, -1);
    int c2 = connect_to(ip, port);
    len = sizeof(sa);
    int a2 = accept(l[1], (struct sockaddr *)&sa, &len);
    MUST(a2);
    CHECK(len == sizeof(sa), "accept length %u", len);
    check_addr("accept", &sa, loop, -1);
    close(a2);
    close(c2);
    if (failures)
        return 1;
    puts("ok");
    return 0;
}
