/* TCP- and IP-level options on converted sockets behave as on real TCP
 * sockets in the same state: same results, same errors, same values read
 * back.  Every call is made on a real TCP socket (REAL_IP, not covered) and
 * on a converted one (COVERED_IP), and the outcomes compared.
 * Usage: sockopts COVERED_IP REAL_IP */
#include "probe.h"

#include <netinet/tcp.h>

enum { CLIENT, ACCEPTED, LISTENER, NROLES };
static const char *role_name[] = {"client", "accepted", "listener"};

struct trio {
    int fd[NROLES];
};

static struct trio trio(const char *ip)
{
    struct trio t;
    t.fd[LISTENER] = listener(ip, 0);
    t.fd[CLIENT] = connect_to(ip, port_of(t.fd[LISTENER]));
    t.fd[ACCEPTED] = accept(t.fd[LISTENER], NULL, NULL);
    MUST(t.fd[ACCEPTED]);
    return t;
}

struct outcome {
    int ret, err;
    socklen_t len;
    unsigned char buf[256];
};

static struct outcome do_set(int fd, int level, int name, const void *val, socklen_t len)
{
    struct outcome o;
    memset(&o, 0, sizeof(o));
    errno = 0;
    o.ret = setsockopt(fd, level, name, val, len);
    o.err = o.ret == 0 ? 0 : errno;
    return o;
}

static struct outcome do_get(int fd, int level, int name, socklen_t len, int null_val, int null_len)
{
    struct outcome o;
    memset(o.buf, 0xaa, sizeof(o.buf));
    o.len = len;
    errno = 0;
    o.ret = getsockopt(fd, level, name, null_val ? NULL : o.buf, null_len ? NULL : &o.len);
    o.err = o.ret == 0 ? 0 : errno;
    return o;
}

static void same(const char *what, const char *role, struct outcome r, struct outcome k, int value)
{
    EXPECT(r.ret == k.ret && r.err == k.err, "%s on %s: TCP gives %d (%s), converted %d (%s)", what, role,
           r.ret, strerror(r.err), k.ret, strerror(k.err));
    if (r.ret != 0 || k.ret != 0 || !value)
        return;
    EXPECT(r.len == k.len, "%s on %s: TCP length %d, converted %d", what, role, (int)r.len, (int)k.len);
    if (r.len == k.len && memcmp(r.buf, k.buf, sizeof(r.buf)) != 0) {
        int rv, kv;
        memcpy(&rv, r.buf, sizeof(rv));
        memcpy(&kv, k.buf, sizeof(kv));
        EXPECT(0, "%s on %s: TCP reads %d (%.16s), converted %d (%.16s)", what, role, rv, (char *)r.buf, kv,
               (char *)k.buf);
    }
}

/* Set on both, compare; then read back on both, compare. */
static void set_cmp(struct trio *r, struct trio *k, unsigned roles, const char *what, int level, int name,
                    const void *val, socklen_t len, int value)
{
    for (int i = 0; i < NROLES; i++) {
        if (!(roles & (1u << i)))
            continue;
        same(what, role_name[i], do_set(r->fd[i], level, name, val, len), do_set(k->fd[i], level, name, val, len),
             0);
        same(what, role_name[i], do_get(r->fd[i], level, name, 64, 0, 0), do_get(k->fd[i], level, name, 64, 0, 0),
             value);
    }
}

static void set_int(struct trio *r, struct trio *k, unsigned roles, const char *what, int level, int name, int v)
{
    set_cmp(r, k, roles, what, level, name, &v, sizeof(v), 1);
}

static void get_cmp(struct trio *r, struct trio *k, unsigned roles, const char *what, int level, int name,
                    socklen_t len, int null_val, int null_len)
{
    for (int i = 0; i < NROLES; i++)
        if (roles & (1u << i))
            same(what, role_name[i], do_get(r->fd[i], level, name, len, null_val, null_len),
                 do_get(k->fd[i], level, name, len, null_val, null_len), 1);
}

