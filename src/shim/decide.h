/* The question every intercepted call asks: which rule decides for this
 * socket and address? And the decision log (UNSOCK_DEBUG / --log): one
 * line per decision, nothing done when it is off. */
#ifndef UNSOCK_DECIDE_H
#define UNSOCK_DECIDE_H

#include "log.h"
#include "rules.h"

/* The type of socket fd (SOCK_STREAM, ...) and its domain; -1 on error. */
int unsock_socket_kind(int fd, int *domain);

/* True if addr is an AF_INET / AF_INET6 address of at least its size. */
bool unsock_is_ip(const struct sockaddr *addr, socklen_t len);

/* The name of a unix address: *from FROM_UNIX or FROM_ABSTRACT; false if
 * addr is not a named unix address. */
bool unsock_unix_name(const struct sockaddr *addr, socklen_t len, int *from, const char **name, size_t *n);

/* The rule for a call on fd (of `type`) with addr, IP or unix; NULL if none. */
const struct unsock_rule *unsock_decide(int dir, int type, const struct sockaddr *addr, socklen_t len);

/* The rule for a call in direction dir on fd with addr, after the cheap
 * checks; NULL if none. *type is fd's socket type (-1 on error, errno
 * set; 0 if addr is nothing a rule could match), *domain its domain unless
 * fd is converted already (0). */
const struct unsock_rule *unsock_rule_for(int fd, int dir, const struct sockaddr *addr, socklen_t len, int *type,
                                          int *domain);

/* Whether a rule converts (not ignore, reject or systemd). */
bool unsock_rule_converts(const struct unsock_rule *r);

/* A reject rule's answer to the call: logged, -1 with the rule's errno. */
int unsock_rejected(const char *call, int fd, const struct sockaddr *addr, socklen_t len, int type,
                    const struct unsock_rule *r);

void unsock_log_decision(const char *call, int fd, const struct sockaddr *addr, socklen_t len, int type,
                         const struct unsock_rule *r, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* One line of the decision log: "CALL fd N ADDR TYPE: rule N -> OUTCOME". */
#define unsock_decided(call, fd, addr, len, type, rule, ...)                          \
    do {                                                                             \
        if (unsock_cfg.debug)                                                        \
            unsock_log_decision(call, fd, addr, len, type, rule, __VA_ARGS__);       \
    } while (0)

#endif
