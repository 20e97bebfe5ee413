/* systemd socket activation (the `systemd[=FDNAME]` rule action).
 *
 * The listening sockets systemd passes (LISTEN_PID, LISTEN_FDS,
 * LISTEN_FDNAMES; fds 3, 4, ...) are taken over at start-up and handed to
 * the program's bind() in place of its own socket. They are kept open for
 * the life of the process whatever the program closes, so that a daemon
 * closing every descriptor at start-up, or a program that closes and binds
 * again, still gets them. */
#ifndef UNSOCK_SYSTEMD_H
#define UNSOCK_SYSTEMD_H

#include "common.h"

/* Take over the passed sockets if LISTEN_PID is this process: record them,
 * set FD_CLOEXEC on them and unset LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES, as sd_listen_fds(1) does. Malformed or foreign values are
 * left alone. Called once from unsock_init(), only when a rule says
 * `systemd`. */
void unsock_systemd_init(void);

/* Put a passed socket on the program's fd for its bind(addr) of a socket
 * of `type`: the first not yet taken of name fdname (or, all of that name
 * taken, the first of that name), or without fdname the next one not yet
 * taken. The fd keeps its FD_CLOEXEC and O_NONBLOCK; a passed unix socket
 * makes fd a converted socket named addr, a passed IP socket a native one.
 * 0, or -1 with errno: EADDRNOTAVAIL when no passed socket fits. */
int unsock_systemd_bind(int fd, const struct sockaddr *addr, socklen_t len, int type, const char *fdname);

/* fd is the number of a passed socket (lock-free; one load when no
 * sockets were passed). */
bool unsock_systemd_protected(int fd);

/* The lowest passed socket's number >= from, or -1. */
int unsock_systemd_next_protected(unsigned from);

/* Move the passed socket at fd to another number (the lowest free >= 3),
 * before the program puts something else on fd. 0 if fd is (now) not a
 * passed socket's number, -1 with errno if it cannot be moved. */
int unsock_systemd_move(int fd);

/* An exec in the process the sockets were passed to, none of them bound
 * yet: a wrapper (/usr/bin/env of a #! line, a shell script ending in
 * exec, pyenv's shims) that the program runs as. The sockets go on to what
 * it becomes, as systemd passed them: FD_CLOEXEC is cleared and the result
 * is envp with LISTEN_* set again, to exec with; if the exec returns,
 * unsock_systemd_exec_failed() undoes both. NULL: exec unchanged (errno
 * kept). A spawn (posix_spawn) passes them on as well, undone once the
 * child has them; its LISTEN_PID is made the child's by the shim there
 * (unsock_systemd_spawned). */
char **unsock_systemd_exec_env(char *const envp[], bool spawn);
void unsock_systemd_exec_failed(char **env);

/* In a child that a spawn passed the sockets to: LISTEN_PID, its parent's,
 * made its own, before anything reads it. Called once from unsock_init(). */
void unsock_systemd_spawned(void);

#endif
