/* Descriptor flags, owner and SOL_SOCKET options set before bind/connect
 * survive the swap to a unix socket.  Usage: flags COVERED_IP */
#include "probe.h"

#include <poll.h>
#include <signal.h>
#include <sys/time.h>

struct snap {
    int fl, fdfl, own, sig;
    struct timeval rcvto, sndto;
    struct linger lin;
    int keepalive, rcvbuf, sndbuf, prio, oob, mark, reuse, lowat;
};

static int geti(int fd, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    MUST(getsockopt(fd, SOL_SOCKET, name, &v, &len));
    return v;
}

static void seti(int fd, int name, int v)
{
    MUST(setsockopt(fd, SOL_SOCKET, name, &v, sizeof(v)));
}

static struct snap take(int fd)
{
    struct snap s;
    memset(&s, 0, sizeof(s));
    s.fl = fcntl(fd, F_GETFL);
    s.fdfl = fcntl(fd, F_GETFD);
    s.own = fcntl(fd, F_GETOWN);
    s.sig = fcntl(fd, F_GETSIG);
    socklen_t len = sizeof(s.rcvto);
    MUST(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &s.rcvto, &len));
    len = sizeof(s.sndto);
    MUST(getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &s.sndto, &len));
    len = sizeof(s.lin);
    MUST(getsockopt(fd, SOL_SOCKET, SO_LINGER, &s.lin, &len));
    s.keepalive = geti(fd, SO_KEEPALIVE);
    s.rcvbuf = geti(fd, SO_RCVBUF);
    s.sndbuf = geti(fd, SO_SNDBUF);
    s.prio = geti(fd, SO_PRIORITY);
    s.oob = geti(fd, SO_OOBINLINE);
    s.mark = geti(fd, SO_MARK);
    s.reuse = geti(fd, SO_REUSEADDR);
    s.lowat = geti(fd, SO_RCVLOWAT);
    return s;
}

static void compare(const char *what, int fd, const struct snap *a, struct snap after)
{
    const struct snap *b = &after;
#define SAME(field) CHECK(a->field == b->field, "%s fd %d: " #field " was %ld, is %ld after the swap", \
                          what, fd, (long)a->field, (long)b->field)
    SAME(fl);
    SAME(fdfl);
    SAME(own);
    SAME(sig);
    SAME(rcvto.tv_sec);
    SAME(rcvto.tv_usec);
    SAME(sndto.tv_sec);
    SAME(sndto.tv_usec);
    SAME(lin.l_onoff);
    SAME(lin.l_linger);
    SAME(keepalive);
    SAME(rcvbuf);
    SAME(sndbuf);
    SAME(prio);
    SAME(oob);
    SAME(mark);
    SAME(reuse);
    SAME(lowat);
#undef SAME
}

/* Everything a program may set on a socket before connecting or binding. */
static void configure(int fd, int sig, int rcvbuf)
{
    MUST(fcntl(fd, F_SETOWN, getpid()));
    MUST(fcntl(fd, F_SETSIG, sig));
    MUST(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK | O_ASYNC));
    MUST(fcntl(fd, F_SETFD, FD_CLOEXEC));
    struct timeval rto = {3, 250000}, sto = {7, 0};
    MUST(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rto, sizeof(rto)));
    MUST(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sto, sizeof(sto)));
    struct linger lin = {1, 5};
    MUST(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin)));
    seti(fd, SO_KEEPALIVE, 1);
    /* 65536 reads back as 131072, a TCP socket's default: still set explicitly. */
    seti(fd, SO_RCVBUF, rcvbuf);
    seti(fd, SO_SNDBUF, 50000);
    seti(fd, SO_PRIORITY, 5);
    seti(fd, SO_OOBINLINE, 1);
    seti(fd, SO_REUSEADDR, 1);
    seti(fd, SO_RCVLOWAT, 1);
    int mark = 42;
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0)
        CHECK(errno == EPERM, "SO_MARK");
}

