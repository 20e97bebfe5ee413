#include "plan.h"

#include "addr.h"
#include "match.h"
#include "names.h"
#include "template.h"

#include <errno.h>
#include <linux/tipc.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>

bool unsock_plan_may_match(const struct unsock_rules *rs, const struct sockaddr *addr, socklen_t len)
{
    return unsock_is_ip(addr, len) || (rs->has_from && unsock_addr_family(addr, len) == AF_UNIX);
}

/* SOCK_SEQPACKET and raw IP sockets are left alone: the rule model has
 * stream and datagram sockets only (docs/rules.md). */
static bool convertible(int type)
{
    return type == SOCK_STREAM || type == SOCK_DGRAM;
}

static bool unix_target(const struct unsock_rule *r)
{
    return r->action == ACT_PATH || r->action == ACT_ABSTRACT;
}

static void reject(struct unsock_plan *p, int err, const char *why)
{
    p->kind = PLAN_REJECT;
    p->err = err;
    p->why = why;
}

/* PLAN_UNIX at the rule's address for addr and port, or a PLAN_REJECT
 * when it does not fit in a unix socket address. */
static void unix_address(struct unsock_plan *p, const struct unsock_query *q, const struct sockaddr *addr)
{
    if (unsock_rule_sockaddr(p->rule, q->type, addr, p->port, &p->un, &p->un_len) == 0)
        p->kind = PLAN_UNIX;
    else
        reject(p, ENAMETOOLONG, "the target is too long for a unix socket address");
}

/* from-unix / from-abstract: the program's unix socket gets the rule's
 * address instead of its own. */
static void rewrite(struct unsock_plan *p, const struct unsock_query *q)
{
    const struct unsock_rule *r = p->rule;
    p->in_place = true;
    if (r->action == ACT_BLACKHOLE && q->call == CALL_BIND) {
        p->kind = PLAN_BLACKHOLE;
    } else if (!unix_target(r)) {
        reject(p, EAFNOSUPPORT, "refused: a unix socket takes unix addresses only");
    } else {
        p->mode = r->mode;
        unix_address(p, q, NULL);
    }
}

/* A send with an address (sendto, sendmsg). A stream socket that is not
 * converted goes to the kernel as it is. */
static void send_to(struct unsock_plan *p, const struct unsock_query *q, bool ip)
{
    if (!unix_target(p->rule))
        return reject(p, ENETUNREACH, "unreachable: datagrams go to unix addresses only, connect() first");
    if (!ip)
        return (void)(p->in_place = true), unix_address(p, q, NULL);
    if (!q->converted) {
        if (q->type != SOCK_DGRAM || q->addr->sa_family != q->domain)
            return;
        p->implicit_bind = true;
    } else {
        p->in_place = true;
    }
    if (q->type == SOCK_DGRAM)
        return unix_address(p, q, q->addr);
    p->kind = PLAN_UNIX;
    p->no_address = true;
}

/* bind or connect of an IP socket not converted yet, to a rule's target. */
static void bind_connect(struct unsock_plan *p, const struct unsock_query *q)
{
    const struct unsock_rule *r = p->rule;
    bool binding = q->call == CALL_BIND;
    switch (r->action) {
    case ACT_VSOCK:
    case ACT_TIPC:
    case ACT_FIRECRACKER:
        p->kind = PLAN_RECORD;
        p->firecracker = r->action == ACT_FIRECRACKER;
        unsock_rule_control(r, binding, p->port, &p->record);
        return;
    case ACT_BLACKHOLE:
        p->kind = PLAN_BLACKHOLE;
        return;
    default:
        break;
    }
    p->may_be_control = r->action == ACT_PATH && (binding || q->type == SOCK_STREAM);
    if (!binding) {
        p->implicit_bind = q->type == SOCK_DGRAM;
        return unix_address(p, q, q->addr);
    }
    p->mode = r->mode;
    p->owns_file = r->action == ACT_PATH && !r->noremove;
    if (p->port == 0 && unsock_rule_has_port(r)) {
        p->kind = PLAN_UNIX;
        p->free_port = true;
        return;
    }
    unix_address(p, q, q->addr);
}

/* A converted datagram socket answering a sender it has seen: to that
 * sender's own unix address, whatever the rules say. */
static void known_peer(struct unsock_plan *p, const struct unsock_query *q)
{
    p->rule = NULL;
    p->kind = PLAN_UNIX;
    p->in_place = true;
    p->known_peer = true;
    p->un = *q->peer;
    p->un_len = q->peer_len;
}

