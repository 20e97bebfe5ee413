/* SO_PEERCRED across the seccomp engine.
 *   peercred serve IP PORT    listen; for each of 2 clients: "peer pid P uid U"
 *   peercred connect IP PORT  connect; print "pid P"; wait for EOF */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1)
        return 2;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    if (strcmp(argv[1], "serve") == 0) {
        if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 8) != 0)
            die("bind");
        printf("listening\n");
        fflush(stdout);
        for (int i = 0; i < 2; i++) {
            struct sockaddr_in peer;
            socklen_t plen = sizeof(peer);
            int c = accept(s, i == 0 ? (struct sockaddr *)&peer : NULL, i == 0 ? &plen : NULL);
            struct ucred cred;
            socklen_t len = sizeof(cred);
            if (c < 0 || getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
                die("accept");
            printf("peer pid %d uid %u\n", (int)cred.pid, (unsigned)cred.uid);
            fflush(stdout);
            close(c);
        }
        return 0;
    }
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("connect");
    printf("pid %d\n", (int)getpid());
    fflush(stdout);
    char b;
    while (read(s, &b, 1) > 0)
        ;
    return 0;
}
