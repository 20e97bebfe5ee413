/* The rule list: which socket goes where. Read from UNSOCK_RULES (the
 * canonical form that unsock.rules compiles, docs/rules.md) or made from
 * the original's UNSOCK_* variables; read-only once set up. */
#ifndef UNSOCK_RULES_H
#define UNSOCK_RULES_H

#include "config.h"

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

/* The rules of this process (set up once by the engine, read-only after). */
extern struct unsock_rules unsock_ruleset;

/* Parse the canonical form: rules separated by newlines. -1 with one line
 * in err (without "unsock: ") if text is not exactly that form. */
int unsock_rules_parse(const char *text, struct unsock_rules *out, char *err, size_t errlen);

/* The rules the original's UNSOCK_* settings in cfg stand for (docs/rules.md:
 * per range a dgram rule to DIR/%p.udp, then one to DIR/%p.sock; with
 * UNSOCK_BLOCK_INET a reject of the rest of IPv4). -1 without memory. */
int unsock_rules_from_config(const struct unsock_config *cfg, struct unsock_rules *out);

void unsock_rules_free(struct unsock_rules *rs);

/* The canonical form of one rule; returns its length (truncated to outlen). */
size_t unsock_rule_format(const struct unsock_rule *r, char *out, size_t outlen);

/* "path", "reject", ... */
const char *unsock_action_name(enum unsock_action a);

/* 1-based position of r in rs, for the decision log. */
size_t unsock_rule_index(const struct unsock_rules *rs, const struct unsock_rule *r);

#endif