/* A converted datagram socket sending where no out rule goes: an in rule
 * that covers the address says where that port lives (a server under an
 * in rule answering its clients, whose addresses it made from the same
 * template). */
static void reply(const struct unsock_rules *rs, struct unsock_plan *p, const struct unsock_query *q)
{
    const struct unsock_rule *in = unsock_rules_match_ip(rs, RULE_IN, q->type, q->addr, q->len);
    if (in == NULL || !unix_target(in))
        return reject(p, ENETUNREACH, "unreachable: a converted socket cannot send to an address no rule converts");
    p->rule = in;
    p->in_place = true;
    unix_address(p, q, q->addr);
}

void unsock_plan(const struct unsock_rules *rs, const struct unsock_query *q, struct unsock_plan *p)
{
    memset(p, 0, sizeof(*p));
    p->kind = PLAN_NATIVE;
    p->mode = -1;
    int dir = q->call == CALL_BIND ? RULE_IN : RULE_OUT, from;
    const char *name;
    size_t n;
    bool ip = unsock_is_ip(q->addr, q->len);
    if (ip) {
        p->port = unsock_ip_port(q->addr);
        p->rule = unsock_rules_match_ip(rs, dir, q->type, q->addr, q->len);
    } else if (rs->has_from && unsock_unix_name(q->addr, q->len, &from, &name, &n)) {
        p->rule = unsock_rules_match_unix(rs, dir, q->type, from, name, n);
    }
    if (ip && q->peer != NULL && (q->call == CALL_SEND || q->call == CALL_CONNECT))
        return known_peer(p, q);
    const struct unsock_rule *r = p->rule;
    if (r == NULL) {
        if (ip && q->converted && q->type == SOCK_DGRAM && (q->call == CALL_SEND || q->call == CALL_CONNECT))
            return reply(rs, p, q);
        if (ip && q->converted && q->call == CALL_SEND)
            reject(p, ENETUNREACH, "unreachable: a converted socket cannot send to an address no rule converts");
        return;
    }
    switch (r->action) {
    case ACT_IGNORE:
        return;
    case ACT_REJECT:
        return reject(p, r->reject_errno, NULL);
    case ACT_SYSTEMD:
        p->kind = PLAN_SYSTEMD;
        p->fdname = r->target != NULL && r->target[0] != '\0' ? r->target : NULL;
        return;
    default:
        break;
    }
    if (q->call == CALL_SEND)
        return send_to(p, q, ip);
    if (!ip)
        return rewrite(p, q);
    if (q->converted) {
        if (q->call == CALL_BIND)
            return reject(p, EINVAL, "refused: the socket is bound or connected already");
        if (q->connecting)
            return reject(p, EALREADY, "refused: its connect is under way");
        if (!unix_target(r))
            return reject(p, EINVAL, "refused: the socket is already a unix socket");
        p->in_place = true;
        return unix_address(p, q, q->addr);
    }
    if (q->domain != q->addr->sa_family || !convertible(q->type)) {
        p->why = "not a socket unsock converts";
        return;
    }
    bind_connect(p, q);
}

bool unsock_plan_control_file(struct unsock_plan *p, const struct unsock_query *q, int err)
{
    const char *why = NULL;
    struct unsock_control c;
    enum unsock_control_kind kind = unsock_control_read(p->un.sun_path, &c, &why);
    if (kind == CONTROL_NONE)
        return false;
    p->control_file = p->un.sun_path;
    if (kind == CONTROL_BAD) {
        reject(p, err, why);
        p->unusable = true;
    } else if (kind == CONTROL_FIRECRACKER && q->call == CALL_BIND) {
        reject(p, EINVAL, "a Firecracker multiplexer only connects");
    } else {
        p->kind = PLAN_RECORD;
        p->record = c;
        p->firecracker = kind == CONTROL_FIRECRACKER;
    }
    return true;
}

int unsock_plan_at_port(struct unsock_plan *p, const struct unsock_query *q, uint16_t port)
{
    p->port = port;
    return unsock_rule_sockaddr(p->rule, q->type, q->addr, port, &p->un, &p->un_len);
}

static const char *tipc_scope(signed char scope)
{
    return scope == TIPC_NODE_SCOPE ? "node" : scope == TIPC_CLUSTER_SCOPE ? "cluster" : "zone";
}