#define ALL ((1u << CLIENT) | (1u << ACCEPTED) | (1u << LISTENER))
#define CONN ((1u << CLIENT) | (1u << ACCEPTED))
#define LIST (1u << LISTENER)

static void check_tcp_info(int fd, int listening, const char *what)
{
    struct tcp_info ti;
    memset(&ti, 0xaa, sizeof(ti));
    socklen_t len = sizeof(ti);
    MUST(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
    EXPECT(len == sizeof(ti), "TCP_INFO on %s: length %u of %zu", what, len, sizeof(ti));
    EXPECT(ti.tcpi_state == (listening ? 10 : 1), "TCP_INFO on %s: state %u", what, ti.tcpi_state);
    if (!listening)
        EXPECT(ti.tcpi_snd_mss > 0 && ti.tcpi_rcv_mss > 0, "TCP_INFO on %s: mss 0", what);
    unsigned char small[8];
    len = sizeof(small);
    MUST(getsockopt(fd, IPPROTO_TCP, TCP_INFO, small, &len));
    EXPECT(len == sizeof(small) && small[0] == (listening ? 10 : 1), "short TCP_INFO on %s", what);
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: sockopts COVERED_IP REAL_IP");
    const char *covered = argv[1], *real = argv[2];
    struct trio k = trio(covered), r = trio(real);
    for (int i = 0; i < NROLES; i++) {
        CHECK(is_unix_socket(k.fd[i]), "%s on %s was not converted", role_name[i], covered);
        CHECK(!is_unix_socket(r.fd[i]), "%s on %s was converted", role_name[i], real);
    }

    /* What the socket says it is. */
    get_cmp(&r, &k, ALL, "SO_DOMAIN", SOL_SOCKET, SO_DOMAIN, 4, 0, 0);
    get_cmp(&r, &k, ALL, "SO_PROTOCOL", SOL_SOCKET, SO_PROTOCOL, 4, 0, 0);
    get_cmp(&r, &k, ALL, "SO_TYPE", SOL_SOCKET, SO_TYPE, 4, 0, 0);
    get_cmp(&r, &k, ALL, "SO_ACCEPTCONN", SOL_SOCKET, SO_ACCEPTCONN, 4, 0, 0);
    get_cmp(&r, &k, ALL, "SO_DOMAIN len 2", SOL_SOCKET, SO_DOMAIN, 2, 0, 0);
    get_cmp(&r, &k, ALL, "SO_DOMAIN len 64", SOL_SOCKET, SO_DOMAIN, 64, 0, 0);
    get_cmp(&r, &k, ALL, "SO_DOMAIN len -1", SOL_SOCKET, SO_DOMAIN, (socklen_t)-1, 0, 0);
    get_cmp(&r, &k, ALL, "SO_DOMAIN NULL len", SOL_SOCKET, SO_DOMAIN, 4, 0, 1);

    /* Never set: a fresh socket's defaults. */
    get_cmp(&r, &k, ALL, "TCP_NODELAY default", IPPROTO_TCP, TCP_NODELAY, 4, 0, 0);
    get_cmp(&r, &k, ALL, "TCP_KEEPIDLE default", IPPROTO_TCP, TCP_KEEPIDLE, 4, 0, 0);
    get_cmp(&r, &k, ALL, "TCP_CONGESTION default", IPPROTO_TCP, TCP_CONGESTION, 16, 0, 0);
    get_cmp(&r, &k, ALL, "IP_TOS default", IPPROTO_IP, IP_TOS, 4, 0, 0);

    /* Switches that servers flip per request. */
    set_int(&r, &k, ALL, "TCP_NODELAY 1", IPPROTO_TCP, TCP_NODELAY, 1);
    set_int(&r, &k, ALL, "TCP_NODELAY 7", IPPROTO_TCP, TCP_NODELAY, 7);
    set_int(&r, &k, ALL, "TCP_NODELAY 0", IPPROTO_TCP, TCP_NODELAY, 0);
    set_int(&r, &k, ALL, "TCP_CORK 1", IPPROTO_TCP, TCP_CORK, 1);
    set_int(&r, &k, ALL, "TCP_CORK 0", IPPROTO_TCP, TCP_CORK, 0);
    short two = 1;
    set_cmp(&r, &k, ALL, "TCP_NODELAY optlen 2", IPPROTO_TCP, TCP_NODELAY, &two, sizeof(two), 1);
    set_cmp(&r, &k, ALL, "TCP_CORK NULL", IPPROTO_TCP, TCP_CORK, NULL, sizeof(int), 1);
    long eight = 1;
    set_cmp(&r, &k, ALL, "TCP_NODELAY optlen 8", IPPROTO_TCP, TCP_NODELAY, &eight, sizeof(eight), 1);

    /* Keepalive tuning, valid and invalid. */
    set_int(&r, &k, ALL, "TCP_KEEPIDLE 30", IPPROTO_TCP, TCP_KEEPIDLE, 30);
    set_int(&r, &k, ALL, "TCP_KEEPIDLE 0", IPPROTO_TCP, TCP_KEEPIDLE, 0);
    set_int(&r, &k, ALL, "TCP_KEEPIDLE 40000", IPPROTO_TCP, TCP_KEEPIDLE, 40000);
    set_int(&r, &k, ALL, "TCP_KEEPINTVL 5", IPPROTO_TCP, TCP_KEEPINTVL, 5);
    set_int(&r, &k, ALL, "TCP_KEEPINTVL -1", IPPROTO_TCP, TCP_KEEPINTVL, -1);
    set_int(&r, &k, ALL, "TCP_KEEPCNT 3", IPPROTO_TCP, TCP_KEEPCNT, 3);
    set_int(&r, &k, ALL, "TCP_KEEPCNT 0", IPPROTO_TCP, TCP_KEEPCNT, 0);
    set_int(&r, &k, ALL, "TCP_KEEPCNT 200", IPPROTO_TCP, TCP_KEEPCNT, 200);
    set_cmp(&r, &k, ALL, "TCP_KEEPIDLE optlen 2", IPPROTO_TCP, TCP_KEEPIDLE, &two, sizeof(two), 1);
    set_cmp(&r, &k, ALL, "TCP_KEEPIDLE NULL", IPPROTO_TCP, TCP_KEEPIDLE, NULL, sizeof(int), 1);
    set_int(&r, &k, ALL, "TCP_USER_TIMEOUT 1000", IPPROTO_TCP, TCP_USER_TIMEOUT, 1000);
    set_int(&r, &k, ALL, "TCP_USER_TIMEOUT -1", IPPROTO_TCP, TCP_USER_TIMEOUT, -1);
    set_int(&r, &k, ALL, "TCP_NOTSENT_LOWAT 16384", IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384);
    set_int(&r, &k, ALL, "TCP_LINGER2 10", IPPROTO_TCP, TCP_LINGER2, 10);
    set_int(&r, &k, ALL, "TCP_SYNCNT 3", IPPROTO_TCP, TCP_SYNCNT, 3);
    set_int(&r, &k, ALL, "TCP_SYNCNT 0", IPPROTO_TCP, TCP_SYNCNT, 0);

    /* Congestion control by name. */
    set_cmp(&r, &k, ALL, "TCP_CONGESTION reno", IPPROTO_TCP, TCP_CONGESTION, "reno", 4, 1);
    set_cmp(&r, &k, ALL, "TCP_CONGESTION cubic", IPPROTO_TCP, TCP_CONGESTION, "cubic", 6, 1);
    set_cmp(&r, &k, ALL, "TCP_CONGESTION bogus", IPPROTO_TCP, TCP_CONGESTION, "no-such-cc", 10, 1);
    get_cmp(&r, &k, ALL, "TCP_CONGESTION len 3", IPPROTO_TCP, TCP_CONGESTION, 3, 0, 0);

    /* Segment size: the values set read back on listeners; an established
     * connection reports its path MSS on TCP, only the result is compared. */
    set_int(&r, &k, LIST, "TCP_MAXSEG 1000", IPPROTO_TCP, TCP_MAXSEG, 1000);
    set_int(&r, &k, LIST, "TCP_MAXSEG 1", IPPROTO_TCP, TCP_MAXSEG, 1);
    int mss_values[] = {1200, 1};
    for (int i = CLIENT; i <= ACCEPTED; i++) {
        for (size_t j = 0; j < 2; j++) {
            int *v = &mss_values[j];
            same("TCP_MAXSEG", role_name[i], do_set(r.fd[i], IPPROTO_TCP, TCP_MAXSEG, v, sizeof(*v)),
                 do_set(k.fd[i], IPPROTO_TCP, TCP_MAXSEG, v, sizeof(*v)), 0);
        }
        int mss = 0;
        socklen_t len = sizeof(mss);
        MUST(getsockopt(k.fd[i], IPPROTO_TCP, TCP_MAXSEG, &mss, &len));
        EXPECT(len == sizeof(mss) && mss >= 536, "TCP_MAXSEG on converted %s reads %d", role_name[i], mss);
    }

    /* Listener options. */
    set_int(&r, &k, LIST, "TCP_DEFER_ACCEPT 5", IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
    set_int(&r, &k, LIST, "TCP_DEFER_ACCEPT 0", IPPROTO_TCP, TCP_DEFER_ACCEPT, 0);
    set_int(&r, &k, LIST, "TCP_FASTOPEN 5", IPPROTO_TCP, TCP_FASTOPEN, 5);

    /* IP level. */
    set_int(&r, &k, ALL, "IP_TOS 0x10", IPPROTO_IP, IP_TOS, 0x10);
    set_int(&r, &k, ALL, "IP_TOS 0x13", IPPROTO_IP, IP_TOS, 0x13);
    set_int(&r, &k, ALL, "IP_TTL 32", IPPROTO_IP, IP_TTL, 32);
    set_int(&r, &k, ALL, "IP_TTL 0", IPPROTO_IP, IP_TTL, 0);
    set_int(&r, &k, ALL, "IP_TTL 256", IPPROTO_IP, IP_TTL, 256);
    get_cmp(&r, &k, ALL, "IP_TOS len -1", IPPROTO_IP, IP_TOS, (socklen_t)-1, 0, 0);

    /* Unknown options and odd lengths or pointers when reading. */
    set_int(&r, &k, ALL, "TCP option 9999", IPPROTO_TCP, 9999, 1);
    get_cmp(&r, &k, ALL, "TCP_NODELAY len 1", IPPROTO_TCP, TCP_NODELAY, 1, 0, 0);
    get_cmp(&r, &k, ALL, "TCP_NODELAY len 0", IPPROTO_TCP, TCP_NODELAY, 0, 0, 0);
    get_cmp(&r, &k, ALL, "TCP_NODELAY len -1", IPPROTO_TCP, TCP_NODELAY, (socklen_t)-1, 0, 0);
    get_cmp(&r, &k, ALL, "TCP_KEEPIDLE len -1", IPPROTO_TCP, TCP_KEEPIDLE, (socklen_t)-1, 0, 0);
    get_cmp(&r, &k, ALL, "TCP_NODELAY NULL value", IPPROTO_TCP, TCP_NODELAY, 4, 1, 0);
    get_cmp(&r, &k, ALL, "TCP_NODELAY NULL value len 0", IPPROTO_TCP, TCP_NODELAY, 0, 1, 0);
    get_cmp(&r, &k, ALL, "TCP_NODELAY NULL len", IPPROTO_TCP, TCP_NODELAY, 4, 0, 1);

    check_tcp_info(k.fd[CLIENT], 0, "converted client");
    check_tcp_info(k.fd[ACCEPTED], 0, "converted accepted socket");
    check_tcp_info(k.fd[LISTENER], 1, "converted listener");
    check_tcp_info(r.fd[CLIENT], 0, "TCP client");

    /* Set before connect or listen, read after the swap. */
    struct trio pre[2];
    const char *ips[2] = {real, covered};
    for (int i = 0; i < 2; i++) {
        int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
        MUST(l);
        MUST(c);
        int one = 1, idle = 77, tos = 0x20, defer = 5;
        int fds[2] = {l, c};
        for (int j = 0; j < 2; j++) {
            MUST(setsockopt(fds[j], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
            MUST(setsockopt(fds[j], IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)));
            MUST(setsockopt(fds[j], IPPROTO_IP, IP_TOS, &tos, sizeof(tos)));
            MUST(setsockopt(fds[j], IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
        }
        MUST(setsockopt(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer)));
        MUST(setsockopt(l, IPPROTO_TCP, TCP_FASTOPEN, &defer, sizeof(defer)));
        struct sockaddr_in a = inet_addr_port(ips[i], 0);
        MUST(bind(l, (struct sockaddr *)&a, sizeof(a)));
        MUST(listen(l, 8));
        a = inet_addr_port(ips[i], port_of(l));
        MUST(connect(c, (struct sockaddr *)&a, sizeof(a)));
        write_all(c, "x", 1); /* TCP_DEFER_ACCEPT: accept waits for data */
        pre[i].fd[LISTENER] = l;
        pre[i].fd[CLIENT] = c;
        pre[i].fd[ACCEPTED] = accept(l, NULL, NULL);
        MUST(pre[i].fd[ACCEPTED]);
    }
    CHECK(is_unix_socket(pre[1].fd[CLIENT]) && is_unix_socket(pre[1].fd[LISTENER]), "not converted");
    unsigned mine = (1u << CLIENT) | (1u << LISTENER);
    get_cmp(&pre[0], &pre[1], mine, "TCP_NODELAY set before", IPPROTO_TCP, TCP_NODELAY, 4, 0, 0);
    get_cmp(&pre[0], &pre[1], mine, "TCP_KEEPIDLE set before", IPPROTO_TCP, TCP_KEEPIDLE, 4, 0, 0);
    get_cmp(&pre[0], &pre[1], mine, "IP_TOS set before", IPPROTO_IP, IP_TOS, 4, 0, 0);
    get_cmp(&pre[0], &pre[1], mine, "TCP_CONGESTION set before", IPPROTO_TCP, TCP_CONGESTION, 16, 0, 0);
    get_cmp(&pre[0], &pre[1], LIST, "TCP_DEFER_ACCEPT set before", IPPROTO_TCP, TCP_DEFER_ACCEPT, 4, 0, 0);
    get_cmp(&pre[0], &pre[1], LIST, "TCP_FASTOPEN set before", IPPROTO_TCP, TCP_FASTOPEN, 4, 0, 0);

    /* Data still flows with the options in place (nginx corks its headers). */
    int on = 1, off = 0;
    MUST(setsockopt(k.fd[ACCEPTED], IPPROTO_TCP, TCP_CORK, &on, sizeof(on)));
    write_all(k.fd[ACCEPTED], "corked", 6);
    MUST(setsockopt(k.fd[ACCEPTED], IPPROTO_TCP, TCP_CORK, &off, sizeof(off)));
    char buf[6];
    read_exact(k.fd[CLIENT], buf, sizeof(buf));
    CHECK(memcmp(buf, "corked", 6) == 0, "data");
    if (failures)
        return 1;
    puts("ok");
    return 0;
}
