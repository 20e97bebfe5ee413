/* Many threads converting sockets at once: 8 clients x 200 connects against
 * 4 accepting threads, while 2 more threads bind, listen, dup and close
 * listeners of their own. Every exchange must carry the right data, every
 * address must be right, and no descriptor or socket file may be left over.
 * Usage: threads COVERED_IP SOCKDIR */
#include "probe.h"

#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>

#define CLIENTS 8
#define CONNECTS 200
#define SERVERS 4
#define CHURNERS 2
#define CHURNS 150
#define MSG 16

static const char *ip;
static int lfd, lport;
static atomic_int served;

static void *server(void *arg)
{
    (void)arg;
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        int a = accept(lfd, (struct sockaddr *)&peer, &len);
        MUST(a);
        CHECK(len == sizeof(peer) && peer.sin_family == AF_INET, "accept address");
        char buf[MSG];
        read_exact(a, buf, MSG);
        if (memcmp(buf, "STOP", 4) == 0) {
            close(a);
            return NULL;
        }
        CHECK(port_of(a) == lport, "accepted socket port %d", port_of(a));
        buf[0] = 'R';
        write_all(a, buf, MSG);
        MUST(close(a));
        atomic_fetch_add(&served, 1);
    }
}

static void *client(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < CONNECTS; i++) {
        int c = socket(AF_INET, SOCK_STREAM | ((i & 1) ? SOCK_CLOEXEC : 0), 0);
        MUST(c);
        if (i % 3 == 0) {
            int one = 1;
            MUST(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
            MUST(setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
        }
        struct sockaddr_in to = inet_addr_port(ip, lport);
        MUST(connect(c, (struct sockaddr *)&to, sizeof(to)));
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        MUST(getpeername(c, (struct sockaddr *)&peer, &len));
        CHECK(peer.sin_family == AF_INET && ntohs(peer.sin_port) == lport, "getpeername");
        if (i % 3 == 0) {
            int v = 0;
            len = sizeof(v);
            MUST(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &len));
            CHECK(v == 1, "TCP_NODELAY reads %d", v);
        }
        char req[MSG + 1], resp[MSG];
        snprintf(req, sizeof(req), "Q%02d-%04d-abcdefg", id, i);
        write_all(c, req, MSG);
        read_exact(c, resp, MSG);
        CHECK(resp[0] == 'R' && memcmp(resp + 1, req + 1, MSG - 1) == 0, "thread %d got another's reply", id);
        MUST(close(c));
    }
    return NULL;
}

static void *churn(void *arg)
{
    (void)arg;
    for (int i = 0; i < CHURNS; i++) {
        int l = listener(ip, 0);
        int d = dup(l);
        MUST(d);
        CHECK(port_of(d) == port_of(l), "dup reports another port");
        MUST(close(l));
        /* The shared listener gets copies made and dropped as well. */
        int e = fcntl(lfd, F_DUPFD_CLOEXEC, 0);
        MUST(e);
        MUST(close(e));
        MUST(close(d));
    }
    return NULL;
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: threads COVERED_IP SOCKDIR");
    ip = argv[1];
    lfd = listener(ip, 0);
    lport = port_of(lfd);
    int before = count_fds();
    pthread_t s[SERVERS], c[CLIENTS], h[CHURNERS];
    for (int i = 0; i < SERVERS; i++)
        CHECK(pthread_create(&s[i], NULL, server, NULL) == 0, "pthread_create");
    for (int i = 0; i < CHURNERS; i++)
        CHECK(pthread_create(&h[i], NULL, churn, NULL) == 0, "pthread_create");
    for (int i = 0; i < CLIENTS; i++)
        CHECK(pthread_create(&c[i], NULL, client, (void *)(intptr_t)i) == 0, "pthread_create");
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(c[i], NULL);
    for (int i = 0; i < CHURNERS; i++)
        pthread_join(h[i], NULL);
    for (int i = 0; i < SERVERS; i++) {
        int stop = connect_to(ip, lport);
        write_all(stop, "STOP............", MSG);
        close(stop);
    }
    for (int i = 0; i < SERVERS; i++)
        pthread_join(s[i], NULL);
    CHECK(atomic_load(&served) == CLIENTS * CONNECTS, "served %d", atomic_load(&served));
    CHECK(count_fds() == before, "%d descriptors open, %d before", count_fds(), before);
    char path[200];
    snprintf(path, sizeof(path), "%s/%d.sock", argv[2], lport);
    CHECK(access(path, F_OK) == 0, "the shared listener lost its file");
    MUST(close(lfd));
    CHECK(gone(path), "file left after the last close");
    puts("ok");
    return 0;
}
