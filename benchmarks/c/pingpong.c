/* Latency: 1-byte ping-pong over one connection (TCP_NODELAY on TCP).
 * WARMUP untimed round trips, then N timed ones.
 *
 *   pingpong server ADDR
 *   pingpong client ADDR N WARMUP     -> {"p50_us": .., "p99_us": .., "mean_us": .., "min_us": ..}
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

static int cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int client(const struct addr *a, long n, long warmup)
{
    if (n < 1) {
        errno = 0;
        die("N must be positive");
    }
    uint64_t *t = malloc((size_t)n * sizeof(*t));
    if (t == NULL)
        die("malloc");
    int fd = connect_to(a);
    nodelay(fd, a);
    char b = 'x';
    for (long i = 0; i < warmup + n; i++) {
        uint64_t t0 = now_ns();
        write_all(fd, &b, 1);
        if (!read_full(fd, &b, 1)) {
            errno = 0;
            die("EOF from the server");
        }
        if (i >= warmup)
            t[i - warmup] = now_ns() - t0;
    }
    close(fd);
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += (double)t[i];
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("{\"p50_us\": %.3f, \"p99_us\": %.3f, \"mean_us\": %.3f, \"min_us\": %.3f}\n", (double)t[n / 2] / 1e3,
           (double)t[(size_t)((double)n * 0.99)] / 1e3, sum / (double)n / 1e3, (double)t[0] / 1e3);
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
    if (argc == 5 && strcmp(argv[1], "client") == 0) {
        parse_addr(argv[2], &a);
        return client(&a, atol(argv[3]), atol(argv[4]));
    }
    fprintf(stderr, "usage: pingpong server ADDR | pingpong client ADDR N WARMUP\n");
    return 2;
}
