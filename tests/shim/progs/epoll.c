/* A socket added to an epoll set before bind or connect (nginx does this
 * for its upstream connections) stays in the set, with its events and data,
 * after the swap to a unix socket.  Usage: epoll COVERED_IP */
#include "probe.h"

#include <sys/epoll.h>

static void add(int ep, int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    MUST(epoll_ctl(ep, op, fd, &ev));
}

/* The one event epoll reports within 10 s, which must carry data. */
static uint32_t wait_event(int ep, uint64_t data)
{
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, 10000);
    CHECK(n == 1, "no event");
    CHECK(ev.data.u64 == data, "event data %#llx, expected %#llx", (unsigned long long)ev.data.u64,
          (unsigned long long)data);
    return ev.events;
}

static int nb_connect(const char *ip, int port, int ep, uint64_t data)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    MUST(c);
    if (ep >= 0)
        add(ep, EPOLL_CTL_ADD, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, data);
    struct sockaddr_in a = inet_addr_port(ip, port);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS, "connect");
    CHECK(is_unix_socket(c), "not converted");
    return c;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: epoll COVERED_IP");
    const char *ip = argv[1];

    /* A listener registered before bind and listen. */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    MUST(ep);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    MUST(l);
    add(ep, EPOLL_CTL_ADD, l, EPOLLIN, 0x11);
    struct sockaddr_in a = inet_addr_port(ip, 0);
    MUST(bind(l, (struct sockaddr *)&a, sizeof(a)));
    MUST(listen(l, 16));
    CHECK(is_unix_socket(l), "listener not converted");
    int port = port_of(l);
    int c0 = connect_to(ip, port);
    CHECK(wait_event(ep, 0x11) & EPOLLIN, "listener not readable");
    int a0 = accept(l, NULL, NULL);
    MUST(a0);
    close(a0);
    close(c0);
    /* The clients below use a set of their own: the listener stays readable. */
    MUST(close(ep));
    ep = epoll_create1(EPOLL_CLOEXEC);
    MUST(ep);

    /* A client registered before connect: writable, then readable. */
    int c = nb_connect(ip, port, ep, 0x22);
    CHECK(wait_event(ep, 0x22) & EPOLLOUT, "client not writable");
    int s = accept(l, NULL, NULL);
    MUST(s);
    write_all(s, "x", 1);
    CHECK(wait_event(ep, 0x22) & EPOLLIN, "client not readable");
    close(s);
    close(c);

    /* EPOLL_CTL_MOD before connect: the new data counts. */
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    MUST(c);
    add(ep, EPOLL_CTL_ADD, c, EPOLLIN, 0x33);
    add(ep, EPOLL_CTL_MOD, c, EPOLLOUT, 0x44);
    a = inet_addr_port(ip, port);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS, "connect");
    CHECK(wait_event(ep, 0x44) & EPOLLOUT, "client not writable");
    close(accept(l, NULL, NULL));
    close(c);

    /* EPOLL_CTL_DEL before connect: not registered afterwards. */
    struct epoll_event ev;
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    MUST(c);
    add(ep, EPOLL_CTL_ADD, c, EPOLLOUT, 0x55);
    MUST(epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL));
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS, "connect");
    /* A registered connected socket would be ready at once. */
    CHECK(epoll_wait(ep, &ev, 1, 0) == 0, "deleted registration came back");
    close(accept(l, NULL, NULL));
    close(c);

    /* The epoll set closed and its number reused by another set: the
     * socket must not turn up in the new one. */
    int ep2 = epoll_create1(0);
    MUST(ep2);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    MUST(c);
    add(ep2, EPOLL_CTL_ADD, c, EPOLLOUT, 0x66);
    MUST(close(ep2));
    int ep3 = epoll_create1(0);
    CHECK(ep3 == ep2, "epoll descriptor number not reused");
    CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS, "connect");
    CHECK(epoll_wait(ep3, &ev, 1, 0) == 0, "socket showed up in an unrelated epoll set");
    close(accept(l, NULL, NULL));
    close(c);
    close(ep3);
    puts("ok");
    return 0;
}
