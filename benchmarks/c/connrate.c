/* Connection rate: N sequential connections, each sending 1 byte and
 * receiving 1 byte, then closing. "client-first": the client closes right
 * after the reply and the server closes on EOF. "server-first": the server
 * closes right after replying and the client closes on EOF.
 *
 *   connrate server ADDR MODE
 *   connrate client ADDR N MODE       -> {"connections": N, "seconds": S}
 *   connrate client ADDR turns:MS MODE -> a line per turn (bench.h, repeat): what
 *                                         make bench times, the clients of all contenders
 *                                         taking turns
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

struct conn_args {
    const struct addr *a;
    int sfirst;
};

static void one_connection(void *arg)
{
    const struct conn_args *c = arg;
    int fd = connect_to(c->a);
    char b = 'x';
    write_all(fd, &b, 1);
    if (!read_full(fd, &b, 1)) {
        errno = 0;
        die("EOF instead of the reply");
    }
    if (c->sfirst && read_full(fd, &b, 1)) {
        errno = 0;
        die("data instead of EOF");
    }
    close(fd);
}

static int client(const struct addr *a, const char *count, int sfirst)
{
    struct conn_args c = {a, sfirst};
    double seconds = repeat(count, one_connection, NULL, &c);
    if (seconds >= 0)
        printf("{\"connections\": %ld, \"seconds\": %.9f}\n", atol(count), seconds);
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
        return client(&a, argv[3], server_first(argv[4]));
    }
    fprintf(stderr, "usage: connrate server ADDR MODE | connrate client ADDR N|turns:MS MODE\n");
    return 2;
}
