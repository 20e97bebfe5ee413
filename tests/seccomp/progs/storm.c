/* A program blocked in accept or connect while signals rain on it (run under the
 * seccomp engine, whose supervisor answers these calls).
 *
 * Usage: storm accept IP PORT restart|norestart
 *        storm connect IP PORT restart|norestart
 *
 * SIGUSR1 has a handler, installed with SA_RESTART or without; SIGINT keeps its
 * default action. The handler prints "signal"; a call that fails with EINTR prints
 * "eintr E handled H at NS" (E EINTRs and H signals so far, NS the CLOCK_MONOTONIC time
 * in nanoseconds) and is made again (connect on a new socket, as a TCP program cannot
 * reuse one whose connect was interrupted).
 *
 * accept: listens on IP:PORT, prints "ready PID", accepts one connection, reads a
 *         line from it, answers "ok\n" and prints "accepted eintr=E handled=H".
 * connect: prints "ready PID", connects to IP:PORT, sends "P" and prints
 *         "connected eintr=E handled=H attempts=A".
 * Any other failure: a line starting with FAIL on stderr, exit 1. */
#include "../../shim/progs/probe.h"

#include <signal.h>
#include <time.h>

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
    (void)sig;
    int saved = errno;
    handled++;
    ssize_t w = write(1, "signal\n", 7);
    (void)w;
    errno = saved;
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int accept_one(const char *ip, const char *port)
{
    int l = listener(ip, atoi(port));
    dprintf(1, "ready %d\n", (int)getpid());
    int eintr = 0;
    int c;
    while ((c = accept(l, NULL, NULL)) < 0) {
        CHECK(errno == EINTR, "accept");
        eintr++;
        dprintf(1, "eintr %d handled %d at %lld\n", eintr, (int)handled, now_ns());
    }
    char buf[64];
    size_t got = 0;
    while (got < sizeof(buf) && (got == 0 || buf[got - 1] != '\n')) {
        ssize_t r = read(c, buf + got, sizeof(buf) - got);
        if (r < 0 && errno == EINTR)
            continue;
        CHECK(r > 0, "read");
        got += (size_t)r;
    }
    write_all(c, "ok\n", 3);
    dprintf(1, "accepted eintr=%d handled=%d\n", eintr, (int)handled);
    close(c);
    close(l);
    return 0;
}

static int connect_one(const char *ip, const char *port)
{
    struct sockaddr_in a = inet_addr_port(ip, atoi(port));
    dprintf(1, "ready %d\n", (int)getpid());
    int eintr = 0, attempts = 0;
    int c;
    for (;;) {
        MUST(c = socket(AF_INET, SOCK_STREAM, 0));
        attempts++;
        if (connect(c, (struct sockaddr *)&a, sizeof(a)) == 0)
            break;
        CHECK(errno == EINTR, "connect");
        eintr++;
        close(c);
        dprintf(1, "eintr %d handled %d at %lld\n", eintr, (int)handled, now_ns());
    }
    write_all(c, "P", 1);
    dprintf(1, "connected eintr=%d handled=%d attempts=%d\n", eintr, (int)handled, attempts);
    close(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[4], "restart") != 0 && strcmp(argv[4], "norestart") != 0)) {
        fprintf(stderr, "FAIL usage: storm accept|connect IP PORT restart|norestart\n");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = strcmp(argv[4], "restart") == 0 ? SA_RESTART : 0;
    MUST(sigaction(SIGUSR1, &sa, NULL));
    if (strcmp(argv[1], "accept") == 0)
        return accept_one(argv[2], argv[3]);
    if (strcmp(argv[1], "connect") == 0)
        return connect_one(argv[2], argv[3]);
    fprintf(stderr, "FAIL unknown mode %s\n", argv[1]);
    return 1;
}
