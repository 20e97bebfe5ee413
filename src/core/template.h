/* path= / abstract= templates (%p %a %t %%): forward to a unix address,
 * and back from a unix address to the port it stands for. */
#ifndef UNSOCK_TEMPLATE_H
#define UNSOCK_TEMPLATE_H

#include "rules.h"

/* Whether the target of a path / abstract rule depends on the port. */
bool unsock_rule_has_port(const struct unsock_rule *r);

/* The unix address a path / abstract rule gives for a socket of `type`
 * with IP address addr (may be NULL for a from-* rule) and port. -1 with
 * ENAMETOOLONG if it does not fit. */
int unsock_rule_sockaddr(const struct unsock_rule *r, int type, const struct sockaddr *addr, uint16_t port,
                         struct sockaddr_un *out, socklen_t *outlen);

/* The port of a unix address some path / abstract rule with %p (and no %a)
 * gives for sockets of `type` and that port, or -1. */
int unsock_rules_port_of(const struct unsock_rules *rs, int type, const struct sockaddr_un *un, socklen_t len);

#endif
