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

    /* A full backlog, as on TCP: every connect is in progress or done, the
     * ones past the backlog are not writable until the server accepts
     * (never "done" before they are), connecting again meanwhile is
     * EALREADY, and each completes with SO_ERROR 0 once accepted. */
    int small = socket(AF_INET, SOCK_STREAM, 0);
    MUST(small);
    struct sockaddr_in sa = inet_addr_port(ip, 0);
    MUST(bind(small, (struct sockaddr *)&sa, sizeof(sa)));
    MUST(listen(small, 0));
    int sport = port_of(small);
    enum { CLIENTS = 4 };
    int pending[CLIENTS], waiting = -1;
    if (getenv("PROBE_FULL_BACKLOG_EAGAIN") != NULL) {
        /* The seccomp engine cannot leave a connect in progress: it waits
         * up to two seconds for room, then fails EAGAIN as unix does. */
        for (int i = 0; i < CLIENTS; i++) {
            pending[i] = nb_socket();
            r = nb_connect(pending[i], ip, sport);
            CHECK(i == 0 ? r == 0 || errno == EINPROGRESS : r != 0 && errno == EAGAIN,
                  "connect %d to a full backlog returned %d", i, r);
        }
        wait_fd(small, POLLIN);
        close(accept(small, NULL, NULL));
        for (int i = 0; i < CLIENTS; i++)
            close(pending[i]);
        close(small);
        goto refused;
    }
    for (int i = 0; i < CLIENTS; i++) {
        pending[i] = nb_socket();
        r = nb_connect(pending[i], ip, sport);
        CHECK(r == 0 || errno == EINPROGRESS, "connect to a full backlog returned %d", r);
    }
    usleep(100000);
    for (int i = 0; i < CLIENTS && waiting < 0; i++) {
        struct pollfd p = {pending[i], POLLOUT, 0};
        if (poll(&p, 1, 0) == 0)
            waiting = pending[i];
    }
    CHECK(waiting >= 0, "the backlog never filled");
    CHECK(so_error(waiting) == 0, "SO_ERROR while waiting");
    CHECK(nb_connect(waiting, ip, sport) != 0 && errno == EALREADY, "connect again while waiting");
    int accepted[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        wait_fd(small, POLLIN);
        MUST(accepted[i] = accept(small, NULL, NULL));
    }
    wait_fd(waiting, POLLOUT);
    CHECK(so_error(waiting) == 0, "SO_ERROR once accepted");
    for (int i = 0; i < CLIENTS; i++) {
        close(pending[i]);
        close(accepted[i]);
    }
    close(small);

refused:
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
