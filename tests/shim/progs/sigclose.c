/* Signal handlers that close converted descriptors while the main thread
 * converts sockets (README, "Signals"): a timer fires every few
 * microseconds and its handler closes (and dups, then closes) the client
 * socket of the current round, wherever the main thread is: inside the
 * shim's connect, accept, dup2 or close of other converted descriptors.
 *
 *   sigclose ADDR ROUNDS  -> "rounds R closed-by-handler H"
 *
 * Fails on a wrong byte, a socket that is not what it was, or a descriptor
 * more or less at the end; a deadlock is the test's timeout. */
#include "probe.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>

static atomic_int victim = -1;
static atomic_long closed_by_handler;

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    int v = atomic_exchange(&victim, -1);
    if (v >= 0) {
        int d = dup(v);
        close(v);
        if (d >= 0)
            close(d);
        atomic_fetch_add(&closed_by_handler, 1);
    }
    errno = saved;
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: sigclose ADDR ROUNDS");
    long rounds = atol(argv[2]);
    int l = listener(argv[1], 0);
    int port = port_of(l);
    int spare = dup(l); /* a number for dup2 to reuse */
    MUST(spare);
    int before = count_fds();

    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    MUST(sigaction(SIGALRM, &sa, NULL));
    struct itimerval it = {.it_interval = {0, 20}, .it_value = {0, 20}};
    MUST(setitimer(ITIMER_REAL, &it, NULL));

    for (long i = 0; i < rounds; i++) {
        int fd = connect_to(argv[1], port);
        atomic_store(&victim, fd);
        int c = accept(l, NULL, NULL);
        MUST(c);
        if (i % 3 == 0) { /* a converted socket replaced under a dup2, twice */
            MUST(dup2(c, spare));
            MUST(dup2(l, spare));
        }
        int v = atomic_exchange(&victim, -1);
        if (v >= 0) {
            /* Not closed by the handler: still the connected socket it was. */
            struct sockaddr_in a;
            socklen_t len = sizeof(a);
            MUST(getsockname(v, (struct sockaddr *)&a, &len));
            CHECK(a.sin_family == AF_INET, "round %ld: getsockname family %d", i, a.sin_family);
            char token[16], got[16] = "";
            int n = snprintf(token, sizeof(token), "r%ld", i);
            write_all(c, token, (size_t)n);
            read_exact(v, got, (size_t)n);
            CHECK(memcmp(token, got, (size_t)n) == 0, "round %ld: read '%.*s'", i, n, got);
            MUST(close(v));
        }
        MUST(close(c));
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    MUST(setitimer(ITIMER_REAL, &off, NULL));

    int after = count_fds();
    CHECK(after == before, "descriptors: %d before, %d after", before, after);
    int fd = connect_to(argv[1], port); /* the listener still works */
    int c = accept(l, NULL, NULL);
    MUST(c);
    write_all(fd, "end", 3);
    char got[3];
    read_exact(c, got, 3);
    CHECK(memcmp(got, "end", 3) == 0, "the last connection");
    printf("rounds %ld closed-by-handler %ld\n", rounds, atomic_load(&closed_by_handler));
    return 0;
}
