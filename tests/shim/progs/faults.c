/* Faults a converted socket meets as a TCP socket would (README,
 * "Reliability"):
 *
 *   faults emfile ADDR  at RLIMIT_NOFILE, connect and bind either work (an
 *                       early socket needs no spare descriptor) or fail with
 *                       EMFILE, leaving the socket as it was: once a
 *                       descriptor is free the same call on it works.
 *   faults eintr ADDR   accept, recv and a connect to a full backlog,
 *                       blocked, end with EINTR at a signal whose handler
 *                       has no SA_RESTART; the socket works afterwards.
 *
 * Prints one line per step; fails on a leaked descriptor. */
#include "probe.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>

static int fillers[1024], nfillers;

/* Take every free descriptor. */
static void fill(void)
{
    int fd;
    while ((fd = dup(0)) >= 0)
        fillers[nfillers++] = fd;
    CHECK(errno == EMFILE, "dup at the limit");
}

static void release(int n)
{
    while (n-- > 0 && nfillers > 0)
        MUST(close(fillers[--nfillers]));
}

/* The descriptor count once it is back to want, or after a second: a
 * connect given up on closes its background attempt's socket then. */
static int settled_fds(int want)
{
    int n = count_fds();
    for (int i = 0; i < 100 && n != want; i++) {
        usleep(10000);
        n = count_fds();
    }
    return n;
}

static const char *outcome(int rc)
{
    return rc == 0 ? "ok" : errno == EMFILE ? "EMFILE" : strerror(errno);
}

static void emfile(const char *ip)
{
    struct rlimit rl = {64, 64};
    MUST(setrlimit(RLIMIT_NOFILE, &rl));
    int l = listener(ip, 0), port = port_of(l);
    int before = count_fds();

    int s = socket(AF_INET, SOCK_STREAM, 0);
    MUST(s);
    fill();
    struct sockaddr_in a = inet_addr_port(ip, port);
    int rc = connect(s, (struct sockaddr *)&a, sizeof(a));
    printf("connect at the limit: %s\n", outcome(rc));
    release(2);
    if (rc != 0)
        MUST(connect(s, (struct sockaddr *)&a, sizeof(a)));
    int c = accept(l, NULL, NULL);
    MUST(c);
    write_all(s, "x", 1);
    char b;
    read_exact(c, &b, 1);
    CHECK(b == 'x', "a byte through the connection");
    MUST(close(c));
    MUST(close(s));

    int s2 = socket(AF_INET, SOCK_STREAM, 0);
    MUST(s2);
    fill();
    struct sockaddr_in b2 = inet_addr_port(ip, 0);
    rc = bind(s2, (struct sockaddr *)&b2, sizeof(b2));
    printf("bind at the limit: %s\n", outcome(rc));
    release(2);
    if (rc != 0)
        MUST(bind(s2, (struct sockaddr *)&b2, sizeof(b2)));
    MUST(listen(s2, 4));
    int s3 = connect_to(ip, port_of(s2));
    fill();
    rc = accept(s2, NULL, NULL);
    printf("accept at the limit: %s\n", rc >= 0 ? "ok" : outcome(-1));
    release(nfillers);
    if (rc < 0)
        MUST(rc = accept(s2, NULL, NULL));
    MUST(close(rc));
    MUST(close(s3));
    MUST(close(s2));
    int after = count_fds();
    CHECK(after == before, "descriptors: %d before, %d after", before, after);
    MUST(close(l));
}

static volatile sig_atomic_t signals;

static void on_alarm(int sig)
{
    (void)sig;
    signals++;
}

/* A blocked call interrupted 50 ms in. */
static void arm(void)
{
    struct itimerval it = {{0, 0}, {0, 50000}};
    MUST(setitimer(ITIMER_REAL, &it, NULL));
}

static void eintr(const char *ip)
{
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    MUST(sigaction(SIGALRM, &sa, NULL));
    int l = listener(ip, 0), port = port_of(l);
    int before = count_fds();

    arm();
    int rc = accept(l, NULL, NULL);
    printf("accept: %s\n", rc < 0 && errno == EINTR ? "EINTR" : "no EINTR");
    int s = connect_to(ip, port);
    int c = accept(l, NULL, NULL);
    MUST(c);

    arm();
    char b;
    ssize_t r = recv(c, &b, 1, 0);
    printf("recv: %s\n", r < 0 && errno == EINTR ? "EINTR" : "no EINTR");
    write_all(s, "y", 1);
    read_exact(c, &b, 1);
    CHECK(b == 'y', "a byte after the EINTR");
    MUST(close(c));
    MUST(close(s));

    /* A listener nobody accepts from, its backlog filled. */
    int full = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in fa = inet_addr_port(ip, 0);
    MUST(bind(full, (struct sockaddr *)&fa, sizeof(fa)));
    MUST(listen(full, 0));
    int fport = port_of(full), queued[8], nq = 0;
    for (; nq < 8; nq++) {
        queued[nq] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in t = inet_addr_port(ip, fport);
        if (connect(queued[nq], (struct sockaddr *)&t, sizeof(t)) != 0) {
            MUST(close(queued[nq]));
            break;
        }
    }
    int blocked = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in t = inet_addr_port(ip, fport);
    arm();
    rc = connect(blocked, (struct sockaddr *)&t, sizeof(t));
    printf("connect: %s\n", rc < 0 && errno == EINTR ? "EINTR" : rc < 0 ? strerror(errno) : "connected");
    MUST(close(blocked));
    while (nq-- > 0)
        MUST(close(queued[nq]));
    MUST(close(full));
    int after = settled_fds(before);
    CHECK(after == before, "descriptors: %d before, %d after", before, after);
    CHECK(signals == 3, "%d signals", (int)signals);
    MUST(close(l));
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: faults emfile|eintr ADDR");
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(argv[1], "emfile") == 0)
        emfile(argv[2]);
    else if (strcmp(argv[1], "eintr") == 0)
        eintr(argv[2]);
    else
        CHECK(0, "unknown mode %s", argv[1]);
    return 0;
}
