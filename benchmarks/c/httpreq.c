/* HTTP connection-per-request client: N sequential requests, each on a new
 * connection ("Connection: close"), reading the response to EOF and checking
 * its status line.
 *
 *   httpreq ADDR N PATH               -> {"requests": N, "seconds": S, "bytes": B}
 *   httpreq ADDR turns:MS PATH        -> a line per turn (bench.h, repeat)
 */
#include "bench.h"

struct request {
    const struct addr *a;
    const char *req;
    size_t len;
    uint64_t bytes;
};

static void one_request(void *arg)
{
    struct request *q = arg;
    static char buf[1 << 16];
    int fd = connect_to(q->a);
    write_all(fd, q->req, q->len);
    char head[64];
    size_t got = 0, hl = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("read");
        }
        if (r == 0)
            break;
        size_t take = sizeof(head) - 1 - hl < (size_t)r ? sizeof(head) - 1 - hl : (size_t)r;
        memcpy(head + hl, buf, take);
        hl += take;
        got += (size_t)r;
    }
    head[hl] = 0;
    if (strncmp(head, "HTTP/1.1 200", 12) != 0) {
        errno = 0;
        die("not a 200 response: '%s'", head);
    }
    q->bytes += got;
    close(fd);
}

int main(int argc, char **argv)
{
    bench_signals();
    if (argc != 4) {
        fprintf(stderr, "usage: httpreq ADDR N|turns:MS PATH\n");
        return 2;
    }
    struct addr a;
    parse_addr(argv[1], &a);
    char req[512];
    int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", argv[3]);
    if (rl < 0 || (size_t)rl >= sizeof(req)) {
        errno = 0;
        die("path too long");
    }
    struct request q = {&a, req, (size_t)rl, 0};
    double seconds = repeat(argv[2], one_request, NULL, &q);
    if (seconds >= 0)
        printf("{\"requests\": %ld, \"seconds\": %.9f, \"bytes\": %llu}\n", atol(argv[2]), seconds,
               (unsigned long long)q.bytes);
    return 0;
}