static void expect_signal(int sig, int fd, const char *what)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    struct timespec ts = {10, 0};
    siginfo_t si;
    int got = sigtimedwait(&set, &si, &ts);
    CHECK(got == sig, "%s: no signal %d for fd %d", what, sig, fd);
    CHECK(si.si_fd == fd, "%s: signal for fd %d, expected %d", what, si.si_fd, fd);
}

static void wait_fd(int fd, short events)
{
    struct pollfd p = {fd, events, 0};
    CHECK(poll(&p, 1, 10000) == 1, "poll fd %d", fd);
}

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: flags COVERED_IP");
    const char *ip = argv[1];
    int sig_l = SIGRTMIN, sig_c = SIGRTMIN + 1;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, sig_l);
    sigaddset(&block, sig_c);
    MUST(sigprocmask(SIG_BLOCK, &block, NULL));

    int rcvbufs[] = {65536, 200000};
    for (size_t round = 0; round < 2; round++) {
        /* A listener configured before bind. */
        int l = socket(AF_INET, SOCK_STREAM, 0);
        MUST(l);
        configure(l, sig_l, rcvbufs[round]);
        struct snap before = take(l);
        struct sockaddr_in a = inet_addr_port(ip, 0);
        MUST(bind(l, (struct sockaddr *)&a, sizeof(a)));
        CHECK(is_unix_socket(l), "listener fd %d was not converted", l);
        compare("listener after bind", l, &before, take(l));
        MUST(listen(l, 16));
        compare("listener after listen", l, &before, take(l));
        int port = port_of(l);

        /* A client configured before connect. */
        int c = socket(AF_INET, SOCK_STREAM, 0);
        MUST(c);
        configure(c, sig_c, rcvbufs[round]);
        before = take(c);
        struct sockaddr_in to = inet_addr_port(ip, port);
        int r = connect(c, (struct sockaddr *)&to, sizeof(to));
        CHECK(r == 0 || errno == EINPROGRESS, "non-blocking connect");
        CHECK(is_unix_socket(c), "client fd %d was not converted", c);
        compare("client after connect", c, &before, take(c));

        /* O_ASYNC and the owner still work: a connection signals the
         * listener, data signals the client. */
        expect_signal(sig_l, l, "listener");
        wait_fd(l, POLLIN);
        int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        MUST(s);
        wait_fd(c, POLLOUT);
        write_all(s, "x", 1);
        expect_signal(sig_c, c, "client");
        char ch;
        wait_fd(c, POLLIN);
        CHECK(read(c, &ch, 1) == 1 && ch == 'x', "client read");
        close(s);
        close(c);
        close(l);
    }

    /* No flags at all: nothing appears out of nowhere. */
    int l = listener(ip, 0);
    int c = connect_to(ip, port_of(l));
    CHECK(is_unix_socket(c), "client not converted");
    CHECK((fcntl(c, F_GETFL) & (O_NONBLOCK | O_ASYNC)) == 0, "plain client got flags %#x", fcntl(c, F_GETFL));
    CHECK(fcntl(c, F_GETFD) == 0, "plain client got FD_CLOEXEC");
    CHECK(fcntl(c, F_GETOWN) == 0, "plain client got an owner");
    close(c);

    /* Flags given to socket() itself. */
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    MUST(c);
    struct sockaddr_in to = inet_addr_port(ip, port_of(l));
    CHECK(connect(c, (struct sockaddr *)&to, sizeof(to)) == 0 || errno == EINPROGRESS, "connect");
    CHECK(is_unix_socket(c), "client not converted");
    CHECK(fcntl(c, F_GETFL) & O_NONBLOCK, "SOCK_NONBLOCK lost");
    CHECK(fcntl(c, F_GETFD) == FD_CLOEXEC, "SOCK_CLOEXEC lost");
    close(c);
    close(l);
    puts("ok");
    return 0;
}
