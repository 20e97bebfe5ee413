/* write, writev, read and readv on a connected UDP socket, as programs that
 * treat a connected datagram socket as a file use it: each call prints what
 * it did, in words that real UDP and a converted socket must share.
 * Usage: dgramwrite IP PORT unix|udp   (IPv6 if IP has a colon; the
 * server's socket must be a unix one, or stay UDP) */
#include "probe.h"

#include <sys/uio.h>

static int family;

static struct sockaddr_storage addr_of(const char *ip, int port, socklen_t *len)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 a = inet6_addr_port(ip, port);
        memcpy(&ss, &a, sizeof(a));
        *len = sizeof(a);
    } else {
        struct sockaddr_in a = inet_addr_port(ip, port);
        memcpy(&ss, &a, sizeof(a));
        *len = sizeof(a);
    }
    return ss;
}

static int udp_socket(void)
{
    int fd = socket(family, SOCK_DGRAM, 0);
    MUST(fd);
    return fd;
}

/* One datagram on the server: its text, and whether it came from client. */
static void expect_datagram(int srv, int client, const char *text)
{
    char buf[64];
    struct sockaddr_storage from, own;
    socklen_t flen = sizeof(from), olen = sizeof(own);
    ssize_t n = recvfrom(srv, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &flen);
    MUST(n);
    buf[n] = '\0';
    MUST(getsockname(client, (struct sockaddr *)&own, &olen));
    EXPECT(strcmp(buf, text) == 0, "server got '%s', expected '%s'", buf, text);
    EXPECT(flen == olen && memcmp(&from, &own, flen) == 0, "'%s' came from elsewhere than the client", buf);
    printf("server got %s from the client\n", buf);
}

/* The server's answer, to the address the client's datagrams came from
 * (its own, as checked). */
static void answer(int srv, int client, const char *text)
{
    struct sockaddr_storage to;
    socklen_t tlen = sizeof(to);
    MUST(getsockname(client, (struct sockaddr *)&to, &tlen));
    ssize_t n = sendto(srv, text, strlen(text), 0, (struct sockaddr *)&to, tlen);
    CHECK(n == (ssize_t)strlen(text), "sendto '%s'", text);
}

static const char *errno_name(int e)
{
    return e == EDESTADDRREQ ? "EDESTADDRREQ" : e == ENOTCONN ? "ENOTCONN" : e == EAGAIN ? "EAGAIN" : strerror(e);
}

int main(int argc, char **argv)
{
    CHECK(argc == 4, "usage: dgramwrite IP PORT unix|udp");
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *ip = argv[1];
    family = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
    socklen_t len;
    struct sockaddr_storage srv_addr = addr_of(ip, atoi(argv[2]), &len);

    int srv = udp_socket();
    MUST(bind(srv, (struct sockaddr *)&srv_addr, len));
    CHECK(is_unix_socket(srv) == (strcmp(argv[3], "unix") == 0), "the server's socket is not %s", argv[3]);
    int cli = udp_socket();
    MUST(connect(cli, (struct sockaddr *)&srv_addr, len));

    CHECK(write(cli, "one", 3) == 3, "write");
    printf("write sent 3\n");
    struct iovec iov[2] = {{.iov_base = "tw", .iov_len = 2}, {.iov_base = "o", .iov_len = 1}};
    CHECK(writev(cli, iov, 2) == 3, "writev");
    printf("writev sent 3\n");
    expect_datagram(srv, cli, "one");
    expect_datagram(srv, cli, "two");

    char buf[16] = "";
    answer(srv, cli, "three");
    ssize_t n = read(cli, buf, sizeof(buf) - 1);
    MUST(n);
    buf[n] = '\0';
    printf("read %s\n", buf);
    answer(srv, cli, "four");
    char a[3] = "", b[16] = "";
    struct iovec riov[2] = {{.iov_base = a, .iov_len = 2}, {.iov_base = b, .iov_len = sizeof(b) - 1}};
    n = readv(cli, riov, 2);
    MUST(n);
    b[n > 2 ? n - 2 : 0] = '\0';
    printf("readv %.2s|%s\n", a, b);

    /* UDP drops what does not fit the receiver's buffer; nothing blocks. */
    alarm(20);
    for (int i = 0; i < 5000; i++) {
        CHECK(write(cli, "flood", 5) == 5, "write %d to a full receiver", i);
        CHECK(writev(cli, iov, 2) == 3, "writev %d to a full receiver", i);
    }
    alarm(0);
    printf("flood of writes to a server that does not read: none blocked\n");

    /* A server that restarts gets what is written after it is back. */
    MUST(close(srv));
    write(cli, "lost", 4); /* UDP: sent, then refused (ICMP); unix: refused at once */
    srv = udp_socket();
    MUST(bind(srv, (struct sockaddr *)&srv_addr, len));
    ssize_t w = -1;
    for (int i = 0; i < 3 && w < 0; i++) {
        w = write(cli, "again", 5);
        EXPECT(w == 5 || errno == ECONNREFUSED, "write after the server restarted");
    }
    CHECK(w == 5, "write after the server restarted");
    expect_datagram(srv, cli, "again");

    /* The server is not connected: no destination. */
    errno = 0;
    CHECK(write(srv, "x", 1) < 0, "write on an unconnected socket succeeded");
    printf("write unconnected: %s\n", errno_name(errno));
    errno = 0;
    CHECK(writev(srv, iov, 2) < 0, "writev on an unconnected socket succeeded");
    printf("writev unconnected: %s\n", errno_name(errno));

    MUST(close(cli));
    MUST(close(srv));
    return failures != 0;
}
