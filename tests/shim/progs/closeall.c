/* Converted listeners closed wholesale by closefrom() and close_range()
 * lose their socket files like on close(); CLOSE_RANGE_CLOEXEC closes
 * nothing. Usage: closeall COVERED_IP SOCKDIR */
#include "probe.h"

#include <sys/syscall.h>

#ifdef __GLIBC__
#include <linux/close_range.h>
#else /* musl (the seccomp engine's static probes): the system call itself */
#define CLOSE_RANGE_CLOEXEC (1U << 2)
static int close_range(unsigned first, unsigned last, int flags)
{
    return (int)syscall(SYS_close_range, first, last, flags);
}
static void closefrom(int fd)
{
    close_range((unsigned)fd, ~0u, 0);
}
#endif

static int exists(const char *dir, int port)
{
    char path[200];
    snprintf(path, sizeof(path), "%s/%d.sock", dir, port);
    return access(path, F_OK) == 0;
}

static int removed(const char *dir, int port)
{
    char path[200];
    snprintf(path, sizeof(path), "%s/%d.sock", dir, port);
    return gone(path);
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
    CHECK(removed(dir, port), "close_range left the file");

    l = listener(ip, 0);
    port = port_of(l);
    MUST(dup2(l, 70));
    closefrom(3);
    CHECK(removed(dir, port), "closefrom left the file");
    CHECK(fcntl(70, F_GETFD) < 0, "closefrom left fd 70 open");

    /* Reused descriptor numbers start afresh. */
    l = listener(ip, 0);
    CHECK(is_unix_socket(l), "not converted");
    puts("ok");
    return 0;
}
