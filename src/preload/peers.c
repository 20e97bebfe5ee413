#include "peers.h"

#include "fdtable.h"
#include "sockaddr.h"

#include <stdlib.h>
#include <string.h>

/* The entry of s for un, or for port if port is not 0; a new one (the
 * oldest replaced) if there is none. NULL without memory. Lock held. */
static struct unsock_peer *entry(struct usock *s, uint16_t port, const struct sockaddr_un *un, socklen_t len)
{
    if (s->peers == NULL && (s->peers = calloc(1, sizeof(*s->peers))) == NULL)
        return NULL;
    struct unsock_peers *ps = s->peers;
    for (size_t i = 0; i < UNSOCK_PEERS; i++) {
        struct unsock_peer *p = &ps->v[i];
        if (p->port != 0 && (port != 0 ? p->port == port : p->len == len && memcmp(&p->addr, un, len) == 0))
            return p;
    }
    struct unsock_peer *p = &ps->v[ps->next];
    ps->next = (ps->next + 1) % UNSOCK_PEERS;
    p->port = port != 0 ? port : unsock_pseudo_port();
    p->len = len;
    memcpy(&p->addr, un, len);
    return p;
}

uint16_t unsock_peer_port(int fd, const struct sockaddr_un *un, socklen_t len)
{
    if (len > sizeof(*un))
        return 0;
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return 0;
    const struct unsock_peer *p = entry(s, 0, un, len);
    uint16_t port = p != NULL ? p->port : 0;
    unsock_unlock();
    return port;
}

void unsock_peer_remember(int fd, uint16_t port, const struct sockaddr_un *un, socklen_t len)
{
    if (len > sizeof(*un) || port == 0)
        return;
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return;
    struct unsock_peer *p = entry(s, port, un, len);
    if (p != NULL) {
        p->len = len;
        memcpy(&p->addr, un, len);
    }
    unsock_unlock();
}

bool unsock_peer_addr(int fd, uint16_t port, struct sockaddr_un *un, socklen_t *len)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return false;
    bool found = false;
    for (size_t i = 0; s->peers != NULL && i < UNSOCK_PEERS && !found; i++) {
        const struct unsock_peer *p = &s->peers->v[i];
        if (p->port == port) {
            memcpy(un, &p->addr, p->len);
            *len = p->len;
            found = true;
        }
    }
    unsock_unlock();
    return found;
}
