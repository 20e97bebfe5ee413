/* Non-blocking connect to a covered address behaves as on TCP.
 * Usage: nbconnect COVERED_IP SOCKDIR */
#include "probe.h"

#include <poll.h>

static int nb_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    MUST(fd);
    return fd;
}

static int nb_connect(int fd, const char *ip, int port)
{
    struct sockaddr_in a = inet_addr_port(ip, port);
    return connect(fd, (struct sockaddr *)&a, sizeof(a));
}

static int so_error(int fd)
{
    int err = -1;
    socklen_t len = sizeof(err);
    MUST(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len));
    return err;
}

static void wait_fd(int fd, short events)
{
    struct pollfd p = {fd, events, 0};
    CHECK(poll(&p, 1, 10000) == 1 && (p.revents & events), "poll fd %d for %#x: %#x", fd, events, p.revents);
    CHECK(!(p.revents & (POLLERR | POLLHUP)), "fd %d: revents %#x", fd, p.revents);
}

static void exchange(int c, int l)
{
    wait_fd(l, POLLIN);
    int a = accept(l, NULL, NULL);
    MUST(a);
    write_all(c, "ping", 4);
    char buf[4];
    read_exact(a, buf, 4);
    CHECK(memcmp(buf, "ping", 4) == 0, "server got other data");
    write_all(a, "pong", 4);
    wait_fd(c, POLLIN);
    read_exact(c, buf, 4);
    CHECK(memcmp(buf, "pong", 4) == 0, "client got other data");
    close(a);
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: nbconnect COVERED_IP SOCKDIR");
    const char *ip = argv[1], *dir = argv[2];
    int l = listener(ip, 0);
    int port = port_of(l);

    /* 0 or EINPROGRESS, then POLLOUT, SO_ERROR 0, data both ways. */
    int c = nb_socket();
    int r = nb_connect(c, ip, port);
    CHECK(r == 0 || errno == EINPROGRESS, "non-blocking connect returned %d", r);
    wait_fd(c, POLLOUT);
    CHECK(so_error(c) == 0, "SO_ERROR %d", so_error(c));
    /* Connecting again reports the established connection, as TCP does. */
    CHECK(nb_connect(c, ip, port) != 0 && errno == EISCONN, "second connect");
    exchange(c, l);
    close(c);

    /* A full backlog: EAGAIN (unix) or EINPROGRESS (TCP); after EAGAIN the
     * connect can simply be retried once the server accepted. */
    int small = socket(AF_INET, SOCK_STREAM, 0);
    MUST(small);
    struct sockaddr_in sa = inet_addr_port(ip, 0);
    MUST(bind(small, (struct sockaddr *)&sa, sizeof(sa)));
    MUST(listen(small, 0));
    int sport = port_of(small);
    int pending[16], n = 0, blocked = -1;
    for (; n < 16; n++) {
        pending[n] = nb_socket();
        if (nb_connect(pending[n], ip, sport) != 0) {
            CHECK(errno == EAGAIN || errno == EINPROGRESS, "connect to a full backlog");
            if (errno == EAGAIN) {
                blocked = pending[n];
                break;
            }
        }
    }
    CHECK(blocked >= 0, "the backlog never filled");
    int a = accept(small, NULL, NULL);
    MUST(a);
    close(a);
    r = nb_connect(blocked, ip, sport);
    CHECK(r == 0 || errno == EINPROGRESS, "retry after EAGAIN returned %d", r);
    wait_fd(blocked, POLLOUT);
    CHECK(so_error(blocked) == 0, "SO_ERROR after retry");
    for (int i = 0; i <= n; i++)
        close(pending[i]);
    close(small);

    /* Nobody listening: ECONNREFUSED, never ENOENT; blocking or not. */
    for (int nb = 0; nb < 2; nb++) {
        c = nb ? nb_socket() : socket(AF_INET, SOCK_STREAM, 0);
        MUST(c);
        r = nb_connect(c, ip, 9);
        if (r != 0 && errno == EINPROGRESS) {
            struct pollfd p = {c, POLLOUT, 0};
            CHECK(poll(&p, 1, 10000) == 1, "poll");
            errno = so_error(c);
        }
        CHECK(r != 0 && errno == ECONNREFUSED, "connect to a missing socket file: %d", r);
        close(c);
    }

    /* A stale socket file nobody listens on: ECONNREFUSED. */
    char path[200];
    snprintf(path, sizeof(path), "%s/10.sock", dir);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    MUST(u);
    struct sockaddr_un un = unix_addr(path);
    MUST(bind(u, (struct sockaddr *)&un, sizeof(un)));
    close(u);
    c = nb_socket();
    CHECK(nb_connect(c, ip, 10) != 0 && errno == ECONNREFUSED, "connect to a stale socket file");
    close(c);
    unlink(path);

    /* The refused socket was left as it was: it can connect afterwards. */
    c = nb_socket();
    CHECK(nb_connect(c, ip, 9) != 0 && errno == ECONNREFUSED, "refused");
    r = nb_connect(c, ip, port);
    CHECK(r == 0 || errno == EINPROGRESS, "connect after a refused one");
    wait_fd(c, POLLOUT);
    exchange(c, l);
    close(c);
    close(l);
    puts("ok");
    return 0;
}
