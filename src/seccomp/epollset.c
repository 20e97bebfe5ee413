#define _GNU_SOURCE
#include "epollset.h"

#include "target.h"

#include <netinet/in.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

/* The registration of epfd in p, a new one if add; NULL if none (or no
 * room). */
static struct pending_epoll *find(struct pending *p, int epfd, bool add)
{
    for (unsigned i = 0; i < p->nepolls; i++)
        if (p->epolls[i].epfd == epfd)
            return &p->epolls[i];
    if (!add || p->nepolls == PENDING_EPOLLS)
        return NULL;
    p->epolls[p->nepolls] = (struct pending_epoll){.epfd = epfd, .ep = -1};
    return &p->epolls[p->nepolls++];
}

/* Whether the socket is new (neither bound nor connected): only such a
 * socket is converted later, by its bind or connect. */
static bool fresh(int sock)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    return getsockname(sock, (struct sockaddr *)&ss, &len) == 0 &&
           ((struct sockaddr_in *)&ss)->sin_port == 0; /* the same place in sockaddr_in6 */
}

void on_epoll_ctl(struct call *c)
{
    int epfd = (int)c->n.data.args[0], op = (int)c->n.data.args[1];
    struct epoll_event ev = {0};
    struct call sock = *c;
    sock.fd = (int)c->n.data.args[2];
    int domain = 0;
    socklen_t len = sizeof(domain);
    if ((op != EPOLL_CTL_DEL && target_read(c->tid, c->n.data.args[3], &ev, sizeof(ev)) != 0) ||
        !call_socket(&sock) || getsockopt(sock.dup, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
        (domain != AF_INET && domain != AF_INET6) || !fresh(sock.dup)) {
        c->dup = sock.dup; /* handle() closes it */
        return call_pass(c);
    }
    int ep = op == EPOLL_CTL_ADD ? target_dup(c->tid, epfd) : -1;
    socks_lock();
    struct pending *p = socks_pending(sock.ino, op == EPOLL_CTL_ADD);
    struct pending_epoll *e = p != NULL ? find(p, epfd, op == EPOLL_CTL_ADD) : NULL;
    if (e != NULL && op == EPOLL_CTL_DEL) {
        pending_epoll_drop(e);
        *e = p->epolls[--p->nepolls];
    } else if (e != NULL) {
        if (ep >= 0) {
            pending_epoll_drop(e);
            e->ep = ep, ep = -1;
        }
        e->events = ev.events, e->data = ev.data.u64;
    }
    socks_unlock();
    if (ep >= 0)
        close(ep);
    c->dup = sock.dup;
    call_pass(c);
}
