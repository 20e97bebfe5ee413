/* The rule list: which socket goes where. Read from UNSOCK_RULES (the
 * canonical form written by `unsock run`, docs/rules.md) or compiled from
 * the original's UNSOCK_* variables; read-only once the shim is set up. */
#ifndef UNSOCK_RULES_H
#define UNSOCK_RULES_H

#include "config.h"
#include "controlfile.h"

enum { RULE_BOTH = 0, RULE_IN = 1, RULE_OUT = 2 };
enum { FROM_IP = 0, FROM_UNIX = 1, FROM_ABSTRACT = 2 };
enum unsock_action {
    ACT_PATH = 1, ACT_ABSTRACT, ACT_REJECT, ACT_BLACKHOLE, ACT_IGNORE,
    ACT_SYSTEMD, ACT_VSOCK, ACT_TIPC, ACT_FIRECRACKER,
};

/* A port or number that may be the placeholder %p (the socket's port). */
#define RULE_PORT_PLACEHOLDER (-1LL)

struct unsock_rule {
    uint8_t dir;            /* RULE_BOTH, RULE_IN, RULE_OUT */
    uint8_t from;           /* FROM_IP or a unix glob of from */
    int type;               /* 0 (any), SOCK_STREAM, SOCK_DGRAM */
    bool has_addr, has_port, noremove;
    struct unsock_range addr;
    uint16_t port_lo, port_hi;
    enum unsock_action action;
    const char *glob;       /* from-unix / from-abstract */
    const char *target;     /* path / abstract template, systemd fd name (or NULL), Firecracker UDS */
    int reject_errno;
    int32_t mode;           /* -1: left to the umask */
    long long num[3];       /* vsock CID, PORT; tipc TYPE, LOWER, UPPER; firecracker PORT */
    int tipc_scope;
};

struct unsock_rules {
    struct unsock_rule *v;
    size_t n;
    char *strings;          /* the unescaped values the rules point into */
    bool has_systemd, has_from;
};

/* The shim's rules (rules of the environment, set up by unsock_init()). */
extern struct unsock_rules unsock_ruleset;

/* Parse the canonical form: rules separated by newlines. -1 with one line
 * in err (without "unsock: ") if text is not exactly that form. */
int unsock_rules_parse(const char *text, struct unsock_rules *out, char *err, size_t errlen);

void unsock_rules_free(struct unsock_rules *rs);

/* The canonical rules the original's UNSOCK_* settings in cfg stand for. */
int unsock_rules_from_config(const struct unsock_config *cfg, char *out, size_t outlen);

/* The canonical form of one rule; returns its length (truncated to outlen). */
size_t unsock_rule_format(const struct unsock_rule *r, char *out, size_t outlen);

/* The first rule for an IP socket address (AF_INET / AF_INET6 of at least
 * their size) of a socket of `type` in direction dir; NULL if none. */
const struct unsock_rule *unsock_rules_match_ip(const struct unsock_rules *rs, int dir, int type,
                                                const struct sockaddr *addr, socklen_t len);

/* The first from-unix / from-abstract rule for a unix socket name. */
const struct unsock_rule *unsock_rules_match_unix(const struct unsock_rules *rs, int dir, int type, int from,
                                                  const char *name, size_t len);

/* 1-based position of r in rs, for the decision log. */
size_t unsock_rule_index(const struct unsock_rules *rs, const struct unsock_rule *r);

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

/* The control record a vsock / tipc / firecracker rule stands for. */
void unsock_rule_control(const struct unsock_rule *r, bool binding, uint16_t port, struct unsock_control *out);

#endif
