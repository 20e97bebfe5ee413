/* Connects (stream) or sends a datagram (dgram) to a socket file in a tight
 * loop, as an unprivileged user, until it has been refused for lack of
 * permission TARGET times (or got through, or 60 s passed); prints how often
 * each outcome happened.
 * Usage: observer stream|dgram PATH TARGET */
#include "probe.h"

#include <time.h>

int main(int argc, char **argv)
{
    CHECK(argc == 4, "usage: observer stream|dgram PATH TARGET");
    int type = strcmp(argv[1], "dgram") == 0 ? SOCK_DGRAM : SOCK_STREAM;
    struct sockaddr_un a = unix_addr(argv[2]);
    long target = atol(argv[3]), ok = 0, denied = 0, absent = 0, other = 0;
    time_t deadline = time(NULL) + 60;
    while (ok == 0 && denied < target && time(NULL) < deadline) {
        for (int i = 0; i < 1000 && ok == 0 && denied < target; i++) {
            int fd = socket(AF_UNIX, type, 0);
            MUST(fd);
            int r = type == SOCK_DGRAM ? (int)sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&a, sizeof(a))
                                       : connect(fd, (struct sockaddr *)&a, sizeof(a));
            if (r >= 0)
                ok++;
            else if (errno == EACCES)
                denied++;
            else if (errno == ENOENT || errno == ECONNREFUSED || errno == EAGAIN)
                absent++;
            else
                other++;
            close(fd);
        }
    }
    printf("connected=%ld denied=%ld absent=%ld other=%ld\n", ok, denied, absent, other);
    return 0;
}
