/* The unix side of a path= / abstract= / blackhole rule: binding to it. */
#ifndef UNSOCK_TARGET_H
#define UNSOCK_TARGET_H

#include "rules.h"

/* bind fd (AF_UNIX) to un, a rule's path (created with the rule's mode,
 * a stale one replaced if replace_stale) or abstract name. */
int unsock_target_bind(int fd, const struct unsock_rule *r, const struct sockaddr_un *un, socklen_t len,
                       bool replace_stale);

/* Port 0 on a rule with %p: the first free name from a random start in the
 * kernel's default ephemeral range; existing files, stale or not, are
 * skipped. *port, *un and *ulen tell which. */
int unsock_target_bind_free_port(int fd, const struct unsock_rule *r, int type, const struct sockaddr *addr,
                                 uint16_t *port, struct sockaddr_un *un, socklen_t *ulen);

/* blackhole: bound to a path that is removed at once, so nothing can
 * reach the socket. */
int unsock_target_blackhole(int fd, struct sockaddr_un *un);

/* "path P", "abstract @N" or "blackhole" for the decision log (a buffer
 * of the calling thread). */
const char *unsock_target_describe(const struct unsock_rule *r, const struct sockaddr_un *un);

#endif
