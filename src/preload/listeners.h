#ifndef UNSOCK_LISTENERS_H
#define UNSOCK_LISTENERS_H

#include "fdtable.h"
#include "plan.h"

/* A path in use (EADDRINUSE) by a listener of this process shares it when
 * the program binds another address there (dual stack: 127.0.0.1 and ::1
 * of one rule) or sets SO_REUSEPORT (nginx's reuseport sockets, made in
 * one process before it forks): *tmp becomes a descriptor of that socket
 * and *shared the descriptor shared with. Another process's live socket is
 * taken over with SO_REUSEPORT, new connections coming here from now on
 * (a zero-downtime restart). Anything else stays EADDRINUSE. */
int unsock_share_or_take_over(int fd, const struct unsock_query *q, struct unsock_plan *p, int *tmp, int *shared);

#endif
