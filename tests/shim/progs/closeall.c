/* Converted listeners closed wholesale by closefrom() and close_range()
 * lose their socket files like on close(); CLOSE_RANGE_CLOEXEC closes
 * nothing. Usage: closeall COVERED_IP SOCKDIR */
#include "probe.h"

#include <linux/close_range.h>

static int exists(const char *dir, int port)
{
    char path[200];
    snprintf(path, sizeof(path), "%s/%d.sock", dir, port);
    return access(path, F_OK) == 0;
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: closeall COVERED_IP SOCKDIR");
    const char *ip = argv[1], *dir = argv[2];

    int l = listener(ip, 0), port = port_of(l);
    MUST(dup2(l, 60));
    MUST(close_range(3, ~0u, CLOSE_RANGE_CLOEXEC));
    CHECK(exists(dir, port), "CLOSE_RANGE_CLOEXEC removed the file");
    MUST(close_range(3, ~0u, 0));
    CHECK(!exists(dir, port), "close_range left the file");

    l = listener(ip, 0);
    port = port_of(l);
    MUST(dup2(l, 70));
    closefrom(3);
    CHECK(!exists(dir, port), "closefrom left the file");
    CHECK(fcntl(70, F_GETFD) < 0, "closefrom left fd 70 open");

    /* Reused descriptor numbers start afresh. */
    l = listener(ip, 0);
    CHECK(is_unix_socket(l), "not converted");
    puts("ok");
    return 0;
}
