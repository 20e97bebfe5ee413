/* What the send calls (intercept_send.c) need from connect and bind
 * (intercept_socket.c). */
#ifndef UNSOCK_CONVERT_H
#define UNSOCK_CONVERT_H

#include "rules.h"

/* An unconverted datagram socket fd (of `type`) sending to dest, which rule
 * r (path= or abstract=) converts, becomes a unix socket with an implicit
 * address (see implicit_bind). 0 once fd is converted, -1 on error. */
int unsock_convert_for_send(int fd, int type, const struct unsock_rule *r, const struct sockaddr *dest);

/* A datagram socket whose connect found nobody yet (peer_pending) tries
 * again before a send without an address: 0 if fd is now (or was always)
 * fine to send on, -1 with ECONNREFUSED while nobody is there. */
int unsock_connect_pending(int fd);

#endif
