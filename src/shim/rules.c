#include "rules.h"

#include "glob.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tipc.h>
#include <linux/vm_sockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AF_TIPC
#define AF_TIPC 30
#endif

struct unsock_rules unsock_ruleset;

/* Fields of the canonical form, in their order. */
enum { F_DIR, F_TYPE, F_ADDR, F_PORT, F_FROM, F_ACTION, F_MODE, F_NOREMOVE };

static const char *const action_names[] = {
    [ACT_PATH] = "path", [ACT_ABSTRACT] = "abstract", [ACT_REJECT] = "reject",
    [ACT_BLACKHOLE] = "blackhole", [ACT_IGNORE] = "ignore", [ACT_SYSTEMD] = "systemd",
    [ACT_VSOCK] = "vsock", [ACT_TIPC] = "tipc", [ACT_FIRECRACKER] = "firecracker",
};

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

/* Decimal digits spanning s, value <= hi; "%p" too if placeholder. */
static bool number(const char *s, long long hi, bool placeholder, long long *out)
{
    if (placeholder && strcmp(s, "%p") == 0) {
        *out = RULE_PORT_PLACEHOLDER;
        return true;
    }
    size_t n = strlen(s);
    if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
        return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > hi)
        return false;
    *out = v;
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

/* A template of path= / abstract=: only %p %a %t %% placeholders. */
static bool template_ok(const char *t, bool ip)
{
    for (const char *p = strchr(t, '%'); p != NULL; p = strchr(p + 2, '%')) {
        if (p[1] == '%' || p[1] == 't')
            continue;
        if (!ip || (p[1] != 'p' && p[1] != 'a'))
            return false;
    }
    return true;
}

static int parse_value(struct unsock_rule *r, const char *key, char *val, size_t line, char *err, size_t errlen)
{
    long long n;
    if (strcmp(key, "addr") == 0) {
        if (unsock_range_parse(val, strlen(val), &r->addr) != 0)
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
        size_t len = strlen(val);
        char *end;
        long v = strtol(val, &end, 8);
        if (len != 4 || val[0] != '0' || *end != '\0' || v < 0 || v > 0777)
            return fail(err, errlen, line, "mode=%s is not 0NNN", val);
        r->mode = (int32_t)v;
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
        return fail(err, errlen, line, "%s without in", action_names[r->action]);
    if (r->action == ACT_FIRECRACKER && (r->dir != RULE_OUT || r->type == SOCK_DGRAM))
        return fail(err, errlen, line, "firecracker= without out or with dgram");
    if ((r->mode >= 0 || r->noremove) && r->action != ACT_PATH)
        return fail(err, errlen, line, "mode= or noremove without path=");
    if (r->from != FROM_IP && (r->has_addr || r->has_port))
        return fail(err, errlen, line, "from-unix / from-abstract with addr= or port=");
    if (r->from != FROM_IP && (r->action == ACT_VSOCK || r->action == ACT_TIPC || r->action == ACT_FIRECRACKER))
        return fail(err, errlen, line, "from-unix / from-abstract with %s=", action_names[r->action]);
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

/* Append s to out[*used..], escaping ',' and '\\' unless raw. */
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
    const char *name = action_names[r->action];
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

int unsock_rules_from_config(const struct unsock_config *cfg, char *out, size_t outlen)
{
    static const int types[] = {SOCK_DGRAM, 0};
    struct unsock_rule r = {.mode = cfg->mode, .has_port = cfg->port >= 0, .action = ACT_PATH, .has_addr = true};
    r.port_lo = r.port_hi = (uint16_t)(cfg->port >= 0 ? cfg->port : 0);
    char dir[2 * UNSOCK_DIR_MAX + 1], path[sizeof(dir) + 16];
    size_t d = 0;
    for (size_t i = 0; i < cfg->dir_len; i++) {
        if (cfg->dir[i] == '%')
            dir[d++] = '%';
        dir[d++] = cfg->dir[i];
    }
    dir[d] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < cfg->nranges; i++) {
        r.addr = cfg->ranges[i];
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
            r.type = types[t];
            snprintf(path, sizeof(path), "%s/%%p.%s", dir, r.type == SOCK_DGRAM ? "udp" : "sock");
            r.target = path;
            if (used > 0)
                put(out, outlen, &used, "\n", true);
            used += unsock_rule_format(&r, out + used, outlen - used);
        }
    }
    if (cfg->block_inet) {
        struct unsock_rule block = {.has_addr = true, .addr = {.family = AF_INET}, .action = ACT_REJECT,
                                    .reject_errno = EACCES, .mode = -1};
        if (used > 0)
            put(out, outlen, &used, "\n", true);
        used += unsock_rule_format(&block, out + used, outlen - used);
    }
    return used + 1 < outlen ? 0 : -1;
}

