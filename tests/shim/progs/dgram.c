/* UDP through the shim: a server bound to IP:PORT and clients of the same
 * family exchanging datagrams with sendto/recvfrom, sendmsg/recvmsg,
 * sendmmsg/recvmmsg, connected and unconnected, with implicit reply
 * addresses for clients that never bind; the addresses the program sees
 * are IP ones (the loopback address of the family and the port of the
 * sender's socket file).  UNSOCK_DIR must be set.
 * Usage: dgram IP LOOPBACK PORT   (IP covered, LOOPBACK = 127.0.0.1 or ::1,
 * which must be covered too so that replies reach the clients) */
#include "probe.h"

#include <sys/epoll.h>

/* Datagram sockets live at DIR/PORT.udp (stream ones at DIR/PORT.sock). */
#define DGRAM_SUFFIX ".udp"

static const char *dir;
static int family;

struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

static struct addr make(const char *ip, int port)
{
    struct addr a;
    memset(&a, 0, sizeof(a));
    if (strchr(ip, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        CHECK(inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1, "bad address %s", ip);
        a.len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a.ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        CHECK(inet_pton(AF_INET, ip, &s4->sin_addr) == 1, "bad address %s", ip);
        a.len = sizeof(*s4);
    }
    return a;
}

/* "ip port" of an address the shim gave the program. */
static const char *show(const struct sockaddr *sa, socklen_t len)
{
    static char out[8][128];
    static int next;
    char *o = out[next++ % 8];
    char ip[INET6_ADDRSTRLEN] = "?";
    if (len == 0) {
        snprintf(o, 128, "(none)");
    } else if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(o, 128, "%s %d", ip, ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(o, 128, "%s %d", ip, ntohs(s6->sin6_port));
    } else {
        snprintf(o, 128, "family %d len %u", sa->sa_family, (unsigned)len);
    }
    return o;
}

static int port_in(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return -1;
}

static socklen_t family_len(void)
{
    return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static int file_exists(int port)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%d" DGRAM_SUFFIX, dir, port);
    struct stat st;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int file_gone(int port)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%d" DGRAM_SUFFIX, dir, port);
    return gone(path);
}

/* The local port getsockname reports, checking family and length. */
static int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    MUST(getsockname(fd, (struct sockaddr *)&ss, &len));
    EXPECT(ss.ss_family == family && len == family_len(), "getsockname fd %d: %s", fd,
           show((struct sockaddr *)&ss, len));
    return port_in(&ss);
}

static int dgram_socket(void)
{
    int fd = socket(family, SOCK_DGRAM, 0);
    MUST(fd);
    return fd;
}

/* Receives one datagram with recvfrom; checks text and sender "ip port". */
static void expect_from(int fd, const char *text, const char *sender)
{
    char buf[256];
    struct sockaddr_storage ss;
    memset(&ss, 0xee, sizeof(ss));
    socklen_t len = sizeof(ss);
    ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&ss, &len);
    CHECK(n >= 0, "recvfrom fd %d", fd);
    buf[n] = 0;
    EXPECT(strcmp(buf, text) == 0, "recvfrom fd %d: got '%s', expected '%s'", fd, buf, text);
    EXPECT(len == family_len(), "recvfrom fd %d: address length %u", fd, (unsigned)len);
    EXPECT(strcmp(show((struct sockaddr *)&ss, len), sender) == 0, "recvfrom fd %d: sender '%s', expected '%s'", fd,
           show((struct sockaddr *)&ss, len), sender);
}

static void send_to(int fd, const char *text, const struct addr *to)
{
    ssize_t n = sendto(fd, text, strlen(text), 0, (const struct sockaddr *)&to->ss, to->len);
    CHECK(n == (ssize_t)strlen(text), "sendto fd %d '%s'", fd, text);
}

