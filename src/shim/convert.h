/* Converting a socket on its first send (intercept_socket.c), for the send
 * calls (intercept_send.c). */
#ifndef UNSOCK_CONVERT_H
#define UNSOCK_CONVERT_H

#include "common.h"

/* An unconverted datagram socket sending to a covered address dest becomes
 * a unix socket with an implicit socket file (see implicit_bind). Returns 0
 * once fd is converted, 1 if fd is not to be converted, -1 on error. */
int unsock_convert_for_send(int fd, const struct sockaddr *dest);

#endif