size_t unsock_rule_index(const struct unsock_rules *rs, const struct unsock_rule *r)
{
    return (size_t)(r - rs->v) + 1;
}

static bool common_match(const struct unsock_rule *r, int dir, int type)
{
    return (r->dir == RULE_BOTH || r->dir == dir) && (r->type == 0 || r->type == type);
}

const struct unsock_rule *unsock_rules_match_ip(const struct unsock_rules *rs, int dir, int type,
                                                const struct sockaddr *addr, socklen_t len)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *ip6 = NULL, *ip4 = NULL;
    uint16_t port;
    if (addr == NULL)
        return NULL;
    if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        ip4 = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
        port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
    } else if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        ip6 = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
        if (memcmp(ip6, mapped, sizeof(mapped)) == 0)
            ip4 = ip6 + 12;
        port = ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    } else {
        return NULL;
    }
    for (size_t i = 0; i < rs->n; i++) {
        const struct unsock_rule *r = &rs->v[i];
        if (r->from != FROM_IP || !common_match(r, dir, type))
            continue;
        if (r->has_port && (port < r->port_lo || port > r->port_hi))
            continue;
        if (r->has_addr) {
            const uint8_t *ip = r->addr.family == AF_INET ? ip4 : ip6;
            if (ip == NULL || !unsock_prefix_match(ip, r->addr.addr, r->addr.prefix))
                continue;
        }
        return r;
    }
    return NULL;
}

const struct unsock_rule *unsock_rules_match_unix(const struct unsock_rules *rs, int dir, int type, int from,
                                                  const char *name, size_t len)
{
    for (size_t i = 0; i < rs->n; i++) {
        const struct unsock_rule *r = &rs->v[i];
        if (r->from == from && common_match(r, dir, type) && unsock_glob_match(r->glob, name, len))
            return r;
    }
    return NULL;
}

bool unsock_rule_has_port(const struct unsock_rule *r)
{
    if (r->action != ACT_PATH && r->action != ACT_ABSTRACT)
        return false;
    for (const char *p = strchr(r->target, '%'); p != NULL; p = strchr(p + 2, '%'))
        if (p[1] == 'p')
            return true;
    return false;
}

static const char *type_name(int type)
{
    return type == SOCK_DGRAM ? "udp" : type == SOCK_STREAM ? "tcp" : "seqpacket";
}

int unsock_rule_sockaddr(const struct unsock_rule *r, int type, const struct sockaddr *addr, uint16_t port,
                         struct sockaddr_un *out, socklen_t *outlen)
{
    memset(out, 0, sizeof(*out));
    out->sun_family = AF_UNIX;
    size_t used = r->action == ACT_ABSTRACT ? 1 : 0, cap = sizeof(out->sun_path) - (used ? 0 : 1);
    char buf[INET6_ADDRSTRLEN];
    for (const char *t = r->target; *t; t++) {
        const char *piece = buf;
        buf[0] = *t;
        buf[1] = '\0';
        if (*t == '%') {
            t++;
            if (*t == 'p')
                snprintf(buf, sizeof(buf), "%u", port);
            else if (*t == 't')
                piece = type_name(type);
            else if (*t == 'a' && addr != NULL)
                inet_ntop(addr->sa_family,
                          addr->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)addr)->sin_addr
                                                     : (const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr,
                          buf, sizeof(buf));
        }
        size_t n = strlen(piece);
        if (used + n > cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(out->sun_path + used, piece, n);
        used += n;
    }
    *outlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + used + (r->action == ACT_PATH ? 1 : 0));
    return 0;
}

