/* sendmmsg/recvmmsg corners on converted UDP sockets: one sendmmsg to
 * several destinations (two servers and a port nobody serves, which UDP
 * drops), recvmmsg entries without a name buffer or with a short one,
 * MSG_DONTWAIT with fewer datagrams than entries, a vector longer than the
 * kernel's UIO_MAXIOV.  Usage: mmsg IP [real]  (IP covered, with 127.0.0.1;
 * "real": the same checks on real UDP, without the conversion checks) */
#include "probe.h"

#include <signal.h>
#include <sys/uio.h>

static int real_udp;

static void blocked(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL blocked for 10 s (a send waiting for a receiver that does not read)\n";
    ssize_t r = write(2, msg, sizeof(msg) - 1);
    (void)r;
    _exit(1);
}

static int udp_server(const char *ip, int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    MUST(fd);
    struct sockaddr_in a = inet_addr_port(ip, port);
    MUST(bind(fd, (struct sockaddr *)&a, sizeof(a)));
    CHECK(real_udp || is_unix_socket(fd), "server not converted");
    return fd;
}

/* recv one datagram (non-blocking): its text, or "" when none is queued */
static const char *next(int fd)
{
    static char buf[64];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    if (n < 0) {
        CHECK(errno == EAGAIN, "recv");
        n = 0;
    }
    buf[n] = 0;
    return buf;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2 || argc == 3, "usage: mmsg IP [real]");
    const char *ip = argv[1];
    real_udp = argc == 3 && strcmp(argv[2], "real") == 0;
    signal(SIGALRM, blocked);
    alarm(10); /* a bound on a hang, not a timing check: everything here takes milliseconds */
    int a = udp_server(ip, 0), b = udp_server(ip, 0);
    struct sockaddr_in to[3] = {inet_addr_port(ip, port_of(a)), inet_addr_port(ip, port_of(b)),
                                inet_addr_port(ip, 1)}; /* port 1: nobody */

    /* One sendmmsg, six datagrams to three places. */
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    MUST(c);
    struct mmsghdr out[6];
    struct iovec iov[6];
    char text[6][8];
    memset(out, 0, sizeof(out));
    for (int i = 0; i < 6; i++) {
        snprintf(text[i], sizeof(text[i]), "m%d", i);
        iov[i] = (struct iovec){text[i], strlen(text[i])};
        out[i].msg_hdr = (struct msghdr){.msg_name = &to[i % 3], .msg_namelen = sizeof(to[0]),
                                         .msg_iov = &iov[i], .msg_iovlen = 1};
    }
    int sent = sendmmsg(c, out, 6, 0);
    EXPECT(sent == 6, "sendmmsg to three destinations sent %d", sent);
    for (int i = 0; i < 6; i++)
        EXPECT(out[i].msg_len == strlen(text[i]), "msg_len[%d] = %u", i, out[i].msg_len);
    EXPECT(strcmp(next(a), "m0") == 0 && strcmp(next(a), "m3") == 0 && strcmp(next(a), "") == 0, "server a");
    EXPECT(strcmp(next(b), "m1") == 0 && strcmp(next(b), "m4") == 0 && strcmp(next(b), "") == 0, "server b");
    int me = port_of(c);

    /* recvmmsg: entry 0 without a name, entry 1 with a 2-byte one, entry 2 full;
     * four entries, three datagrams, MSG_DONTWAIT returns the three. */
    for (int i = 0; i < 3; i++)
        CHECK(sendto(c, text[i], strlen(text[i]), 0, (struct sockaddr *)&to[0], sizeof(to[0])) > 0, "sendto");
    struct mmsghdr in[4];
    struct iovec riov[4];
    char buf[4][16];
    struct sockaddr_in names[4];
    memset(in, 0, sizeof(in));
    memset(names, 0, sizeof(names));
    for (int i = 0; i < 4; i++) {
        riov[i] = (struct iovec){buf[i], sizeof(buf[i])};
        in[i].msg_hdr = (struct msghdr){.msg_name = &names[i], .msg_namelen = sizeof(names[i]),
                                        .msg_iov = &riov[i], .msg_iovlen = 1};
    }
    in[0].msg_hdr.msg_name = NULL;
    in[0].msg_hdr.msg_namelen = 0;
    in[1].msg_hdr.msg_namelen = sizeof(sa_family_t);
    int got = recvmmsg(a, in, 4, MSG_DONTWAIT, NULL);
    EXPECT(got == 3, "recvmmsg MSG_DONTWAIT got %d", got);
    for (int i = 0; i < got && i < 3; i++)
        EXPECT(in[i].msg_len == 2 && memcmp(buf[i], text[i], 2) == 0, "recvmmsg %d data", i);
    EXPECT(in[0].msg_hdr.msg_namelen == 0, "entry without a name: namelen %u", in[0].msg_hdr.msg_namelen);
    EXPECT(in[1].msg_hdr.msg_namelen == sizeof(struct sockaddr_in) && names[1].sin_family == AF_INET &&
               names[1].sin_port == 0,
           "short name: namelen %u family %d port %d", in[1].msg_hdr.msg_namelen, names[1].sin_family,
           ntohs(names[1].sin_port));
    EXPECT(in[2].msg_hdr.msg_namelen == sizeof(struct sockaddr_in) && ntohs(names[2].sin_port) == me &&
               names[2].sin_addr.s_addr == htonl(INADDR_LOOPBACK),
           "full name: port %d, client %d", ntohs(names[2].sin_port), me);
    EXPECT(in[3].msg_len == 0, "entry 3 filled");
    errno = 0;
    EXPECT(recvmmsg(a, in, 4, MSG_DONTWAIT, NULL) == -1 && errno == EAGAIN, "empty recvmmsg: errno %d", errno);

    /* A vector longer than UIO_MAXIOV is cut to UIO_MAXIOV, as the kernel does;
     * datagrams the receiver cannot queue are dropped, as UDP drops them. */
    enum { N = 1100 };
    static struct mmsghdr many[N];
    static struct iovec one = {"x", 1};
    for (int i = 0; i < N; i++)
        many[i].msg_hdr = (struct msghdr){.msg_name = &to[1], .msg_namelen = sizeof(to[1]), .msg_iov = &one,
                                          .msg_iovlen = 1};
    sent = sendmmsg(c, many, N, 0);
    EXPECT(sent == UIO_MAXIOV, "sendmmsg of %d sent %d", N, sent);
    EXPECT(strcmp(next(b), "x") == 0, "nothing arrived from the long vector");

    close(c);
    close(a);
    close(b);
    if (failures == 0)
        printf("ok\n");
    return failures != 0;
}
