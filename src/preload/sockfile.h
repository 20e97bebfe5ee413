/* Socket files on disk: creating them with the right mode and no window of
 * looser rights, replacing stale ones, and removing them again without ever
 * touching a file that is not a dead socket of our own. */
#ifndef UNSOCK_SOCKFILE_H
#define UNSOCK_SOCKFILE_H

#include "plan.h"

#include <sys/stat.h>

/* bind(2) fd (an AF_UNIX socket) to addr, the file of mode `mode` (-1:
 * left to the umask). With replace_stale, a socket file whose server is
 * gone is removed and the bind retried; anything else at the path gives
 * EADDRINUSE. */
int unsock_sockfile_bind(int fd, const struct sockaddr_un *addr, socklen_t len, bool replace_stale, int32_t mode);

/* bind fd to addr in place of the live socket file there, whose server
 * keeps the connections it has: fd is bound at a name of its own beside
 * it (mode as for unsock_sockfile_bind), which is then exchanged with
 * addr's atomically; the old entry is removed if it was a socket file, and
 * put back (EADDRINUSE) if it was anything else. */
int unsock_sockfile_take_over(int fd, const struct sockaddr_un *addr, socklen_t len, int32_t mode);

/* Whether the unix socket sock_ino is open in any process. */
bool unsock_socket_open(ino_t sock_ino);

/* Remove path if it is still the file (dev, ino), the socket sock_ino (of
 * the given type) is no longer open in any process, and nothing else
 * serves the path. Returns true if the socket is still open elsewhere, or
 * the file still ours answers a connect, so that the file may be worth
 * another try later. */
bool unsock_sockfile_release(const char *path, dev_t dev, ino_t ino, ino_t sock_ino, int type);

/* Binding a socket to a plan's unix address (the engines' common part):
 * a path with the plan's mode (a stale file replaced if replace_stale), or
 * an abstract name. */
int unsock_bind_unix(int fd, const struct unsock_plan *p, bool replace_stale);

/* Port 0 on a template with %p: the first free name from a random start in
 * the kernel's default ephemeral range; existing files, stale or not, are
 * skipped. p->port and p->un tell which. */
int unsock_bind_free_port(int fd, const struct unsock_query *q, struct unsock_plan *p);

/* Bound to a path that is removed at once, so nothing can reach it. */
int unsock_bind_blackhole(int fd);

/* bind fd to p's target, whichever of the three above it is (p->port says
 * which port a free one was). */
int unsock_bind_plan(int fd, const struct unsock_query *q, struct unsock_plan *p);

#endif
