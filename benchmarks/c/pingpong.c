/* Latency: 1-byte ping-pong over one connection (TCP_NODELAY on TCP), the
 * client taking turns (bench.h, repeat): a round trip after another.
 *
 *   pingpong server ADDR
 *   pingpong client ADDR turns:MS     -> a line per turn: "COUNT NANOSECONDS P50_NS P99_NS"
 */
#include "bench.h"

static _Noreturn void server(const struct addr *a)
{
    int lfd = listen_on(a);
    for (;;) {
        int c = accept_or_exit(lfd);
        nodelay(c, a);
        char b;
        while (read_full(c, &b, 1))
            write_all(c, &b, 1);
        close(c);
    }
}

struct pings {
    int fd;
    uint64_t *t; /* this turn's round trips, in nanoseconds */
    size_t n, cap;
};

static void round_trip(void *arg)
{
    struct pings *p = arg;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 4096;
        if ((p->t = realloc(p->t, p->cap * sizeof(*p->t))) == NULL)
            die("realloc");
    }
    char b = 'x';
    uint64_t t0 = now_ns();
    write_all(p->fd, &b, 1);
    if (!read_full(p->fd, &b, 1)) {
        errno = 0;
        die("EOF from the server");
    }
    p->t[p->n++] = now_ns() - t0;
}

static int cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* The turn's median and 99th percentile; the next turn starts afresh. */
static void percentiles(void *arg)
{
    struct pings *p = arg;
    qsort(p->t, p->n, sizeof(*p->t), cmp);
    printf(" %llu %llu", (unsigned long long)p->t[p->n / 2], (unsigned long long)p->t[p->n * 99 / 100]);
    p->n = 0;
}

static int client(const struct addr *a, const char *count)
{
    turns_only(count);
    struct pings p = {.fd = connect_to(a)};
    nodelay(p.fd, a);
    repeat(count, round_trip, percentiles, &p);
    close(p.fd);
    free(p.t);
    return 0;
}

int main(int argc, char **argv)
{
    bench_signals();
    struct addr a;
    if (argc == 3 && strcmp(argv[1], "server") == 0) {
        parse_addr(argv[2], &a);
        server(&a);
    }
    if (argc == 4 && strcmp(argv[1], "client") == 0) {
        parse_addr(argv[2], &a);
        return client(&a, argv[3]);
    }
    fprintf(stderr, "usage: pingpong server ADDR | pingpong client ADDR turns:MS\n");
    return 2;
}
