/* Connection rate: N sequential connections, each sending 1 byte and
 * receiving 1 byte, then closing. "client-first": the client closes right
 * after the reply and the server closes on EOF. "server-first": the server
 * closes right after replying and the client closes on EOF.
 *
 *   connrate server ADDR MODE
 *   connrate client ADDR N MODE       -> {"connections": N, "seconds": S}
 */
#include "bench.h"

static int server_first(const char *mode)
{
    if (strcmp(mode, "server-first") == 0)
        return 1;
    if (strcmp(mode, "client-first") == 0)
        return 0;
    errno = 0;
    die("mode must be client-first or server-first, not '%s'", mode);
    return 0;
}

static _Noreturn void server(const struct addr *a, int sfirst)
{
    int lfd = listen_on(a);
    for (;;) {
        int c = accept_or_exit(lfd);
        char b;
        if (read_full(c, &b, 1)) {
            write_all(c, &b, 1);
            if (!sfirst && read_full(c, &b, 1)) {
                errno = 0;
                die("unexpected data after the request");
            }
        }
        close(c);
    }
}

static int client(const struct addr *a, long n, int sfirst)
{
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int fd = connect_to(a);
        char b = 'x';
        write_all(fd, &b, 1);
        if (!read_full(fd, &b, 1)) {
            errno = 0;
            die("connection %ld: EOF instead of the reply", i);
        }
        if (sfirst && read_full(fd, &b, 1)) {
            errno = 0;
            die("connection %ld: data instead of EOF", i);
        }
        close(fd);
    }
    uint64_t t1 = now_ns();
    printf("{\"connections\": %ld, \"seconds\": %.9f}\n", n, (double)(t1 - t0) / 1e9);
    return 0;
}

int main(int argc, char **argv)
{
    bench_signals();
    struct addr a;
    if (argc == 4 && strcmp(argv[1], "server") == 0) {
        parse_addr(argv[2], &a);
        server(&a, server_first(argv[3]));
    }
    if (argc == 5 && strcmp(argv[1], "client") == 0) {
        parse_addr(argv[2], &a);
        return client(&a, atol(argv[3]), server_first(argv[4]));
    }
    fprintf(stderr, "usage: connrate server ADDR MODE | connrate client ADDR N MODE\n");
    return 2;
}
