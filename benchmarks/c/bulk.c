/* Bulk throughput: the client writes CHUNK-sized writes over one connection,
 * taking turns (bench.h, repeat); at the end it shuts down its sending side
 * and checks the server's byte count against what it wrote.
 *
 *   bulk server ADDR
 *   bulk client ADDR turns:MS CHUNK   -> a line per turn: "WRITES NANOSECONDS"
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

struct writes {
    int fd;
    char *buf;
    size_t chunk;
    uint64_t total;
};

static void one_write(void *arg)
{
    struct writes *w = arg;
    write_all(w->fd, w->buf, w->chunk);
    w->total += w->chunk;
}

static int client(const struct addr *a, const char *count, size_t chunk)
{
    turns_only(count);
    if (chunk == 0) {
        errno = 0;
        die("CHUNK must be positive");
    }
    struct writes w = {.fd = connect_to(a), .buf = malloc(chunk), .chunk = chunk};
    if (w.buf == NULL)
        die("malloc");
    memset(w.buf, 'x', chunk);
    repeat(count, one_write, NULL, &w);
    if (shutdown(w.fd, SHUT_WR) != 0)
        die("shutdown");
    uint64_t got;
    if (!read_full(w.fd, &got, sizeof(got)))
        die("no acknowledgement from the server");
    if (got != w.total) {
        errno = 0;
        die("server received %llu of %llu bytes", (unsigned long long)got, (unsigned long long)w.total);
    }
    close(w.fd);
    free(w.buf);
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
        return client(&a, argv[3], (size_t)strtoull(argv[4], NULL, 0));
    }
    fprintf(stderr, "usage: bulk server ADDR | bulk client ADDR turns:MS CHUNK\n");
    return 2;
}
