/* A minimal HTTP/1.0 client: GET / from IP:PORT, the answer's body on stdout; exit 1 if the
 * connection fails. Usage: fetch IP PORT */
#include "../../shim/progs/probe.h"

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: fetch IP PORT");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    MUST(fd);
    struct sockaddr_in a = inet_addr_port(argv[1], atoi(argv[2]));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        fprintf(stderr, "fetch: connect: %s\n", strerror(errno));
        return 1;
    }
    const char req[] = "GET / HTTP/1.0\r\n\r\n";
    write_all(fd, req, sizeof(req) - 1);
    char resp[8192];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof(resp) - 1 && (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
        got += (size_t)r;
    resp[got] = '\0';
    const char *body = strstr(resp, "\r\n\r\n");
    CHECK(body != NULL, "no HTTP answer: %s", resp);
    fputs(body + 4, stdout);
    return 0;
}
