/* The matcher: the first rule for a socket call's address. */
#ifndef UNSOCK_MATCH_H
#define UNSOCK_MATCH_H

#include "rules.h"

/* The first rule for an IP socket address (AF_INET / AF_INET6 of at least
 * their size) of a socket of `type` in direction dir; NULL if none. */
const struct unsock_rule *unsock_rules_match_ip(const struct unsock_rules *rs, int dir, int type,
                                                const struct sockaddr *addr, socklen_t len);

/* The first from-unix / from-abstract rule for a unix socket name. */
const struct unsock_rule *unsock_rules_match_unix(const struct unsock_rules *rs, int dir, int type, int from,
                                                  const char *name, size_t len);

#endif
