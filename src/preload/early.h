/* Early sockets: a unix socket made at socket() for an IP stream socket
 * that the rules will most likely convert, so that a converted connect or
 * bind costs what a native unix one costs (no IP socket made only to be
 * destroyed, no swap of descriptors).
 *
 * Until the program names an address the socket is, for the program, the
 * IP socket it asked for: an ordinary converted socket (struct usock) with
 * s->early set and no address, whose family, protocol, names and options
 * are answered as a fresh IP socket answers them. A call that cannot be
 * answered exactly that way, and an address the rules leave alone, first
 * make the IP socket (unsock_early_materialize) with everything the program
 * set so far, and then go on as with any IP socket.
 *
 * Whether to make one is predicted per address family from the last
 * bind/connect of a stream socket of that family in this process (at first:
 * whether any rule converts stream sockets of it). UNSOCK_IP_AT_SOCKET=1
 * turns early sockets off. */
#ifndef UNSOCK_EARLY_H
#define UNSOCK_EARLY_H

#include "fdtable.h"
#include "plan.h"

/* Called once from unsock_init(), after the rules are set up. */
void unsock_early_init(void);

/* socket(domain, type, protocol) as an early socket if one is predicted:
 * the descriptor, or -1 with errno; -2 when no early socket is wanted. */
int unsock_early_socket(int domain, int type, int protocol);

/* What a bind or connect of a stream IP socket of q->domain ended in (for
 * the prediction): whether p converts it. */
void unsock_early_learn(const struct unsock_query *q, const struct unsock_plan *p);

/* bind/connect of the early socket fd as planned by p: 0 or -1 when done,
 * 1 when fd is now the IP socket it stood for, to be handled as any (the
 * plan does not convert it, or needs what only that path does). */
int unsock_early_apply(int fd, const struct unsock_query *q, struct unsock_plan *p);

/* Replace the early socket fd by the IP socket it stands for, with the
 * flags, options, owner and epoll registration the program gave it; 0 if
 * fd is not (or no longer) an early socket. -1 with errno on failure. */
int unsock_early_materialize(int fd);

/* Before a call that only the IP socket answers as TCP would (listen
 * without bind, shutdown, receiving or sending unconnected, most ioctls):
 * fd made its IP socket if it is an early socket. 0, or -1 with errno. */
static inline int unsock_early_as_ip(int fd)
{
    return unsock_fd_early(fd) ? unsock_early_materialize(fd) : 0;
}

/* Each early socket in msg's SCM_RIGHTS messages, and (before an exec) each
 * one without FD_CLOEXEC, made an IP socket: another process could not
 * tell what it is. */
void unsock_early_materialize_passed(const struct msghdr *msg);
void unsock_early_materialize_inherited(void);

/* getsockopt/setsockopt on the early socket s of fd (lock held): as the
 * call, or 1 for the kernel to answer on the unix socket, or
 * UNSOCK_EARLY_NEEDS_IP when only the IP socket can answer. */
#define UNSOCK_EARLY_NEEDS_IP 2
int unsock_early_getsockopt(struct usock *s, int fd, int level, int name, void *val, socklen_t *len);
int unsock_early_setsockopt(struct usock *s, int fd, int level, int name, const void *val, socklen_t len);

#endif
