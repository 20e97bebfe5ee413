/* A non-blocking connect to a converted listener whose backlog is full.
 * The kernel says EAGAIN, where TCP says EINPROGRESS and completes the
 * connection once the server accepts (asyncio, for one, takes EAGAIN for
 * "in progress" and then fails on a socket that never connected). So it is
 * completed later, as TCP does: the program's descriptor holds a socket
 * that reports no event (a listener nobody can reach) while a thread
 * retries the connect on the real one, which then takes its place and
 * becomes writable (epoll registrations carried over), or a socket that
 * reports the error in SO_ERROR. */
#ifndef UNSOCK_PENDING_H
#define UNSOCK_PENDING_H

#include "fdtable.h"

/* Go on connecting tmp (a unix stream socket, s's) to un for fd in the
 * background; fd gets the waiting socket and s. -1 with EINPROGRESS once
 * that is under way, or the error that prevented it. */
int unsock_connect_later(int fd, int tmp, struct usock *s, const struct sockaddr_un *un, socklen_t len);

#endif
