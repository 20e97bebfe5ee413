#include "peers.h"

#include "fdtable.h"
#include "sockaddr.h"

#include <stdlib.h>
#include <string.h>

uint16_t unsock_peer_port(int fd, const struct sockaddr_un *un, socklen_t len)
{
    if (len > sizeof(*un))
        return 0;
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return 0;
    uint16_t port = 0;
    if (s->peers == NULL)
        s->peers = calloc(1, sizeof(*s->peers));
    if (s->peers != NULL) {
        struct unsock_peers *ps = s->peers;
        for (size_t i = 0; i < UNSOCK_PEERS && port == 0; i++)
            if (ps->v[i].port != 0 && ps->v[i].len == len && memcmp(&ps->v[i].addr, un, len) == 0)
                port = ps->v[i].port;
        if (port == 0) {
            struct unsock_peer *p = &ps->v[ps->next];
            ps->next = (ps->next + 1) % UNSOCK_PEERS;
            p->port = port = unsock_pseudo_port();
            p->len = len;
            memcpy(&p->addr, un, len);
        }
    }
    unsock_unlock();
    return port;
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
