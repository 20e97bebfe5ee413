#include "peers.h"

#include "fdtable.h"

uint16_t unsock_peer_port(int fd, const struct sockaddr_un *un, socklen_t len)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return 0;
    uint16_t port = unsock_peers_port(s, un, len);
    unsock_unlock();
    return port;
}

void unsock_peer_remember(int fd, uint16_t port, const struct sockaddr_un *un, socklen_t len)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return;
    unsock_peers_remember(s, port, un, len);
    unsock_unlock();
}

bool unsock_peer_addr(int fd, uint16_t port, struct sockaddr_un *un, socklen_t *len)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return false;
    bool found = unsock_peers_addr(s, port, un, len);
    unsock_unlock();
    return found;
}
