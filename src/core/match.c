/* Which rule decides: the first whose direction, type and address (IP range
 * and ports, or a unix name's glob) fit. */
#include "match.h"

#include "glob.h"

#include <arpa/inet.h>
#include <string.h>

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