int main(int argc, char **argv)
{
    CHECK(argc == 4, "usage: dgram IP LOOPBACK PORT");
    const char *ip = argv[1], *lo = argv[2];
    int port = atoi(argv[3]);
    dir = getenv("UNSOCK_DIR");
    CHECK(dir != NULL, "UNSOCK_DIR not set");
    family = strchr(ip, ':') ? AF_INET6 : AF_INET;
    struct addr srv_addr = make(ip, port);
    char want[128];

    /* The server: a unix datagram socket at DIR/PORT.udp that says it is UDP. */
    int srv = dgram_socket();
    MUST(bind(srv, (struct sockaddr *)&srv_addr.ss, srv_addr.len));
    CHECK(is_unix_socket(srv), "server not converted");
    EXPECT(file_exists(port), "no %s/%d" DGRAM_SUFFIX, dir, port);
    {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        MUST(getsockname(srv, (struct sockaddr *)&ss, &len));
        snprintf(want, sizeof(want), "%s %d", ip, port);
        EXPECT(strcmp(show((struct sockaddr *)&ss, len), want) == 0, "server getsockname %s",
               show((struct sockaddr *)&ss, len));
        int v;
        socklen_t vl = sizeof(v);
        MUST(getsockopt(srv, SOL_SOCKET, SO_DOMAIN, &v, &vl));
        EXPECT(v == family, "SO_DOMAIN %d", v);
        MUST(getsockopt(srv, SOL_SOCKET, SO_TYPE, &v, &vl));
        EXPECT(v == SOCK_DGRAM, "SO_TYPE %d", v);
        MUST(getsockopt(srv, SOL_SOCKET, SO_PROTOCOL, &v, &vl));
        EXPECT(v == IPPROTO_UDP, "SO_PROTOCOL %d", v);
    }
    char srv_sender[128];
    snprintf(srv_sender, sizeof(srv_sender), "%s %d", lo, port);

    /* An unconnected client that never binds: sendto gives it a reply address. */
    int c1 = dgram_socket();
    send_to(c1, "one", &srv_addr);
    CHECK(is_unix_socket(c1), "client not converted at its first sendto");
    int p1 = local_port(c1);
    EXPECT(p1 >= 1024 && p1 != port, "implicit port %d", p1);
    EXPECT(file_exists(p1), "no socket file for the implicit port %d", p1);
    snprintf(want, sizeof(want), "%s %d", lo, p1);
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof(from);
    {
        char buf[16];
        ssize_t n = recvfrom(srv, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
        CHECK(n == 3 && memcmp(buf, "one", 3) == 0, "server recvfrom");
        EXPECT(strcmp(show((struct sockaddr *)&from, fromlen), want) == 0, "server saw '%s', expected '%s'",
               show((struct sockaddr *)&from, fromlen), want);
    }
    /* the server answers to what recvfrom said; the client sees the server */
    CHECK(sendto(srv, "ONE", 3, 0, (struct sockaddr *)&from, fromlen) == 3, "server sendto");
    expect_from(c1, "ONE", srv_sender);
    /* more datagrams keep the same reply address */
    send_to(c1, "one again", &srv_addr);
    expect_from(srv, "one again", want);
    EXPECT(local_port(c1) == p1, "reply port changed");

    /* sendmsg/recvmsg with two iovecs each way, names in msg_name */
    {
        char a[] = "two ", b[] = "parts";
        struct iovec iov[2] = {{a, 4}, {b, 5}};
        struct msghdr m = {.msg_name = &srv_addr.ss, .msg_namelen = srv_addr.len, .msg_iov = iov, .msg_iovlen = 2};
        CHECK(sendmsg(c1, &m, 0) == 9, "sendmsg");
        char r1[5], r2[16];
        struct iovec riov[2] = {{r1, 5}, {r2, sizeof(r2)}};
        struct sockaddr_storage name;
        memset(&name, 0, sizeof(name));
        struct msghdr rm = {.msg_name = &name, .msg_namelen = sizeof(name), .msg_iov = riov, .msg_iovlen = 2};
        ssize_t n = recvmsg(srv, &rm, 0);
        CHECK(n == 9, "recvmsg %zd", n);
        EXPECT(memcmp(r1, "two p", 5) == 0 && memcmp(r2, "arts", 4) == 0, "recvmsg data");
        EXPECT(rm.msg_namelen == family_len(), "recvmsg namelen %u", (unsigned)rm.msg_namelen);
        EXPECT(strcmp(show((struct sockaddr *)&name, rm.msg_namelen), want) == 0, "recvmsg sender '%s'",
               show((struct sockaddr *)&name, rm.msg_namelen));
        EXPECT(!(rm.msg_flags & MSG_TRUNC), "recvmsg flags %#x", rm.msg_flags);
        /* reply with sendmsg to the name recvmsg filled in */
        struct iovec back = {"TWO PARTS", 9};
        struct msghdr bm = {.msg_name = &name, .msg_namelen = rm.msg_namelen, .msg_iov = &back, .msg_iovlen = 1};
        CHECK(sendmsg(srv, &bm, 0) == 9, "server sendmsg");
        char got[16] = {0};
        struct iovec giov = {got, sizeof(got) - 1};
        struct sockaddr_storage gname;
        struct msghdr gm = {.msg_name = &gname, .msg_namelen = sizeof(gname), .msg_iov = &giov, .msg_iovlen = 1};
        CHECK(recvmsg(c1, &gm, 0) == 9, "client recvmsg");
        EXPECT(strcmp(got, "TWO PARTS") == 0, "client recvmsg data '%s'", got);
        EXPECT(strcmp(show((struct sockaddr *)&gname, gm.msg_namelen), srv_sender) == 0, "client recvmsg sender '%s'",
               show((struct sockaddr *)&gname, gm.msg_namelen));
        /* a truncated datagram: MSG_TRUNC, as on UDP */
        send_to(c1, "0123456789", &srv_addr);
        char small[4];
        struct iovec siov = {small, sizeof(small)};
        struct msghdr sm = {.msg_iov = &siov, .msg_iovlen = 1};
        CHECK(recvmsg(srv, &sm, 0) == 4, "truncated recvmsg");
        EXPECT(sm.msg_flags & MSG_TRUNC, "no MSG_TRUNC");
        EXPECT(sm.msg_namelen == 0, "recvmsg without a name buffer: namelen %u", (unsigned)sm.msg_namelen);
    }

    /* sendmmsg/recvmmsg: three datagrams each way, each with its name */
    {
        struct mmsghdr out[3];
        struct iovec oiov[3];
        char text[3][8];
        memset(out, 0, sizeof(out));
        for (int i = 0; i < 3; i++) {
            snprintf(text[i], sizeof(text[i]), "mm%d", i);
            oiov[i] = (struct iovec){text[i], strlen(text[i])};
            out[i].msg_hdr = (struct msghdr){.msg_name = &srv_addr.ss, .msg_namelen = srv_addr.len,
                                             .msg_iov = &oiov[i], .msg_iovlen = 1};
        }
        CHECK(sendmmsg(c1, out, 3, 0) == 3, "sendmmsg");
        struct mmsghdr in[4];
        struct iovec iiov[4];
        char buf[4][16];
        struct sockaddr_storage names[4];
        memset(in, 0, sizeof(in));
        for (int i = 0; i < 4; i++) {
            iiov[i] = (struct iovec){buf[i], sizeof(buf[i])};
            in[i].msg_hdr = (struct msghdr){.msg_name = &names[i], .msg_namelen = sizeof(names[i]),
                                            .msg_iov = &iiov[i], .msg_iovlen = 1};
        }
        int got = 0;
        while (got < 3) {
            struct timespec t = {10, 0};
            int r = recvmmsg(srv, in + got, 4 - got, MSG_WAITFORONE, &t);
            CHECK(r > 0, "recvmmsg");
            got += r;
        }
        EXPECT(got == 3, "recvmmsg got %d", got);
        for (int i = 0; i < 3; i++) {
            EXPECT(in[i].msg_len == 3 && memcmp(buf[i], text[i], 3) == 0, "recvmmsg %d data", i);
            EXPECT(strcmp(show((struct sockaddr *)&names[i], in[i].msg_hdr.msg_namelen), want) == 0,
                   "recvmmsg %d sender '%s'", i, show((struct sockaddr *)&names[i], in[i].msg_hdr.msg_namelen));
            /* answer each to the name it came with */
            oiov[i] = (struct iovec){"MM", 2};
            out[i].msg_hdr = (struct msghdr){.msg_name = &names[i], .msg_namelen = in[i].msg_hdr.msg_namelen,
                                             .msg_iov = &oiov[i], .msg_iovlen = 1};
        }
        CHECK(sendmmsg(srv, out, 3, 0) == 3, "server sendmmsg");
        got = 0;
        memset(in, 0, sizeof(in));
        for (int i = 0; i < 4; i++)
            in[i].msg_hdr = (struct msghdr){.msg_name = &names[i], .msg_namelen = sizeof(names[i]),
                                            .msg_iov = &iiov[i], .msg_iovlen = 1};
        while (got < 3) {
            int r = recvmmsg(c1, in + got, 4 - got, MSG_WAITFORONE, NULL);
            CHECK(r > 0, "client recvmmsg");
            got += r;
        }
        for (int i = 0; i < 3; i++)
            EXPECT(strcmp(show((struct sockaddr *)&names[i], in[i].msg_hdr.msg_namelen), srv_sender) == 0,
                   "client recvmmsg %d sender '%s'", i, show((struct sockaddr *)&names[i], in[i].msg_hdr.msg_namelen));
    }

    /* A connected client: connect gives the reply address; send/recv without names. */
    int c2 = dgram_socket();
    MUST(connect(c2, (struct sockaddr *)&srv_addr.ss, srv_addr.len));
    CHECK(is_unix_socket(c2), "connected client not converted");
    int p2 = local_port(c2);
    EXPECT(p2 >= 1024 && p2 != port && p2 != p1, "connected client's port %d", p2);
    EXPECT(file_exists(p2), "no socket file for the connected client's port %d", p2);
    {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        MUST(getpeername(c2, (struct sockaddr *)&ss, &len));
        snprintf(want, sizeof(want), "%s %d", ip, port);
        EXPECT(strcmp(show((struct sockaddr *)&ss, len), want) == 0, "getpeername '%s'", show((struct sockaddr *)&ss, len));
    }
    CHECK(send(c2, "three", 5, 0) == 5, "send");
    snprintf(want, sizeof(want), "%s %d", lo, p2);
    expect_from(srv, "three", want);
    struct addr c2_addr = make(lo, p2);
    send_to(srv, "THREE", &c2_addr);
    {
        char buf[16] = {0};
        CHECK(recv(c2, buf, sizeof(buf), 0) == 5 && strcmp(buf, "THREE") == 0, "connected recv");
    }
    send_to(srv, "THREE again", &c2_addr);
    expect_from(c2, "THREE again", srv_sender);

    /* NULL and short address arguments lose nothing: five datagrams, five reads, in order */
    {
        const char *words[] = {"null-a", "null-b", "short-c", "peek-d", "full-e"};
        for (int i = 0; i < 5; i++)
            CHECK(send(c2, words[i], strlen(words[i]), 0) == (ssize_t)strlen(words[i]), "send %s", words[i]);
        char buf[32];
        ssize_t n = recvfrom(srv, buf, sizeof(buf), 0, NULL, NULL);
        EXPECT(n == 6 && memcmp(buf, "null-a", 6) == 0, "recvfrom NULL, NULL: %zd", n);
        n = recv(srv, buf, sizeof(buf), 0);
        EXPECT(n == 6 && memcmp(buf, "null-b", 6) == 0, "recv: %zd", n);
        sa_family_t fam_only[4];
        socklen_t short_len = sizeof(sa_family_t);
        n = recvfrom(srv, buf, sizeof(buf), 0, (struct sockaddr *)fam_only, &short_len);
        EXPECT(n == 7 && memcmp(buf, "short-c", 7) == 0, "recvfrom with a short address: %zd", n);
        EXPECT(short_len == family_len(), "short recvfrom: length %u (the full size, as the kernel says)",
               (unsigned)short_len);
        EXPECT(fam_only[0] == family, "short recvfrom: family %d", fam_only[0]);
        n = recvfrom(srv, buf, sizeof(buf), MSG_PEEK, NULL, NULL);
        EXPECT(n == 6 && memcmp(buf, "peek-d", 6) == 0, "MSG_PEEK with NULL: %zd", n);
        n = read(srv, buf, sizeof(buf));
        EXPECT(n == 6 && memcmp(buf, "peek-d", 6) == 0, "read after peek: %zd", n);
        expect_from(srv, "full-e", want);
    }

    /* A client registered with epoll before its first sendto keeps its registration. */
    {
        int ep = epoll_create1(0);
        MUST(ep);
        int c3 = dgram_socket();
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x5eed};
        MUST(epoll_ctl(ep, EPOLL_CTL_ADD, c3, &ev));
        send_to(c3, "four", &srv_addr);
        CHECK(is_unix_socket(c3), "epoll client not converted");
        int p3 = local_port(c3);
        snprintf(want, sizeof(want), "%s %d", lo, p3);
        expect_from(srv, "four", want);
        struct addr c3_addr = make(lo, p3);
        send_to(srv, "FOUR", &c3_addr);
        struct epoll_event got;
        int n = epoll_wait(ep, &got, 1, 10000);
        EXPECT(n == 1 && got.data.u64 == 0x5eed && (got.events & EPOLLIN), "epoll after the swap: %d", n);
        expect_from(c3, "FOUR", srv_sender);
        /* and a server registered before bind */
        int s2 = dgram_socket();
        ev.data.u64 = 0xbeef;
        MUST(epoll_ctl(ep, EPOLL_CTL_ADD, s2, &ev));
        struct addr s2_addr = make(ip, 0);
        MUST(bind(s2, (struct sockaddr *)&s2_addr.ss, s2_addr.len));
        CHECK(is_unix_socket(s2), "port 0 server not converted");
        int ps2 = local_port(s2);
        EXPECT(ps2 >= 1024 && file_exists(ps2), "port 0 bind gave port %d", ps2);
        s2_addr = make(ip, ps2);
        send_to(c3, "five", &s2_addr);
        n = epoll_wait(ep, &got, 1, 10000);
        EXPECT(n == 1 && got.data.u64 == 0xbeef, "epoll on a server registered before bind: %d", n);
        expect_from(s2, "five", want);
        MUST(close(s2));
        EXPECT(file_gone(ps2), "port 0 server's file left after close");
        MUST(close(c3));
        EXPECT(file_gone(p3), "epoll client's reply file left after close");
        close(ep);
    }

    /* sendmsg and sendmmsg as a client's first call also give it a reply address */
    {
        int c4 = dgram_socket();
        struct iovec iov = {"six", 3};
        struct msghdr m = {.msg_name = &srv_addr.ss, .msg_namelen = srv_addr.len, .msg_iov = &iov, .msg_iovlen = 1};
        CHECK(sendmsg(c4, &m, 0) == 3, "first sendmsg");
        int p4 = local_port(c4);
        EXPECT(p4 >= 1024 && file_exists(p4), "sendmsg client port %d", p4);
        snprintf(want, sizeof(want), "%s %d", lo, p4);
        expect_from(srv, "six", want);
        int c5 = dgram_socket();
        struct mmsghdr mm = {.msg_hdr = m};
        iov = (struct iovec){"seven", 5};
        CHECK(sendmmsg(c5, &mm, 1, 0) == 1, "first sendmmsg");
        int p5 = local_port(c5);
        EXPECT(p5 >= 1024 && p5 != p4 && file_exists(p5), "sendmmsg client port %d", p5);
        snprintf(want, sizeof(want), "%s %d", lo, p5);
        expect_from(srv, "seven", want);
        MUST(close(c4));
        MUST(close(c5));
        EXPECT(file_gone(p4) && file_gone(p5), "reply files left after close");
    }

    /* A native unbound unix datagram socket sending to the file: port 0. */
    {
        int u = socket(AF_UNIX, SOCK_DGRAM, 0);
        MUST(u);
        char path[256];
        snprintf(path, sizeof(path), "%s/%d" DGRAM_SUFFIX, dir, port);
        struct sockaddr_un ua = unix_addr(path);
        CHECK(sendto(u, "native", 6, 0, (struct sockaddr *)&ua, sizeof(ua)) == 6, "native sendto");
        snprintf(want, sizeof(want), "%s 0", lo);
        expect_from(srv, "native", want);
        close(u);
    }

    /* Closing removes the reply addresses and the server's file. */
    MUST(close(c1));
    MUST(close(c2));
    EXPECT(file_gone(p1), "unconnected client's file %d left after close", p1);
    EXPECT(file_gone(p2), "connected client's file %d left after close", p2);
    MUST(close(srv));
    EXPECT(file_gone(port), "server's file left after close");
    if (failures == 0)
        printf("ok\n");
    return failures != 0;
}
