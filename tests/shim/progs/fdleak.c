/* 1000 converted connects, accepts and closes; 200 converted listeners;
 * failed connects: the number of open descriptors does not grow.
 * Usage: fdleak COVERED_IP */
#include "probe.h"

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: fdleak COVERED_IP");
    const char *ip = argv[1];
    int l = listener(ip, 0);
    int port = port_of(l);
    int before = count_fds();
    for (int i = 0; i < 1000; i++) {
        int c = connect_to(ip, port);
        int a = accept(l, NULL, NULL);
        MUST(a);
        MUST(close(c));
        char ch;
        CHECK(read(a, &ch, 1) == 0, "no EOF");
        MUST(close(a));
    }
    CHECK(count_fds() == before, "connects: %d descriptors, %d before", count_fds(), before);
    for (int i = 0; i < 200; i++)
        MUST(close(listener(ip, 0)));
    CHECK(count_fds() == before, "listeners: %d descriptors, %d before", count_fds(), before);
    /* Failures on the temporary socket must close it too. */
    MUST(close(l));
    for (int i = 0; i < 200; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        MUST(c);
        struct sockaddr_in a = inet_addr_port(ip, port);
        CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) != 0 && errno == ECONNREFUSED, "refused");
        MUST(close(c));
    }
    int busy = listener(ip, 0);
    for (int i = 0; i < 200; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        MUST(s);
        struct sockaddr_in a = inet_addr_port(ip, port_of(busy));
        CHECK(bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 && errno == EADDRINUSE, "in use");
        MUST(close(s));
    }
    MUST(close(busy));
    CHECK(count_fds() == before - 1, "failures: %d descriptors, %d before", count_fds(), before - 1);

    /* Daemons close stdin: the temporary socket then gets descriptor 0. */
    MUST(close(0));
    int n = count_fds();
    l = listener(ip, 0);
    CHECK(l == 0, "listener got fd %d", l);
    CHECK(is_unix_socket(l), "listener on fd 0 was not converted");
    int c = connect_to(ip, port_of(l));
    CHECK(is_unix_socket(c), "client was not converted");
    int a = accept(l, NULL, NULL);
    MUST(a);
    CHECK(count_fds() == n + 3, "%d descriptors for 3 sockets, %d before", count_fds(), n);
    MUST(close(c));
    MUST(close(a));
    /* Now with descriptor 0 free while a socket is converted. */
    int l2 = listener(ip, 0);
    int c2 = socket(AF_INET, SOCK_STREAM, 0), b2 = socket(AF_INET, SOCK_STREAM, 0);
    MUST(c2);
    MUST(b2);
    MUST(close(l));
    struct sockaddr_in to = inet_addr_port(ip, port_of(l2));
    MUST(connect(c2, (struct sockaddr *)&to, sizeof(to)));
    CHECK(is_unix_socket(c2), "client was not converted with fd 0 free");
    struct sockaddr_in any = inet_addr_port(ip, 0);
    MUST(bind(b2, (struct sockaddr *)&any, sizeof(any)));
    CHECK(is_unix_socket(b2), "listener was not converted with fd 0 free");
    CHECK(fcntl(0, F_GETFD) < 0 && errno == EBADF, "descriptor 0 left open");
    puts("ok");
    return 0;
}