/* "vsock CID:PORT", "tipc TYPE:LOWER:UPPER@SCOPE", "firecracker UDS:PORT". */
static void describe_record(const struct unsock_plan *p, char *out, size_t outlen)
{
    sa_family_t family;
    memcpy(&family, p->record.dest, sizeof(family));
    if (family == AF_TIPC) {
        struct sockaddr_tipc t;
        memcpy(&t, p->record.dest, sizeof(t));
        if (t.addrtype == TIPC_ADDR_NAMESEQ)
            snprintf(out, outlen, "tipc %u:%u:%u@%s", t.addr.nameseq.type, t.addr.nameseq.lower,
                     t.addr.nameseq.upper, tipc_scope(t.scope));
        else if (t.addrtype == TIPC_ADDR_NAME)
            snprintf(out, outlen, "tipc %u:%u@%s", t.addr.name.name.type, t.addr.name.name.instance,
                     tipc_scope(t.scope));
        else
            snprintf(out, outlen, "tipc socket %u:%u", t.addr.id.node, t.addr.id.ref);
        return;
    }
    struct sockaddr_vm vm;
    memcpy(&vm, p->record.dest, sizeof(vm));
    if (!p->firecracker) {
        snprintf(out, outlen, "vsock %u:%u", vm.svm_cid, vm.svm_port);
        return;
    }
    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    size_t n = p->record.proxy_len < sizeof(un) ? p->record.proxy_len : sizeof(un);
    memcpy(&un, p->record.proxy, n);
    size_t off = offsetof(struct sockaddr_un, sun_path);
    bool abstract = n > off && un.sun_path[0] == '\0';
    int shown = n > off + abstract ? (int)strnlen(un.sun_path + abstract, n - off - abstract) : 0;
    snprintf(out, outlen, "firecracker %s%.*s:%u", abstract ? "@" : "", shown, un.sun_path + abstract, vm.svm_port);
}

static void describe_outcome(const struct unsock_plan *p, char *out, size_t outlen)
{
    size_t off = offsetof(struct sockaddr_un, sun_path);
    char record[300];
    switch (p->kind) {
    case PLAN_NATIVE:
        snprintf(out, outlen, "left alone%s%s", p->why ? ": " : "", p->why ? p->why : "");
        return;
    case PLAN_REJECT:
        if (p->why != NULL && p->control_file != NULL)
            snprintf(out, outlen, "control file %s: %s%s", p->control_file, p->unusable ? "not usable: " : "",
                     p->why);
        else if (p->why != NULL)
            snprintf(out, outlen, "%s", p->why);
        else
            snprintf(out, outlen, "reject %s", strerror(p->err));
        return;
    case PLAN_UNIX:
        if (p->no_address)
            snprintf(out, outlen, "the connected peer (the address is not used)");
        else if (p->free_port && p->un_len == 0)
            snprintf(out, outlen, "%s%s, a free port", p->rule->action == ACT_PATH ? "path " : "abstract @",
                     p->rule->target);
        else if (p->un_len > off && p->un.sun_path[0] == '\0')
            snprintf(out, outlen, "abstract @%.*s%s", (int)(p->un_len - off - 1), p->un.sun_path + 1,
                     p->known_peer ? ", a sender seen before" : "");
        else
            snprintf(out, outlen, "path %.*s%s", (int)sizeof(p->un.sun_path), p->un.sun_path,
                     p->known_peer ? ", a sender seen before" : "");
        return;
    case PLAN_BLACKHOLE:
        snprintf(out, outlen, "blackhole");
        return;
    case PLAN_RECORD:
        describe_record(p, record, sizeof(record));
        if (p->control_file != NULL)
            snprintf(out, outlen, "control file %s: %s", p->control_file, record);
        else
            snprintf(out, outlen, "%s", record);
        return;
    case PLAN_SYSTEMD:
        snprintf(out, outlen, "systemd socket%s%s", p->fdname ? " " : "", p->fdname ? p->fdname : "");
        return;
    }
}

void unsock_plan_describe(const struct unsock_rules *rs, const struct unsock_plan *p, char *out, size_t outlen)
{
    char outcome[400];
    describe_outcome(p, outcome, sizeof(outcome));
    if (p->rule != NULL)
        snprintf(out, outlen, "rule %zu -> %s", unsock_rule_index(rs, p->rule), outcome);
    else
        snprintf(out, outlen, "no rule -> %s", outcome);
}
