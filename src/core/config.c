#include "config.h"

#include "digits.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

struct unsock_config unsock_cfg;

static const char *nonempty(unsock_getenv_fn get, const char *name)
{
    const char *v = get(name);
    return (v != NULL && v[0] != '\0') ? v : NULL;
}

static bool parse_digits(const char *s, size_t len, size_t maxdigits, bool leading_zero, unsigned long hi,
                         unsigned long *out)
{
    unsigned long long v;
    if (!unsock_digits(s, len, maxdigits, leading_zero, hi, &v))
        return false;
    *out = (unsigned long)v;
    return true;
}

static bool parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
    const char *end = s + len;
    for (int octet = 0; octet < 4; octet++) {
        const char *dot = octet < 3 ? memchr(s, '.', (size_t)(end - s)) : end;
        unsigned long v;
        if (dot == NULL || !parse_digits(s, (size_t)(dot - s), 3, false, 255, &v))
            return false;
        out[octet] = (uint8_t)v;
        s = dot + 1;
    }
    return true;
}

int unsock_range_parse(const char *s, size_t len, struct unsock_range *r)
{
    const char *slash = memchr(s, '/', len);
    size_t addr_len = slash ? (size_t)(slash - s) : len;
    char text[INET6_ADDRSTRLEN];
    memset(r, 0, sizeof(*r));
    if (parse_ipv4(s, addr_len, r->addr)) {
        r->family = AF_INET;
    } else if (addr_len < sizeof(text)) {
        memcpy(text, s, addr_len);
        text[addr_len] = '\0';
        if (inet_pton(AF_INET6, text, r->addr) != 1)
            return -1;
        r->family = AF_INET6;
    } else {
        return -1;
    }
    unsigned long max = r->family == AF_INET ? 32 : 128, prefix = max;
    if (slash && !parse_digits(slash + 1, len - addr_len - 1, 3, false, max, &prefix))
        return -1;
    r->prefix = (unsigned)prefix;
    return 0;
}

static int parse_ranges(const char *s, struct unsock_config *cfg)
{
    cfg->nranges = 0;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (cfg->nranges == UNSOCK_MAX_RANGES || unsock_range_parse(s, len, &cfg->ranges[cfg->nranges]) != 0)
            return -1;
        cfg->nranges++;
        if (comma == NULL)
            return 0;
        s = comma + 1;
    }
}

static int parse_bool(unsock_getenv_fn get, const char *name, bool *out,
                      char *err, size_t errlen)
{
    const char *v = get(name);
    if (v == NULL || v[0] == '\0' || strcmp(v, "0") == 0) {
        *out = false;
    } else if (strcmp(v, "1") == 0) {
        *out = true;
    } else {
        snprintf(err, errlen, "%s='%s' is not a valid switch: use 1 (on) or 0 (off)", name, v);
        return -1;
    }
    return 0;
}

