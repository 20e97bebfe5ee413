/* The reader of UNSOCK_RULES: the canonical form only, strictly. */
#include "rules.h"

#include "digits.h"

#include <linux/tipc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unsock_rules unsock_ruleset;

/* Fields of the canonical form, in their order. */
enum { F_DIR, F_TYPE, F_ADDR, F_PORT, F_FROM, F_ACTION, F_MODE, F_NOREMOVE };

static int fail(char *err, size_t errlen, size_t line, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "UNSOCK_RULES line %zu: ", line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A number of the compiled form (no leading zero), value <= hi; "%p" too if
 * placeholder. */
static bool number(const char *s, long long hi, bool placeholder, long long *out)
{
    if (placeholder && strcmp(s, "%p") == 0) {
        *out = RULE_PORT_PLACEHOLDER;
        return true;
    }
    unsigned long long v;
    if (!unsock_digits(s, strlen(s), 10, false, (unsigned long long)hi, &v))
        return false;
    *out = (long long)v;
    return true;
}

/* Split s at the separators sep (in order) into parts, writing NULs. */
static bool split(char *s, const char *seps, char **parts, size_t nparts)
{
    parts[0] = s;
    for (size_t i = 1; i < nparts; i++) {
        char *at = strchr(parts[i - 1], seps[i - 1]);
        if (at == NULL)
            return false;
        *at = '\0';
        parts[i] = at + 1;
    }
    return true;
}

/* A template of path= / abstract=: only %p %a %t %% placeholders, and
 * short enough for a unix address with each at its shortest ("0", "::",
 * "tcp", "%"), as unsock.rules checks. */
static bool template_ok(const char *t, bool ip)
{
    size_t len = 0;
    for (; *t; t++, len++) {
        if (*t != '%')
            continue;
        t++;
        if (*t == 't')
            len += 2;
        else if (*t == 'a' && ip)
            len += 1;
        else if (*t != '%' && (*t != 'p' || !ip))
            return false;
    }
    return len <= UNSOCK_SUN_PATH_MAX - 1;
}

/* The canonical text of a range only (IPv6 in full, the prefix always). */
static bool range_read(const char *s, struct unsock_range *r)
{
    char back[64];
    size_t n = strlen(s);
    return unsock_range_parse(s, n, r) == 0 && unsock_range_format(r, back, sizeof(back)) == n &&
           memcmp(back, s, n) == 0;
}

static int parse_value(struct unsock_rule *r, const char *key, char *val, size_t line, char *err, size_t errlen)
{
    long long n;
    if (strcmp(key, "addr") == 0) {
        if (!range_read(val, &r->addr))
            return fail(err, errlen, line, "addr=%s is not an address range", val);
        r->has_addr = true;
    } else if (strcmp(key, "port") == 0) {
        char *parts[2];
        long long lo, hi;
        bool range = split(val, "-", parts, 2);
        if (!number(parts[0], 65535, false, &lo) || !number(range ? parts[1] : parts[0], 65535, false, &hi) ||
            (range && lo >= hi))
            return fail(err, errlen, line, "port= is not a port or a rising range");
        r->has_port = true;
        r->port_lo = (uint16_t)lo;
        r->port_hi = (uint16_t)hi;
    } else if (strcmp(key, "from-unix") == 0 || strcmp(key, "from-abstract") == 0) {
        r->from = key[5] == 'u' ? FROM_UNIX : FROM_ABSTRACT;
        r->glob = val;
    } else if (strcmp(key, "mode") == 0) {
        if (strlen(val) != 4 || val[0] != '0' || strspn(val, "01234567") != 4)
            return fail(err, errlen, line, "mode=%s is not 0NNN", val);
        r->mode = (int32_t)((val[1] - '0') * 64 + (val[2] - '0') * 8 + (val[3] - '0'));
    } else if (strcmp(key, "path") == 0 || strcmp(key, "abstract") == 0) {
        r->action = key[0] == 'p' ? ACT_PATH : ACT_ABSTRACT;
        if (val[0] == '\0' || (r->action == ACT_PATH && val[0] != '/') || !template_ok(val, r->from == FROM_IP))
            return fail(err, errlen, line, "%s=%s is not a valid target", key, val);
        r->target = val;
    } else if (strcmp(key, "reject") == 0) {
        r->action = ACT_REJECT;
        if (!number(val, 4095, false, &n) || n == 0)
            return fail(err, errlen, line, "reject=%s is not an errno number", val);
        r->reject_errno = (int)n;
    } else if (strcmp(key, "systemd") == 0) {
        r->action = ACT_SYSTEMD;
        if (strchr(val, ':') != NULL || strlen(val) > 255) /* as systemd's FileDescriptorName= */
            return fail(err, errlen, line, "systemd=%s is not a socket name", val);
        r->target = val;
    } else if (strcmp(key, "vsock") == 0) {
        char *parts[2];
        r->action = ACT_VSOCK;
        if (!split(val, ":", parts, 2) || !number(parts[0], 0xffffffffLL, false, &r->num[0]) ||
            !number(parts[1], 0xffffffffLL, true, &r->num[1]))
            return fail(err, errlen, line, "vsock= is not CID:PORT");
    } else if (strcmp(key, "tipc") == 0) {
        char *parts[4];
        r->action = ACT_TIPC;
        if (!split(val, "::@", parts, 4) || !number(parts[0], 0xffffffffLL, false, &r->num[0]) ||
            !number(parts[1], 0xffffffffLL, true, &r->num[1]) || !number(parts[2], 0xffffffffLL, true, &r->num[2]))
            return fail(err, errlen, line, "tipc= is not TYPE:LOWER:UPPER@SCOPE");
        if (strcmp(parts[3], "cluster") == 0)
            r->tipc_scope = TIPC_CLUSTER_SCOPE;
        else if (strcmp(parts[3], "node") == 0)
            r->tipc_scope = TIPC_NODE_SCOPE;
        else
            return fail(err, errlen, line, "tipc= scope is neither cluster nor node");
    } else if (strcmp(key, "firecracker") == 0) {
        r->action = ACT_FIRECRACKER;
        char *colon = strrchr(val, ':');
        if (colon == NULL || val[0] != '/')
            return fail(err, errlen, line, "firecracker= is not /UDS:PORT");
        *colon = '\0';
        if (!number(colon + 1, 0xffffffffLL, true, &r->num[0]) ||
            (size_t)(colon - val) >= UNSOCK_SUN_PATH_MAX)
            return fail(err, errlen, line, "firecracker= is not /UDS:PORT");
        r->target = val;
    } else {
        return fail(err, errlen, line, "unknown key %s=", key);
    }
    return 0;
}

static int field_of(const char *key, bool has_value)
{
    static const struct { const char *name; int field; bool value; } fields[] = {
        {"in", F_DIR, false}, {"out", F_DIR, false}, {"stream", F_TYPE, false}, {"dgram", F_TYPE, false},
        {"addr", F_ADDR, true}, {"port", F_PORT, true}, {"from-unix", F_FROM, true},
        {"from-abstract", F_FROM, true}, {"path", F_ACTION, true}, {"abstract", F_ACTION, true},
        {"reject", F_ACTION, true}, {"blackhole", F_ACTION, false}, {"ignore", F_ACTION, false},
        {"systemd", F_ACTION, false}, {"systemd", F_ACTION, true}, {"vsock", F_ACTION, true},
        {"tipc", F_ACTION, true}, {"firecracker", F_ACTION, true}, {"mode", F_MODE, true},
        {"noremove", F_NOREMOVE, false},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i].value == has_value && strcmp(fields[i].name, key) == 0)
            return fields[i].field;
    return -1;
}