/* Whether name is template (with %t of type, %% and one %p) for a port. */
static int template_port(const char *t, int type, const char *name, size_t len)
{
    int port = -1;
    size_t i = 0;
    for (; *t; t++) {
        if (*t == '%' && t[1] == 'p') {
            t++;
            unsigned v = 0;
            size_t digits = 0;
            while (i < len && name[i] >= '0' && name[i] <= '9' && digits < 5) {
                v = v * 10 + (unsigned)(name[i++] - '0');
                digits++;
            }
            if (digits == 0 || v > 65535 || port >= 0)
                return -1;
            port = (int)v;
            continue;
        }
        const char *piece = t;
        size_t n = 1;
        if (*t == '%') {
            t++;
            if (*t == 'a')
                return -1;
            if (*t == 't') {
                piece = type_name(type);
                n = strlen(piece);
            }
        }
        if (i + n > len || memcmp(name + i, piece, n) != 0)
            return -1;
        i += n;
    }
    return i == len ? port : -1;
}

int unsock_rules_port_of(const struct unsock_rules *rs, int type, const struct sockaddr_un *un, socklen_t len)
{
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (len <= off + 1 || un->sun_family != AF_UNIX)
        return -1;
    bool abstract = un->sun_path[0] == '\0';
    const char *name = un->sun_path + (abstract ? 1 : 0);
    size_t n = abstract ? len - off - 1 : strnlen(un->sun_path, len - off);
    for (size_t i = 0; i < rs->n; i++) {
        const struct unsock_rule *r = &rs->v[i];
        if (r->action != (abstract ? ACT_ABSTRACT : ACT_PATH) || r->from != FROM_IP || (r->type != 0 && r->type != type))
            continue;
        /* A port outside the rule's range (a client's implicit bind) is no
         * port this rule would send to: the peer gets a pseudo port. */
        int port = template_port(r->target, type, name, n);
        if (port >= 0 && (!r->has_port || (port >= r->port_lo && port <= r->port_hi)))
            return port;
    }
    return -1;
}

static unsigned num_or_port(long long v, uint16_t port)
{
    return v == RULE_PORT_PLACEHOLDER ? port : (unsigned)v;
}

void unsock_rule_control(const struct unsock_rule *r, bool binding, uint16_t port, struct unsock_control *out)
{
    memset(out, 0, sizeof(*out));
    out->magic = UNSOCK_CONTROL_MAGIC;
    if (r->action == ACT_TIPC) {
        struct sockaddr_tipc t = {.family = AF_TIPC, .scope = (signed char)r->tipc_scope};
        t.addrtype = binding ? TIPC_ADDR_NAMESEQ : TIPC_ADDR_NAME;
        t.addr.nameseq.type = (unsigned)r->num[0];
        t.addr.nameseq.lower = num_or_port(r->num[1], port);
        t.addr.nameseq.upper = binding ? num_or_port(r->num[2], port) : 0;
        memcpy(out->dest, &t, sizeof(t));
        out->dest_len = sizeof(t);
        return;
    }
    struct sockaddr_vm vm = {.svm_family = AF_VSOCK};
    if (r->action == ACT_VSOCK) {
        vm.svm_cid = (unsigned)r->num[0];
        vm.svm_port = num_or_port(r->num[1], port);
    } else {
        vm.svm_cid = VMADDR_CID_ANY;
        vm.svm_port = num_or_port(r->num[0], port);
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        memcpy(un.sun_path, r->target, strlen(r->target));
        memcpy(out->proxy, &un, sizeof(un));
        out->proxy_len = sizeof(un);
        out->options = UNSOCK_CONTROL_FIRECRACKER;
    }
    memcpy(out->dest, &vm, sizeof(vm));
    out->dest_len = sizeof(vm);
}
