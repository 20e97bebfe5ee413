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
    puts("ok");
    return 0;
}
