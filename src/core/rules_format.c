/* The canonical text of a rule: what unsock.rules compiles and the decision
 * log's set-up lines show. */
#include "rules.h"

#include <linux/tipc.h>
#include <stdio.h>
#include <string.h>

const char *unsock_action_name(enum unsock_action a)
{
    static const char *const names[] = {
        [ACT_PATH] = "path", [ACT_ABSTRACT] = "abstract", [ACT_REJECT] = "reject",
        [ACT_BLACKHOLE] = "blackhole", [ACT_IGNORE] = "ignore", [ACT_SYSTEMD] = "systemd",
        [ACT_VSOCK] = "vsock", [ACT_TIPC] = "tipc", [ACT_FIRECRACKER] = "firecracker",
    };
    return a > 0 && a <= ACT_FIRECRACKER ? names[a] : "?";
}

static void put(char *out, size_t outlen, size_t *used, const char *s, bool raw)
{
    for (; *s; s++) {
        if (!raw && (*s == ',' || *s == '\\') && *used + 1 < outlen)
            out[(*used)++] = '\\';
        if (*used + 1 < outlen)
            out[(*used)++] = *s;
    }
    if (outlen > 0)
        out[*used < outlen ? *used : outlen - 1] = '\0';
}

static void put_field(char *out, size_t outlen, size_t *used, const char *key, const char *value)
{
    if (*used > 0)
        put(out, outlen, used, ",", true);
    put(out, outlen, used, key, true);
    if (value != NULL) {
        put(out, outlen, used, "=", true);
        put(out, outlen, used, value, false);
    }
}

static const char *num_text(long long v, char *buf, size_t len)
{
    if (v == RULE_PORT_PLACEHOLDER)
        return "%p";
    snprintf(buf, len, "%lld", v);
    return buf;
}

size_t unsock_rule_format(const struct unsock_rule *r, char *out, size_t outlen)
{
    size_t used = 0;
    char buf[160], a[16], b[16], c[16];
    if (outlen > 0)
        out[0] = '\0';
    if (r->dir != RULE_BOTH)
        put_field(out, outlen, &used, r->dir == RULE_IN ? "in" : "out", NULL);
    if (r->type != 0)
        put_field(out, outlen, &used, r->type == SOCK_STREAM ? "stream" : "dgram", NULL);
    if (r->has_addr) {
        unsock_range_format(&r->addr, buf, sizeof(buf));
        put_field(out, outlen, &used, "addr", buf);
    }
    if (r->has_port) {
        if (r->port_lo == r->port_hi)
            snprintf(buf, sizeof(buf), "%u", r->port_lo);
        else
            snprintf(buf, sizeof(buf), "%u-%u", r->port_lo, r->port_hi);
        put_field(out, outlen, &used, "port", buf);
    }
    if (r->from != FROM_IP)
        put_field(out, outlen, &used, r->from == FROM_UNIX ? "from-unix" : "from-abstract", r->glob);
    const char *name = unsock_action_name(r->action);
    switch (r->action) {
    case ACT_PATH:
    case ACT_ABSTRACT:
        put_field(out, outlen, &used, name, r->target);
        break;
    case ACT_REJECT:
        snprintf(buf, sizeof(buf), "%d", r->reject_errno);
        put_field(out, outlen, &used, name, buf);
        break;
    case ACT_SYSTEMD:
        put_field(out, outlen, &used, name, r->target);
        break;
    case ACT_VSOCK:
        snprintf(buf, sizeof(buf), "%s:%s", num_text(r->num[0], a, sizeof(a)), num_text(r->num[1], b, sizeof(b)));
        put_field(out, outlen, &used, name, buf);
        break;
    case ACT_TIPC:
        snprintf(buf, sizeof(buf), "%s:%s:%s@%s", num_text(r->num[0], a, sizeof(a)), num_text(r->num[1], b, sizeof(b)),
                 num_text(r->num[2], c, sizeof(c)), r->tipc_scope == TIPC_NODE_SCOPE ? "node" : "cluster");
        put_field(out, outlen, &used, name, buf);
        break;
    case ACT_FIRECRACKER:
        snprintf(buf, sizeof(buf), "%s:%s", r->target, num_text(r->num[0], a, sizeof(a)));
        put_field(out, outlen, &used, name, buf);
        break;
    default:
        put_field(out, outlen, &used, name, NULL);
    }
    if (r->mode >= 0) {
        snprintf(buf, sizeof(buf), "%04o", (unsigned)r->mode);
        put_field(out, outlen, &used, "mode", buf);
    }
    if (r->noremove)
        put_field(out, outlen, &used, "noremove", NULL);
    return used;
}

