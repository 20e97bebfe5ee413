/* A stream socket before its address is known, as the program sees it: every
 * call a program can make on it before bind or connect, then options set
 * before connect as they read after it. Prints results without port numbers
 * or pids, so that a run on real TCP and one under the shim print the same,
 * but for the last line: whether socket() gave a unix socket at once (an
 * early socket). Usage: fresh inet|inet6 COVERED_IP PORT (PORT and PORT+1
 * are used; nothing listens on PORT+1). */
#include "probe.h"

#include <sys/sendfile.h>

#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

static int family;

static struct sockaddr_storage address(const char *ip, int port, socklen_t *len)
{
    struct sockaddr_storage a;
    memset(&a, 0, sizeof(a));
    if (family == AF_INET) {
        struct sockaddr_in in = inet_addr_port(ip, port);
        memcpy(&a, &in, sizeof(in));
        *len = sizeof(in);
    } else {
        char mapped[64];
        snprintf(mapped, sizeof(mapped), "::ffff:%s", ip);
        struct sockaddr_in6 in6 = inet6_addr_port(mapped, port);
        memcpy(&a, &in6, sizeof(in6));
        *len = sizeof(in6);
    }
    return a;
}

static int fresh(void)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    MUST(fd);
    return fd;
}

static void get(int fd, const char *what, int level, int name)
{
    int v = 0;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, level, name, &v, &len) != 0)
        printf("%s errno=%d\n", what, errno);
    else
        printf("%s=%d len=%u\n", what, v, (unsigned)len);
}

static void set(int fd, const char *what, int level, int name, int v, socklen_t len)
{
    int r = setsockopt(fd, level, name, &v, len);
    printf("set %s=%d len=%u: %d errno=%d\n", what, v, (unsigned)len, r, r ? errno : 0);
}

static void names(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof(a);
    char text[INET6_ADDRSTRLEN] = "?";
    if (getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        const void *host = a.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&a)->sin6_addr
                                                   : (const void *)&((struct sockaddr_in *)&a)->sin_addr;
        inet_ntop(a.ss_family, host, text, sizeof(text));
        printf("getsockname len=%u family=%d %s port=%d\n", (unsigned)len, a.ss_family, text,
               ntohs(((struct sockaddr_in *)&a)->sin_port));
    } else {
        printf("getsockname errno=%d\n", errno);
    }
    /* a short buffer: truncated, the full length reported */
    len = 4;
    int r = getsockname(fd, (struct sockaddr *)&a, &len);
    printf("getsockname short: %d len=%u\n", r, (unsigned)len);
    len = sizeof(a);
    r = getpeername(fd, (struct sockaddr *)&a, &len);
    printf("getpeername: %d errno=%d\n", r, r ? errno : 0);
}