static int parse_flag(struct unsock_rule *r, const char *flag)
{
    if (strcmp(flag, "in") == 0)
        r->dir = RULE_IN;
    else if (strcmp(flag, "out") == 0)
        r->dir = RULE_OUT;
    else if (strcmp(flag, "stream") == 0)
        r->type = SOCK_STREAM;
    else if (strcmp(flag, "dgram") == 0)
        r->type = SOCK_DGRAM;
    else if (strcmp(flag, "blackhole") == 0)
        r->action = ACT_BLACKHOLE;
    else if (strcmp(flag, "ignore") == 0)
        r->action = ACT_IGNORE;
    else if (strcmp(flag, "systemd") == 0)
        r->action = ACT_SYSTEMD;
    else
        r->noremove = true;
    return 0;
}

/* What the canonical form implies and what must hold together. */
static int check_rule(const struct unsock_rule *r, size_t line, char *err, size_t errlen)
{
    if (r->action == 0)
        return fail(err, errlen, line, "no action");
    if ((r->action == ACT_BLACKHOLE || r->action == ACT_SYSTEMD) && r->dir != RULE_IN)
        return fail(err, errlen, line, "%s without in", unsock_action_name(r->action));
    if (r->action == ACT_FIRECRACKER && (r->dir != RULE_OUT || r->type == SOCK_DGRAM))
        return fail(err, errlen, line, "firecracker= without out or with dgram");
    if ((r->mode >= 0 || r->noremove) && r->action != ACT_PATH)
        return fail(err, errlen, line, "mode= or noremove without path=");
    if (r->from != FROM_IP && (r->has_addr || r->has_port))
        return fail(err, errlen, line, "from-unix / from-abstract with addr= or port=");
    if (r->from != FROM_IP && (r->action == ACT_VSOCK || r->action == ACT_TIPC || r->action == ACT_FIRECRACKER))
        return fail(err, errlen, line, "from-unix / from-abstract with %s=", unsock_action_name(r->action));
    return 0;
}

