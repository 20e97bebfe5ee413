/* Bulk throughput: the client writes TOTAL bytes in CHUNK-sized writes, shuts
 * down its sending side and waits for the server's byte count; the time runs
 * from the first write to that acknowledgement.
 *
 *   bulk server ADDR
 *   bulk client ADDR TOTAL CHUNK      -> {"bytes": N, "seconds": S}
 */
#include "bench.h"

static _Noreturn void server(const struct addr *a)
{
    int lfd = listen_on(a);
    for (;;) {
        int c = accept_or_exit(lfd);
        static char buf[1 << 18];
        uint64_t total = 0;
        for (;;) {
            ssize_t r = read(c, buf, sizeof(buf));
            if (r < 0) {
                if (errno == EINTR && !bench_stop)
                    continue;
                die("read");
            }
            if (r == 0)
                break;
            total += (uint64_t)r;
        }
        write_all(c, &total, sizeof(total));
        close(c);
    }
}

static int client(const struct addr *a, uint64_t total, size_t chunk)
{
    char *buf = malloc(chunk);
    if (buf == NULL)
        die("malloc");
    memset(buf, 'x', chunk);
    int fd = connect_to(a);
    uint64_t t0 = now_ns();
    for (uint64_t left = total; left > 0;) {
        size_t n = left < chunk ? (size_t)left : chunk;
        write_all(fd, buf, n);
        left -= n;
    }
    if (shutdown(fd, SHUT_WR) != 0)
        die("shutdown");
    uint64_t got;
    if (!read_full(fd, &got, sizeof(got)))
        die("no acknowledgement from the server");
    uint64_t t1 = now_ns();
    if (got != total) {
        errno = 0;
        die("server received %llu of %llu bytes", (unsigned long long)got, (unsigned long long)total);
    }
    printf("{\"bytes\": %llu, \"seconds\": %.9f}\n", (unsigned long long)total, (double)(t1 - t0) / 1e9);
    close(fd);
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
        return client(&a, strtoull(argv[3], NULL, 0), (size_t)strtoull(argv[4], NULL, 0));
    }
    fprintf(stderr, "usage: bulk server ADDR | bulk client ADDR TOTAL CHUNK\n");
    return 2;
}
