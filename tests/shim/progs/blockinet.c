/* What UNSOCK_BLOCK_INET=1 and UNSOCK_BLOCK_INET6=1 do to C calls.
 * Usage: blockinet COVERED_IP REAL_IP */
#include "probe.h"

static int err_of(int r)
{
    return r == 0 ? 0 : errno;
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: blockinet COVERED_IP REAL_IP");
    struct sockaddr_in real = inet_addr_port(argv[2], 9);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    MUST(s);
    printf("connect=%d\n", err_of(connect(s, (struct sockaddr *)&real, sizeof(real))));
    printf("bind=%d\n", err_of(bind(s, (struct sockaddr *)&real, sizeof(real))));
    printf("short=%d\n", err_of(bind(s, (struct sockaddr *)&real, sizeof(real) - 4)));
    close(s);
    int r = socket(AF_INET6, SOCK_STREAM, 0);
    printf("inet6=%d\n", r >= 0 ? 0 : errno);
    int l = listener(argv[1], 0);
    int c = connect_to(argv[1], port_of(l));
    printf("covered=%d\n", is_unix_socket(c) ? 0 : -1);
    return 0;
}
