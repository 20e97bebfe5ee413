/* bind or connect to a covered port whose DIR/PORT.sock is not a socket
 * (a control file, good or bad, or some other kind of file), then check that
 * the same descriptor still works on another covered port served normally.
 * Usage: ctlerrors connect|connect-nb|bind COVERED_IP PORT OTHER_PORT
 * Prints "result 0" or "result ERRNO", then (after a failure other than
 * EINPROGRESS) "reused" once the descriptor carried a byte each way through
 * OTHER_PORT. */
#include "probe.h"

#include <poll.h>

static void exchange(int c, int l)
{
    int a = accept(l, NULL, NULL);
    MUST(a);
    write_all(c, "p", 1);
    char b;
    read_exact(a, &b, 1);
    CHECK(b == 'p', "got %c", b);
    write_all(a, "q", 1);
    read_exact(c, &b, 1);
    CHECK(b == 'q', "got %c", b);
    close(a);
}

int main(int argc, char **argv)
{
    CHECK(argc == 5, "usage: ctlerrors connect|connect-nb|bind IP PORT OTHER_PORT");
    const char *mode = argv[1], *ip = argv[2];
    int port = atoi(argv[3]), other = atoi(argv[4]);
    int binding = strcmp(mode, "bind") == 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    MUST(fd);
    if (strcmp(mode, "connect-nb") == 0)
        MUST(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK));
    struct sockaddr_in a = inet_addr_port(ip, port);
    int r = binding ? bind(fd, (struct sockaddr *)&a, sizeof(a)) : connect(fd, (struct sockaddr *)&a, sizeof(a));
    int err = r == 0 ? 0 : errno;
    printf("result %d %s\n", err, strerror(err)); /* this libc's text, as the shim's log has it */
    fflush(stdout);
    if (r == 0 || errno == EINPROGRESS)
        return 0; /* accepted: the descriptor now belongs to the file's destination */
    CHECK(fcntl(fd, F_GETFD) >= 0, "fd %d closed by the failed %s", fd, mode);
    struct sockaddr_in b = inet_addr_port(ip, other);
    if (binding) {
        MUST(bind(fd, (struct sockaddr *)&b, sizeof(b)));
        MUST(listen(fd, 8));
        CHECK(port_of(fd) == other, "bound to port %d", port_of(fd));
        int c = connect_to(ip, other);
        exchange(c, fd);
        close(c);
    } else {
        int l = listener(ip, other);
        r = connect(fd, (struct sockaddr *)&b, sizeof(b));
        if (r != 0 && errno == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            CHECK(poll(&p, 1, 5000) == 1, "poll");
        } else {
            MUST(r);
        }
        if (strcmp(mode, "connect-nb") == 0)
            MUST(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK));
        exchange(fd, l);
        close(l);
    }
    CHECK(is_unix_socket(fd), "fd %d was not converted on port %d", fd, other);
    close(fd);
    printf("reused\n");
    return 0;
}
