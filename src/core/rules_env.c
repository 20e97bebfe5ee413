/* The original's UNSOCK_* settings as rules (the translation docs/rules.md
 * gives and tests/vectors/env.json lists), made as rules directly. */
#include "rules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* DIR/%p.EXT with every % of DIR doubled, at out (room for 2 * dir_len + 12). */
static char *dir_template(const struct unsock_config *cfg, const char *ext, char *out)
{
    char *p = out;
    for (size_t i = 0; i < cfg->dir_len; i++) {
        if (cfg->dir[i] == '%')
            *p++ = '%';
        *p++ = cfg->dir[i];
    }
    strcpy(p, "/%p.");
    strcat(p, ext);
    return p + strlen(p) + 1;
}

int unsock_rules_from_config(const struct unsock_config *cfg, struct unsock_rules *out)
{
    memset(out, 0, sizeof(*out));
    out->v = calloc(2 * cfg->nranges + 1, sizeof(*out->v));
    out->strings = malloc(2 * (2 * cfg->dir_len + 12));
    if (out->v == NULL || out->strings == NULL) {
        unsock_rules_free(out);
        errno = ENOMEM;
        return -1;
    }
    const char *udp = out->strings, *sock = dir_template(cfg, "udp", out->strings);
    dir_template(cfg, "sock", (char *)sock);
    for (size_t i = 0; i < cfg->nranges; i++) {
        for (int t = 0; t < 2; t++) {
            struct unsock_rule *r = &out->v[out->n++];
            *r = (struct unsock_rule){
                .type = t == 0 ? SOCK_DGRAM : 0, .has_addr = true, .addr = cfg->ranges[i],
                .has_port = cfg->port >= 0, .port_lo = (uint16_t)(cfg->port >= 0 ? cfg->port : 0),
                .port_hi = (uint16_t)(cfg->port >= 0 ? cfg->port : 0), .action = ACT_PATH,
                .target = t == 0 ? udp : sock, .mode = cfg->mode,
            };
        }
    }
    if (cfg->block_inet)
        out->v[out->n++] = (struct unsock_rule){.has_addr = true, .addr = {.family = AF_INET}, .action = ACT_REJECT,
                                                .reject_errno = EACCES, .mode = -1};
    return 0;
}