/* One line, tokens unescaped into dst (which has room for the line). */
static int parse_line(struct unsock_rule *r, const char *line, size_t len, char *dst, size_t lineno, char *err,
                      size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->mode = -1;
    int last = -1;
    size_t i = 0;
    while (i <= len) {
        char *tok = dst;
        while (i < len && line[i] != ',') {
            if (line[i] == '\\') {
                /* the compiled form escapes every comma and backslash */
                if (i + 1 == len || (line[i + 1] != ',' && line[i + 1] != '\\'))
                    return fail(err, errlen, lineno, "a backslash that escapes neither ',' nor '\\'");
                i++;
            }
            *dst++ = line[i++];
        }
        *dst++ = '\0';
        i++;
        char *eq = strchr(tok, '=');
        if (eq != NULL)
            *eq = '\0';
        int field = field_of(tok, eq != NULL);
        if (field < 0)
            return fail(err, errlen, lineno, "unknown field '%s'", tok);
        if (field <= last)
            return fail(err, errlen, lineno, "'%s' out of place", tok);
        if (eq != NULL && eq[1] == '\0')
            return fail(err, errlen, lineno, "%s= has an empty value", tok);
        last = field;
        if (eq != NULL ? parse_value(r, tok, eq + 1, lineno, err, errlen) != 0 : parse_flag(r, tok) != 0)
            return -1;
    }
    return check_rule(r, lineno, err, errlen);
}

static int parse_all(const char *text, struct unsock_rules *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    size_t total = strlen(text), lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    out->v = calloc(lines, sizeof(*out->v));
    out->strings = malloc(total + lines + 1);
    if (out->v == NULL || out->strings == NULL)
        return fail(err, errlen, 0, "out of memory");
    char *dst = out->strings;
    const char *p = text;
    for (size_t lineno = 1; lineno <= lines; lineno++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        struct unsock_rule *r = &out->v[out->n];
        if (len == 0)
            return fail(err, errlen, lineno, "empty line");
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return fail(err, errlen, lineno, "control character");
        if (parse_line(r, p, len, dst, lineno, err, errlen) != 0)
            return -1;
        dst += len + 1;
        out->n++;
        out->has_systemd |= r->action == ACT_SYSTEMD;
        out->has_from |= r->from != FROM_IP;
        p += len + 1;
    }
    return 0;
}

void unsock_rules_free(struct unsock_rules *rs)
{
    free(rs->v);
    free(rs->strings);
    memset(rs, 0, sizeof(*rs));
}

int unsock_rules_parse(const char *text, struct unsock_rules *out, char *err, size_t errlen)
{
    if (parse_all(text, out, err, errlen) == 0)
        return 0;
    unsock_rules_free(out);
    return -1;
}

