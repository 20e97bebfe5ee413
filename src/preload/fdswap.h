/* Replacing an IP socket by an AF_UNIX socket under the same descriptor.
 *
 * The new socket is prepared on a temporary descriptor and the program's
 * bind or connect is performed there first; only when that succeeds is it
 * installed over the program's descriptor with dup3(2), which closes the
 * old socket. A failed call thus leaves the program's socket untouched. */
#ifndef UNSOCK_FDSWAP_H
#define UNSOCK_FDSWAP_H

#include "fdtable.h"

/* The socket type of fd (SOCK_STREAM, ...), or -1 with errno (ENOTSOCK). */
int unsock_socket_type(int fd);

/* A new socket of `domain` (AF_UNIX, or what a control file names) and
 * s->type carrying fd's O_NONBLOCK, owner, signal,
 * and the socket options the program set; the TCP- and IP-level options are
 * recorded in s for emulation. -1 on error. */
int unsock_swap_prepare(int fd, struct usock *s, int domain);

/* fd's O_NONBLOCK, and its owner and signal if touched says the program set
 * them, set on tmp as well; on failure tmp is closed and -1 returned. */
int unsock_swap_carry_flags(int fd, int tmp, uint64_t touched);

/* Put tmp in place of fd, keeping fd's number, FD_CLOEXEC, O_ASYNC and
 * epoll registration; closes tmp. */
int unsock_swap_install(int tmp, int fd);

#endif
