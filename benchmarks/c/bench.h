/* Shared helpers of the benchmark programs: address parsing, listening,
 * connecting, full reads and writes, a monotonic clock, clean exit on SIGTERM.
 *
 * An address is "tcp:HOST:PORT" or "unix:PATH". The programs know nothing of
 * unsock: under the shim a "tcp:127.0.0.1:PORT" socket silently becomes a unix
 * socket, which is the point of the exercise. */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static inline _Noreturn void die(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (saved != 0)
        fprintf(stderr, ": %s", strerror(saved));
    fputc('\n', stderr);
    exit(1);
}

static inline void parse_addr(const char *spec, struct addr *a)
{
    memset(a, 0, sizeof(*a));
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
        size_t n = strlen(spec + 5);
        if (n == 0 || n >= sizeof(un->sun_path)) {
            errno = 0;
            die("bad unix address '%s'", spec);
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, spec + 5, n + 1);
        memcpy(a->path, spec + 5, n + 1);
        a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
        a->family = AF_UNIX;
        return;
    }
    if (strncmp(spec, "tcp:", 4) == 0) {
        char host[64];
        const char *colon = strrchr(spec + 4, ':');
        struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
        size_t hl = colon ? (size_t)(colon - (spec + 4)) : 0;
        if (colon == NULL || hl == 0 || hl >= sizeof(host)) {
            errno = 0;
            die("bad tcp address '%s'", spec);
        }
        memcpy(host, spec + 4, hl);
        host[hl] = 0;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
            errno = 0;
            die("bad IPv4 address '%s'", host);
        }
        a->len = sizeof(*in);
        a->family = AF_INET;
        return;
    }
    errno = 0;
    die("address '%s' is neither tcp:HOST:PORT nor unix:PATH", spec);
}

static volatile sig_atomic_t bench_stop;

static void bench_on_term(int sig)
{
    (void)sig;
    bench_stop = 1;
}

/* SIGTERM interrupts blocking calls (no SA_RESTART); loops then exit(0), so
 * that exit handlers (the shim's socket file clean-up) run. */
static inline void bench_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = bench_on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static inline int listen_on(const struct addr *a)
{
    int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (a->family == AF_INET) {
        int one = 1; /* what every TCP server does */
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
            die("setsockopt SO_REUSEADDR");
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0)
        die("bind");
    if (listen(fd, 4096) != 0)
        die("listen");
    return fd;
}

static inline int connect_to(const struct addr *a)
{
    int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) != 0)
        die("connect");
    return fd;
}

/* TCP_NODELAY on TCP sockets (as latency-sensitive programs do); unix
 * sockets have no Nagle algorithm. */
static inline void nodelay(int fd, const struct addr *a)
{
    int one = 1;
    if (a->family == AF_INET && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        die("setsockopt TCP_NODELAY");
}

static inline void write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR && !bench_stop)
                continue;
            die("write");
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Reads exactly n bytes; returns 0 at EOF before the first byte. */
static inline int read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR && !bench_stop)
                continue;
            die("read");
        }
        if (r == 0) {
            if (got == 0)
                return 0;
            errno = 0;
            die("short read: EOF after %zu of %zu bytes", got, n);
        }
        got += (size_t)r;
    }
    return 1;
}

static inline uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* accept that exits cleanly on SIGTERM. */
static inline int accept_or_exit(int lfd)
{
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0)
            return c;
        if (bench_stop)
            exit(0);
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        die("accept");
    }
}

/* count is N or "turns:MS". N: one() N times, returning the seconds they
 * took. "turns:MS": the runner (benchmarks/runner.py) lets the clients of all
 * contenders take turns, one at a time, so that the machine's slow and fast
 * moments fall on all of them alike; for each byte read from stdin, one()
 * again and again for MS milliseconds, then "COUNT NANOSECONDS" on a line of
 * stdout, followed by what more() prints of the turn if it is given (which
 * then starts the next afresh), until EOF on stdin; returns -1. */
static inline double repeat(const char *count, void (*one)(void *), void (*more)(void *), void *arg)
{
    if (strncmp(count, "turns:", 6) != 0) {
        long n = atol(count);
        uint64_t t0 = now_ns();
        for (long i = 0; i < n; i++)
            one(arg);
        return (double)(now_ns() - t0) / 1e9;
    }
    long ms = atol(count + 6);
    if (ms <= 0) {
        errno = 0;
        die("bad turn length '%s'", count);
    }
    char go;
    uint64_t span = (uint64_t)ms * 1000000u;
    for (;;) {
        ssize_t r = read(0, &go, 1);
        if (r < 0 && errno == EINTR && !bench_stop)
            continue;
        if (r < 0)
            die("read of the turn");
        if (r == 0)
            return -1;
        uint64_t t0 = now_ns(), t = t0;
        long done = 0;
        while (t - t0 < span) {
            one(arg);
            done++;
            t = now_ns();
        }
        printf("%ld %llu", done, (unsigned long long)(t - t0));
        if (more != NULL)
            more(arg);
        putchar('\n');
        if (fflush(stdout) != 0)
            die("write of the turn's result");
    }
}

/* count must be "turns:MS" (a client that only takes turns). */
static inline void turns_only(const char *count)
{
    if (strncmp(count, "turns:", 6) != 0) {
        errno = 0;
        die("this client takes turns only: turns:MS, not '%s'", count);
    }
}

#endif
