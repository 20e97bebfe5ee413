/* Datagram peers whose unix address no rule maps back to an IP port (an
 * abstract address the kernel picked for a client, a fixed path= without
 * %p): each gets a pseudo port, so that the program sees an IP sender it
 * can answer to, and the answer goes back to that unix address. */
#ifndef UNSOCK_PEERS_H
#define UNSOCK_PEERS_H

#include "usock.h"

/* The pseudo port of the peer un on converted socket fd; 0 if fd is not
 * converted or there is no memory. */
uint16_t unsock_peer_port(int fd, const struct sockaddr_un *un, socklen_t len);

/* Remember that port stands for the unix address un on converted socket fd
 * (a datagram sent to an IP port through a target without %p), so that
 * what comes back from un is reported as coming from that port. */
void unsock_peer_remember(int fd, uint16_t port, const struct sockaddr_un *un, socklen_t len);

/* The unix address of fd's peer known by port; false if none. */
bool unsock_peer_addr(int fd, uint16_t port, struct sockaddr_un *un, socklen_t *len);

#endif
