/* Binds (and for stream sockets listens) and closes a covered port over and
 * over under umask 0, so that a socket file created with default rights
 * would be open to everyone; checks each time that the file has exactly the
 * mode UNSOCK_MODE asks for. Stops when stdin becomes readable. A datagram
 * socket receives from the moment it is bound, with no listen() after.
 * Usage: modeserver stream|dgram COVERED_IP PORT SOCKDIR OCTAL_MODE */
#include "probe.h"

#include <poll.h>

int main(int argc, char **argv)
{
    CHECK(argc == 6, "usage: modeserver stream|dgram COVERED_IP PORT SOCKDIR OCTAL_MODE");
    int type = strcmp(argv[1], "dgram") == 0 ? SOCK_DGRAM : SOCK_STREAM;
    int port = atoi(argv[3]);
    mode_t want = (mode_t)strtol(argv[5], NULL, 8);
    char path[200];
    snprintf(path, sizeof(path), "%s/%d.%s", argv[4], port, type == SOCK_DGRAM ? "udp" : "sock");
    struct sockaddr_in addr = inet_addr_port(argv[2], port);
    umask(0);
    long cycles = 0;
    for (;;) {
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        if (poll(&p, 1, 0) != 0)
            break;
        int l = socket(AF_INET, type, 0);
        MUST(l);
        MUST(bind(l, (struct sockaddr *)&addr, sizeof(addr)));
        if (type == SOCK_STREAM)
            MUST(listen(l, 16));
        struct stat st;
        MUST(lstat(path, &st));
        CHECK((st.st_mode & 07777) == want, "mode %04o, wanted %04o", st.st_mode & 07777, want);
        MUST(close(l));
        cycles++;
    }
    printf("%ld\n", cycles);
    return 0;
}
