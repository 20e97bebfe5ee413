/* The decision core's one question: what to do with this socket call.
 *
 * An engine describes the call (a query), and unsock_plan() answers with a
 * plan: leave it to the kernel, fail it, or put the socket on a unix
 * address, another family's address (vsock, TIPC, Firecracker) or a socket
 * systemd passed. Plans decide; engines only carry them out, and write the
 * decision log's line for each with unsock_log_plan(). */
#ifndef UNSOCK_PLAN_H
#define UNSOCK_PLAN_H

#include "controlfile.h"
#include "rules.h"

/* CALL_FASTOPEN: a send with MSG_FASTOPEN on a stream socket that is not
 * connected, TCP Fast Open's implicit connect. */
enum unsock_call { CALL_BIND, CALL_CONNECT, CALL_SEND, CALL_FASTOPEN };

struct unsock_query {
    enum unsock_call call;
    int domain;        /* the socket's family as the program knows it */
    int type;          /* SOCK_STREAM, SOCK_DGRAM, ... */
    bool converted;    /* already made a unix socket by unsock */
    bool early;        /* ... at socket(), standing for the IP socket until it has an address (planned as one) */
    bool connecting;   /* ... whose connect is still under way (a full backlog) */
    const struct sockaddr *addr;
    socklen_t len;
    /* A converted datagram socket's sender seen before at addr (the engine
     * remembers them): where a send or connect to addr goes. NULL if none. */
    const struct sockaddr_un *peer;
    socklen_t peer_len;
};

enum unsock_plan_kind {
    PLAN_NATIVE,       /* the call goes to the kernel unchanged */
    PLAN_REJECT,       /* the call fails with err */
    PLAN_UNIX,         /* a unix address: un, or a free port of the rule's template */
    PLAN_BLACKHOLE,    /* bound where nothing can reach it */
    PLAN_RECORD,       /* another family: record (vsock, TIPC, Firecracker) */
    PLAN_SYSTEMD,      /* a socket systemd passed */
};

struct unsock_plan {
    enum unsock_plan_kind kind;
    const struct unsock_rule *rule; /* NULL: no rule */
    int err;                        /* PLAN_REJECT */
    const char *why;                /* the outcome in words where the rule's action does not say it */
    uint16_t port;                  /* the call's IP port */
    bool in_place;       /* on the program's own socket, a unix one already (from-unix, or converted) */
    bool free_port;      /* PLAN_UNIX bind to port 0: the first free port of the template */
    bool owns_file;      /* PLAN_UNIX bind: the file is the socket's, removed by its last holder */
    bool may_be_control; /* PLAN_UNIX to a path where a control file may say where it goes instead */
    bool implicit_bind;  /* a datagram socket connecting or sending first is bound to a free address */
    bool no_address;     /* a send on a converted stream socket: the address is dropped, as TCP does */
    bool firecracker;    /* PLAN_RECORD through a Firecracker multiplexer */
    bool known_peer;     /* PLAN_UNIX to the sender seen before at the address */
    int32_t mode;        /* PLAN_UNIX bind: the file's mode, -1 for the umask's */
    struct sockaddr_un un;
    socklen_t un_len;
    struct unsock_control record;   /* PLAN_RECORD */
    const char *control_file;       /* the control file the plan was refined by, or NULL */
    bool unusable;                  /* ... which is not a valid control file (why says why) */
    const char *fdname;             /* PLAN_SYSTEMD: the name asked for, NULL for the next */
};

/* Whether any rule could be about addr; false lets an engine pass the call
 * on without asking the kernel about the socket. */
bool unsock_plan_may_match(const struct unsock_rules *rs, const struct sockaddr *addr, socklen_t len);

/* The plan for q under rs. */
void unsock_plan(const struct unsock_rules *rs, const struct unsock_query *q, struct unsock_plan *p);

/* A PLAN_UNIX with may_be_control whose unix bind or connect failed (with
 * errno err: EADDRINUSE, ECONNREFUSED): if a control file is at the path,
 * true and p becomes its PLAN_RECORD, or a PLAN_REJECT with err when the
 * file is not a usable one. False when no control file is there. */
bool unsock_plan_control_file(struct unsock_plan *p, const struct unsock_query *q, int err);

/* The path of a PLAN_UNIX with free_port for port (ENAMETOOLONG: -1). */
int unsock_plan_at_port(struct unsock_plan *p, const struct unsock_query *q, uint16_t port);

/* "rule N -> OUTCOME" or "no rule -> left alone", as the decision log and
 * tests/vectors/plans.json write plans. */
void unsock_plan_describe(const struct unsock_rules *rs, const struct unsock_plan *p, char *out, size_t outlen);

#endif