int unsock_config_parse(struct unsock_config *cfg, unsock_getenv_fn get,
                        char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));

    cfg->rules = nonempty(get, "UNSOCK_RULES");
    const char *log_file = nonempty(get, "UNSOCK_LOG_FILE");
    if (log_file != NULL) {
        if (log_file[0] != '/' || strlen(log_file) >= sizeof(cfg->log_file)) {
            snprintf(err, errlen, "UNSOCK_LOG_FILE='%s' is not an absolute path: give a path starting with /", log_file);
            return -1;
        }
        strcpy(cfg->log_file, log_file);
    }
    const char *dir = nonempty(get, "UNSOCK_DIR");
    if (dir == NULL && cfg->rules != NULL)
        dir = "/"; /* not used: the rules say where sockets go */
    if (dir == NULL) {
        snprintf(err, errlen, "UNSOCK_DIR is not set: set it to the absolute path of the socket directory, or start the program with 'unsock run'");
        return -1;
    }
    if (dir[0] != '/') {
        snprintf(err, errlen, "UNSOCK_DIR='%s' is not an absolute path: give a path starting with /", dir);
        return -1;
    }
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len == 1)
        len = 0; /* the root directory: files are "/PORT.sock" */
    if (len > UNSOCK_DIR_MAX) {
        snprintf(err, errlen, "UNSOCK_DIR is %zu bytes long, at most %zu fit in a unix socket path: choose a shorter directory",
                 len, (size_t)UNSOCK_DIR_MAX);
        return -1;
    }
    memcpy(cfg->dir, dir, len);
    cfg->dir[len] = '\0';
    cfg->dir_len = len;

    const char *addr = nonempty(get, "UNSOCK_ADDR");
    if (addr == NULL)
        addr = "127.175.0.0/32";
    if (parse_ranges(addr, cfg) != 0) {
        snprintf(err, errlen, "UNSOCK_ADDR='%s' is not a list of IP addresses or ranges: use a form like 127.0.0.1, 127.0.0.0/8 or 127.0.0.0/8,::1/128 (at most %d)", addr, UNSOCK_MAX_RANGES);
        return -1;
    }

    unsigned long port = 0;
    const char *port_s = nonempty(get, "UNSOCK_PORT");
    bool any_port = port_s == NULL || strcmp(port_s, "-1") == 0;
    if (!any_port && !parse_digits(port_s, strlen(port_s), 5, true, 65535, &port)) {
        snprintf(err, errlen, "UNSOCK_PORT='%s' is not a port: use a number from 0 to 65535, or -1 for any port", port_s);
        return -1;
    }
    cfg->port = any_port ? -1 : (int32_t)port;

    cfg->mode = -1;
    const char *mode_s = nonempty(get, "UNSOCK_MODE");
    if (mode_s) {
        unsigned mode = 0;
        size_t n = strlen(mode_s);
        bool ok = n >= 1 && n <= 4;
        for (size_t i = 0; ok && i < n; i++) {
            ok = mode_s[i] >= '0' && mode_s[i] <= '7';
            mode = mode * 8 + (unsigned)(mode_s[i] - '0');
        }
        if (!ok || mode > 0777) {
            snprintf(err, errlen, "UNSOCK_MODE='%s' is not a file mode: use octal permission bits such as 660 or 0700", mode_s);
            return -1;
        }
        cfg->mode = (int32_t)mode;
    }

    if (parse_bool(get, "UNSOCK_BLOCK_INET", &cfg->block_inet, err, errlen) != 0 ||
        parse_bool(get, "UNSOCK_BLOCK_INET6", &cfg->block_inet6, err, errlen) != 0 ||
        parse_bool(get, "UNSOCK_ACCEPT_CONVERT_ALL", &cfg->accept_convert_all, err, errlen) != 0 ||
        parse_bool(get, "UNSOCK_ACCEPT_CONVERT_VSOCK", &cfg->accept_convert_vsock, err, errlen) != 0 ||
        parse_bool(get, "UNSOCK_PEER_LOOPBACK", &cfg->peer_loopback, err, errlen) != 0 ||
        parse_bool(get, "UNSOCK_IP_AT_SOCKET", &cfg->ip_at_socket, err, errlen) != 0 ||
        parse_bool(get, "UNSOCK_DEBUG", &cfg->debug, err, errlen) != 0)
        return -1;
    return 0;
}

/* IPv6 addresses in full (0000:...:0001), not compressed: the one form
 * that the C library and Python's ipaddress spell alike. */
size_t unsock_range_format(const struct unsock_range *r, char *out, size_t outlen)
{
    const uint8_t *a = r->addr;
    int n;
    if (r->family == AF_INET)
        n = snprintf(out, outlen, "%u.%u.%u.%u/%u", a[0], a[1], a[2], a[3], r->prefix);
    else
        n = snprintf(out, outlen, "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x/%u",
                     a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
                     a[14], a[15], r->prefix);
    return n < 0 ? 0 : (size_t)n < outlen ? (size_t)n : outlen - 1;
}

int unsock_config_format(const struct unsock_config *cfg, char *out, size_t outlen)
{
    if (cfg->rules != NULL)
        return snprintf(out, outlen,
                        "rules=UNSOCK_RULES block_inet6=%d accept_convert_all=%d accept_convert_vsock=%d "
                        "peer_loopback=%d ip_at_socket=%d",
                        cfg->block_inet6, cfg->accept_convert_all, cfg->accept_convert_vsock, cfg->peer_loopback,
                        cfg->ip_at_socket);
    char mode[16] = "-";
    if (cfg->mode >= 0)
        snprintf(mode, sizeof(mode), "%04o", (unsigned)cfg->mode & 0777u);
    char ranges[UNSOCK_MAX_RANGES * 46] = "";
    size_t used = 0;
    for (size_t i = 0; i < cfg->nranges; i++) {
        if (i > 0 && used + 1 < sizeof(ranges))
            ranges[used++] = ',';
        used += unsock_range_format(&cfg->ranges[i], ranges + used, sizeof(ranges) - used);
    }
    return snprintf(out, outlen,
                    "dir=%s addr=%s port=%d mode=%s block_inet=%d block_inet6=%d "
                    "accept_convert_all=%d accept_convert_vsock=%d peer_loopback=%d ip_at_socket=%d",
                    cfg->dir_len ? cfg->dir : "/", ranges, (int)cfg->port, mode, cfg->block_inet,
                    cfg->block_inet6, cfg->accept_convert_all, cfg->accept_convert_vsock, cfg->peer_loopback,
                    cfg->ip_at_socket);
}

bool unsock_prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}
