/* The one conversion module: a plan carried out on the program's
 * descriptor. A new socket is prepared on a temporary descriptor (its
 * options carried over), bound or connected there, and only when that
 * worked installed over the program's descriptor (fdswap.h), so a failed
 * call leaves the program's socket as it was. */
#ifndef UNSOCK_CONVERT_H
#define UNSOCK_CONVERT_H

#include "fdtable.h"
#include "plan.h"

/* Put tmp in place of fd and record s for it (NULL: a native socket);
 * owned_path is the socket file s created, or NULL. On failure s is freed
 * and owned_path removed. */
int unsock_install(int tmp, int fd, struct usock *s, const char *owned_path);

/* What the socket s bound by p for q shows: its address at port (the plan's
 * port after the bind; 0 for an abstract name, which gets a pseudo port),
 * IPv6-only as the kernel makes it, and the path listener_at() finds it by.
 * Lock held, or s not yet attached to a descriptor. */
/* A bind or connect of the plan failed with errno: logged with that
 * reason, then errno made one a TCP program knows from that call (a
 * read-only or full socket directory is no error bind(2) has for TCP);
 * returns -1. */
int unsock_failed_as_tcp(int fd, const struct unsock_query *q, const struct unsock_plan *p);

void unsock_describe_bound(struct usock *s, const struct unsock_query *q, const struct unsock_plan *p, uint16_t port);

/* Carry out p (PLAN_UNIX, PLAN_BLACKHOLE or PLAN_RECORD) for q on fd and
 * write its decision log line. For a send this converts the socket (an
 * implicit bind) and leaves the sending to the caller. 0, or -1 with
 * errno; EINPROGRESS for a non-blocking connect under way. */
int unsock_apply(int fd, const struct unsock_query *q, struct unsock_plan *p);

/* A datagram socket whose connect found nobody yet (peer_pending) tries
 * again before a send without an address: 0 if fd is now (or was always)
 * fine to send on, -1 with ECONNREFUSED while nobody is there. */
int unsock_connect_pending(int fd);

#endif