static void observe(int fd)
{
    get(fd, "SO_DOMAIN", SOL_SOCKET, SO_DOMAIN);
    get(fd, "SO_TYPE", SOL_SOCKET, SO_TYPE);
    get(fd, "SO_PROTOCOL", SOL_SOCKET, SO_PROTOCOL);
    get(fd, "SO_ERROR", SOL_SOCKET, SO_ERROR);
    get(fd, "SO_ACCEPTCONN", SOL_SOCKET, SO_ACCEPTCONN);
    get(fd, "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF);
    get(fd, "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF);
    get(fd, "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR);
    get(fd, "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT);
    get(fd, "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE);
    get(fd, "SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT);
    get(fd, "SO_SNDLOWAT", SOL_SOCKET, SO_SNDLOWAT);
    get(fd, "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY);
    get(fd, "SO_OOBINLINE", SOL_SOCKET, SO_OOBINLINE);
    struct linger lg = {9, 9};
    socklen_t len = sizeof(lg);
    MUST(getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len));
    printf("SO_LINGER %d %d len=%u\n", lg.l_onoff, lg.l_linger, (unsigned)len);
    struct ucred cred;
    len = sizeof(cred);
    MUST(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len));
    printf("SO_PEERCRED %d %d %d len=%u\n", (int)cred.pid, (int)cred.uid, (int)cred.gid, (unsigned)len);
    get(fd, "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY);
    get(fd, "TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG);
    get(fd, "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE);
    get(fd, "TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT);
    get(fd, "TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT);
    struct tcp_info ti;
    len = sizeof(ti);
    MUST(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
    printf("TCP_INFO state=%d\n", ti.tcpi_state);
    if (family == AF_INET) {
        get(fd, "IP_TOS", IPPROTO_IP, IP_TOS);
        get(fd, "IP_TTL", IPPROTO_IP, IP_TTL);
    } else {
        get(fd, "IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY);
        get(fd, "IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS);
        get(fd, "IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS);
    }
    names(fd);
    struct stat st;
    MUST(fstat(fd, &st));
    printf("fstat sock=%d mode=%o\n", S_ISSOCK(st.st_mode), (unsigned)(st.st_mode & 07777));
    printf("F_GETFL %#x F_GETFD %d\n", fcntl(fd, F_GETFL), fcntl(fd, F_GETFD));
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    int ready = poll(&p, 1, 0);
    printf("poll %d revents %#x\n", ready, p.revents);
    int n = -1;
    int r = ioctl(fd, FIONREAD, &n);
    printf("FIONREAD %d %d errno=%d\n", r, n, r ? errno : 0);
    r = ioctl(fd, TIOCOUTQ, &n); /* SIOCOUTQ */
    printf("SIOCOUTQ %d %d errno=%d\n", r, n, r ? errno : 0);
}

/* Calls that fail on a socket not connected, each on a socket of its own. */
static void unconnected(void)
{
    char b = 'x';
    struct iovec io = {&b, 1};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1};
    int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    MUST(file);
    for (int call = 0; call < 11; call++) {
        int fd = fresh();
        const char *what[] = {"shutdown", "send", "write", "sendmsg", "recv", "read", "recvmsg", "accept",
                              "writev", "readv", "sendfile"};
        ssize_t r = call == 0 ? shutdown(fd, SHUT_WR)
                    : call == 1 ? send(fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL)
                    : call == 2 ? write(fd, &b, 1)
                    : call == 3 ? sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL)
                    : call == 4 ? recv(fd, &b, 1, MSG_DONTWAIT)
                    : call == 5 ? read(fd, &b, 1)
                    : call == 6 ? recvmsg(fd, &m, MSG_DONTWAIT)
                    : call == 7 ? accept(fd, NULL, NULL)
                    : call == 8 ? writev(fd, &io, 1)
                    : call == 9 ? readv(fd, &io, 1)
                                : sendfile(fd, file, NULL, 1);
        printf("%s %zd errno=%d\n", what[call], r, r < 0 ? errno : 0);
        close(fd);
    }
    close(file);
}

/* Addresses that are not the socket's family, or too short, each on a socket of its own. */
static void strange_addresses(const char *ip, int port)
{
    socklen_t alen;
    struct sockaddr_storage a = address(ip, port, &alen);
    struct sockaddr_un un = unix_addr("/tmp/unsock-fresh-never-made");
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    for (int call = 0; call < 5; call++) {
        int fd = fresh();
        const char *what[] = {"connect AF_UNSPEC", "connect AF_UNIX", "bind AF_UNIX", "connect short", "bind short"};
        int r = call == 0 ? connect(fd, &unspec, sizeof(unspec))
                : call == 1 ? connect(fd, (struct sockaddr *)&un, sizeof(un))
                : call == 2 ? bind(fd, (struct sockaddr *)&un, sizeof(un))
                : call == 3 ? connect(fd, (struct sockaddr *)&a, alen - 1)
                            : bind(fd, (struct sockaddr *)&a, alen - 1);
        printf("%s %d errno=%d\n", what[call], r, r < 0 ? errno : 0);
        close(fd);
    }
}

/* Option values the kernel refuses, and what it makes of others. */
static void settings(void)
{
    int fd = fresh();
    set(fd, "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 0, sizeof(int));
    set(fd, "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 77, sizeof(int));
    set(fd, "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1, 2);
    set(fd, "TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, 1, sizeof(int));
    set(fd, "TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, 1200, sizeof(int));
    set(fd, "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, 1, sizeof(int));
    set(fd, "SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT, 0, sizeof(int));
    get(fd, "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE);
    get(fd, "TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG);
    get(fd, "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT);
    get(fd, "SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT);
    if (family == AF_INET6) {
        set(fd, "IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, 1, sizeof(int));
        get(fd, "IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY);
    }
    close(fd);
}

/* listen before bind: TCP picks a free port on the wildcard address. */
static void listen_unbound(void)
{
    int fd = fresh();
    int r = listen(fd, 4);
    printf("listen unbound %d errno=%d\n", r, r ? errno : 0);
    struct sockaddr_storage a;
    socklen_t len = sizeof(a);
    MUST(getsockname(fd, (struct sockaddr *)&a, &len));
    printf("listen unbound: port picked %d\n", ntohs(((struct sockaddr_in *)&a)->sin_port) != 0);
    get(fd, "SO_ACCEPTCONN", SOL_SOCKET, SO_ACCEPTCONN);
    close(fd);
}

/* Options set before connect, as they read after it; a connect to nobody
 * first, then again on the same socket. */
static int connected(const char *ip, int port)
{
    socklen_t alen;
    struct sockaddr_storage there = address(ip, port, &alen), nobody = address(ip, port + 1, &alen);
    int l = fresh();
    int one = 1;
    MUST(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
    MUST(bind(l, (struct sockaddr *)&there, alen));
    MUST(listen(l, 8));
    int fd = fresh();
    set(fd, "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1, sizeof(int));
    set(fd, "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1, sizeof(int));
    set(fd, "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 77, sizeof(int));
    set(fd, "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 65536, sizeof(int));
    set(fd, "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, 3, sizeof(int));
    int r = connect(fd, (struct sockaddr *)&nobody, alen);
    printf("connect to nobody %d errno=%d\n", r, r ? errno : 0);
    r = connect(fd, (struct sockaddr *)&there, alen);
    printf("connect %d errno=%d\n", r, r ? errno : 0);
    int c = accept(l, NULL, NULL);
    MUST(c);
    get(fd, "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY);
    get(fd, "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE);
    get(fd, "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE);
    get(fd, "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF);
    get(fd, "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY);
    write_all(fd, "e", 1);
    char b = 0;
    CHECK(read(c, &b, 1) == 1 && b == 'e', "data did not pass");
    close(c);
    close(l);
    return fd;
}

int main(int argc, char **argv)
{
    CHECK(argc == 4, "usage: fresh inet|inet6 COVERED_IP PORT");
    family = strcmp(argv[1], "inet6") == 0 ? AF_INET6 : AF_INET;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    int fd = fresh();
    int early = is_unix_socket(fd);
    observe(fd);
    int copy = dup(fd);
    MUST(copy);
    get(copy, "dup SO_DOMAIN", SOL_SOCKET, SO_DOMAIN);
    close(copy);
    close(fd);
    unconnected();
    settings();
    listen_unbound();
    strange_addresses(argv[2], atoi(argv[3]) + 1);
    close(connected(argv[2], atoi(argv[3])));
    printf("early %d\n", early);
    return 0;
}
