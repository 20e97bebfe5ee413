/* Emulation of TCP- and IP-level socket options on converted sockets.
 *
 * AF_UNIX rejects them, and real programs treat that as fatal (nginx's
 * TCP_CORK, for one). Values are validated by a scratch IP socket of the
 * same type, so the program gets exactly the kernel's errors, and read back
 * as the kernel normalised them. Options never set read as a fresh IP
 * socket's defaults; TCP_INFO describes an established (or listening)
 * connection. */
#ifndef UNSOCK_SOCKOPTS_H
#define UNSOCK_SOCKOPTS_H

#include "usock.h"

/* True for the options that are emulated rather than passed to the kernel:
 * TCP- and IP-level ones, and SO_REUSEPORT (refused by AF_UNIX). */
bool unsock_opt_emulated(int level, int name);

/* setsockopt/getsockopt on a converted socket; lock held by the caller.
 * unsock_opt_set answers UNSOCK_OPT_NOT_KEPT for an option it validated but
 * cannot record exactly (write-only or too long) on an early socket, which
 * then needs its IP socket for it. */
#define UNSOCK_OPT_NOT_KEPT 2
int unsock_opt_set(struct usock *s, int level, int name, const void *val, socklen_t len);
int unsock_opt_get(struct usock *s, int fd, int level, int name, void *val, socklen_t *len);

/* getsockopt as a fresh IP socket of s's family, type and protocol answers
 * it (a scratch socket's): the defaults of options never set. */
int unsock_opt_fresh(const struct usock *s, int level, int name, void *val, socklen_t *len);

/* getsockopt on a converted socket at any level (lock held): as getsockopt,
 * or 1 when the option is the unix socket's own, for the kernel to answer. */
int unsock_sockopt_get(struct usock *s, int fd, int level, int name, void *val, socklen_t *len);

/* Mark sock, a unix socket converted for a socket of family, so that a
 * process it reaches (adopt.h) takes it for one of that family; nothing for
 * AF_INET, what an unmarked socket is taken for. Best effort. */
void unsock_mark_family(int sock, int family);

/* The family sock was marked with: AF_INET6, or AF_INET. */
int unsock_marked_family(int sock);

/* The file of unsock's supervisor (each engine knows where it is), or NULL. */
const char *unsock_supervisor_binary(void);

/* Whether an int option was set to a non-zero value (lock held). */
bool unsock_opt_enabled(const struct usock *s, int level, int name);

/* Record an option's value in s, as set by the program (lock held). */
int unsock_opt_store(struct usock *s, int level, int name, const void *val, socklen_t len);

#endif
