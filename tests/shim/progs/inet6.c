/* Stream sockets over IPv6 as a program sees them: a listener bound to port 0 of IP (::1 or
 * an IPv4-mapped address) with IPV6_TCLASS set before bind, a client with
 * IPV6_UNICAST_HOPS set before connect, the accepted socket; then a dual-stack listener on
 * [::] (IPV6_V6ONLY off) reached by IPv6, IPv4-mapped and IPv4 clients. Prints what the
 * calls return, without port numbers or pids, so that a run on real TCP and one under the
 * shim print the same, but for the last line: which sockets are unix ones.
 * Usage: inet6 IP */
#include "probe.h"

#include <netinet/tcp.h>

static int option(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    MUST(getsockopt(fd, level, name, &v, &len));
    CHECK(len == sizeof(v), "option %d/%d length %u", level, name, (unsigned)len);
    return v;
}

static void print_options(const char *role, int fd)
{
    printf("%s domain=%d type=%d protocol=%d tclass=%d hops=%d v6only=%d nodelay=%d\n", role,
           option(fd, SOL_SOCKET, SO_DOMAIN), option(fd, SOL_SOCKET, SO_TYPE), option(fd, SOL_SOCKET, SO_PROTOCOL),
           option(fd, IPPROTO_IPV6, IPV6_TCLASS), option(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS),
           option(fd, IPPROTO_IPV6, IPV6_V6ONLY), option(fd, IPPROTO_TCP, TCP_NODELAY));
}

/* An address printed without its port; whether the port is one a socket may have. */
static void print_name(const char *what, const struct sockaddr_in6 *a, socklen_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
    int port = ntohs(a->sin6_port);
    printf("%s len=%u family=%d %s port-ok=%d\n", what, (unsigned)len, a->sin6_family, ip, port >= 1024);
}

static int equal(const struct sockaddr_in6 *a, const struct sockaddr_in6 *b)
{
    return a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
}

static void exchange(int from, int to)
{
    char b = 0;
    write_all(from, "6", 1);
    CHECK(read(to, &b, 1) == 1 && b == '6', "data did not pass");
}

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: inet6 IP");
    setvbuf(stdout, NULL, _IOLBF, 0);
    int one = 1, tclass = 0x28, hops = 9, off = 0;
    struct sockaddr_in6 a = inet6_addr_port(argv[1], 0), name, peer, cname, cpeer;
    socklen_t len = sizeof(name);

    int l = socket(AF_INET6, SOCK_STREAM, 0);
    MUST(l);
    MUST(setsockopt(l, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass)));
    MUST(bind(l, (struct sockaddr *)&a, sizeof(a)));
    MUST(listen(l, 16));
    MUST(getsockname(l, (struct sockaddr *)&name, &len));
    print_name("listener", &name, len);

    int c = socket(AF_INET6, SOCK_STREAM, 0);
    MUST(c);
    MUST(setsockopt(c, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)));
    MUST(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
    MUST(connect(c, (struct sockaddr *)&name, sizeof(name)));
    len = sizeof(peer);
    int s = accept(l, (struct sockaddr *)&peer, &len);
    MUST(s);
    printf("accepted len=%u family=%d\n", (unsigned)len, peer.sin6_family);
    len = sizeof(cname);
    MUST(getsockname(c, (struct sockaddr *)&cname, &len));
    len = sizeof(cpeer);
    MUST(getpeername(c, (struct sockaddr *)&cpeer, &len));
    printf("ends agree: %d %d\n", equal(&peer, &cname), equal(&cpeer, &name));
    exchange(c, s);
    exchange(s, c);
    print_options("listener", l);
    print_options("client", c);
    print_options("accepted", s);

    /* Dual stack: [::], port 0, IPV6_V6ONLY off before bind. */
    int d = socket(AF_INET6, SOCK_STREAM, 0);
    MUST(d);
    MUST(setsockopt(d, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)));
    struct sockaddr_in6 any = inet6_addr_port("::", 0);
    MUST(bind(d, (struct sockaddr *)&any, sizeof(any)));
    MUST(listen(d, 16));
    len = sizeof(name);
    MUST(getsockname(d, (struct sockaddr *)&name, &len));
    print_name("dual", &name, len);
    int port = ntohs(name.sin6_port), clients[3], unix_clients = 0;
    const char *to[] = {"::1", "::ffff:127.0.0.1"};
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in6 dest = inet6_addr_port(to[i], port);
        clients[i] = socket(AF_INET6, SOCK_STREAM, 0);
        MUST(clients[i]);
        MUST(connect(clients[i], (struct sockaddr *)&dest, sizeof(dest)));
    }
    clients[2] = connect_to("127.0.0.1", port);
    for (int i = 0; i < 3; i++) {
        len = sizeof(peer);
        int t = accept(d, (struct sockaddr *)&peer, &len);
        MUST(t);
        char ip[INET6_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET6, &peer.sin6_addr, ip, sizeof(ip));
        printf("dual accepted len=%u family=%d %s\n", (unsigned)len, peer.sin6_family,
               strncmp(ip, "::ffff:127.", 11) == 0 ? "v4-mapped" : ip);
        exchange(clients[i], t);
        unix_clients += is_unix_socket(clients[i]);
        MUST(close(t));
    }
    printf("unix %d %d %d %d %d/3\n", is_unix_socket(l), is_unix_socket(c), is_unix_socket(s), is_unix_socket(d),
           unix_clients);
    return 0;
}
