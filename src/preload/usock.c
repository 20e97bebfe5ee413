/* Filling in what the program is shown of a converted socket: the same
 * steps for both engines. */
#include "usock.h"

#include "addr.h"
#include "real.h"
#include "sockaddr.h"
#include "sockfile.h"
#include "template.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static void set_local(struct usock *s, const struct sockaddr *addr, uint16_t port)
{
    s->local_len = unsock_inet_len(addr->sa_family);
    memcpy(&s->local, addr, s->local_len);
    ((struct sockaddr_in *)&s->local)->sin_port = htons(port);
}

void unsock_set_peer(struct usock *s, const struct sockaddr *addr)
{
    s->peer_len = unsock_inet_len(addr->sa_family);
    memcpy(&s->peer, addr, s->peer_len);
}

void unsock_read_peer(struct usock *s, int fd, const char *what)
{
    struct sockaddr_un un;
    socklen_t len = sizeof(un);
    int saved = errno;
    s->peer_unread = false;
    s->peer_len = unsock_real.getpeername(fd, (struct sockaddr *)&un, &len) != 0
                      ? 0
                      : unsock_accepted_peer(fd, s->family, &s->local, s->local_len, &un,
                                             len < sizeof(un) ? len : sizeof(un), what, &s->peer);
    errno = saved;
}

int unsock_implicit_bind(int tmp, struct usock *s, const struct unsock_query *q, const struct unsock_plan *p,
                         struct sockaddr_un *owned)
{
    struct sockaddr_storage reply;
    unsock_reply_addr((const struct sockaddr_storage *)q->addr, 0, &reply);
    owned->sun_path[0] = '\0';
    uint16_t port;
    if (unsock_rule_has_port(p->rule)) {
        struct unsock_query bq = {.call = CALL_BIND, .type = q->type, .addr = (const struct sockaddr *)&reply,
                                  .len = unsock_inet_len(reply.ss_family)};
        struct unsock_plan bp = {.rule = p->rule, .mode = p->rule->mode};
        if (unsock_bind_free_port(tmp, &bq, &bp) != 0)
            return -1;
        port = bp.port;
        if (p->rule->action == ACT_PATH && !p->rule->noremove)
            *owned = bp.un;
    } else {
        sa_family_t family = AF_UNIX;
        if (unsock_real.bind(tmp, (const struct sockaddr *)&family, sizeof(family)) != 0)
            return -1;
        port = unsock_pseudo_port();
    }
    s->local_len = unsock_reply_addr((const struct sockaddr_storage *)q->addr, port, &s->local);
    return 0;
}

void unsock_describe(struct usock *s, const struct unsock_query *q, uint16_t port)
{
    if (q->call == CALL_BIND) {
        set_local(s, q->addr, port);
        return;
    }
    unsock_set_peer(s, q->addr);
    if (s->local_len == 0)
        s->local_len = unsock_other_end(&s->peer, unsock_pseudo_port(), &s->local);
}


/* The entry of s for un, or for port if port is not 0; a new one (the
 * oldest replaced) if there is none. NULL without memory. Lock held. */
static struct unsock_peer *entry(struct usock *s, uint16_t port, const struct sockaddr_un *un, socklen_t len)
{
    if (s->peers == NULL && (s->peers = calloc(1, sizeof(*s->peers))) == NULL)
        return NULL;
    struct unsock_peers *ps = s->peers;
    for (size_t i = 0; i < UNSOCK_PEERS; i++) {
        struct unsock_peer *p = &ps->v[i];
        if (p->port != 0 && (port != 0 ? p->port == port : p->len == len && memcmp(&p->addr, un, len) == 0))
            return p;
    }
    struct unsock_peer *p = &ps->v[ps->next];
    ps->next = (ps->next + 1) % UNSOCK_PEERS;
    p->port = port != 0 ? port : unsock_pseudo_port();
    p->len = len;
    memcpy(&p->addr, un, len);
    return p;
}

uint16_t unsock_peers_port(struct usock *s, const struct sockaddr_un *un, socklen_t len)
{
    if (len > sizeof(*un))
        return 0;
    const struct unsock_peer *p = entry(s, 0, un, len);
    return p != NULL ? p->port : 0;
}

void unsock_peers_remember(struct usock *s, uint16_t port, const struct sockaddr_un *un, socklen_t len)
{
    if (len > sizeof(*un) || port == 0)
        return;
    struct unsock_peer *p = entry(s, port, un, len);
    if (p != NULL) {
        p->len = len;
        memcpy(&p->addr, un, len);
    }
}

bool unsock_peers_addr(const struct usock *s, uint16_t port, struct sockaddr_un *un, socklen_t *len)
{
    for (size_t i = 0; s->peers != NULL && i < UNSOCK_PEERS; i++) {
        const struct unsock_peer *p = &s->peers->v[i];
        if (p->port == port) {
            memcpy(un, &p->addr, p->len);
            *len = p->len;
            return true;
        }
    }
    return false;
}

socklen_t unsock_datagram_sender(struct usock *s, const struct sockaddr_un *un, socklen_t len,
                                 struct sockaddr_storage *out)
{
    struct sockaddr_storage local = s->local;
    if (s->local_len == 0)
        local.ss_family = (sa_family_t)s->family;
    int port = unsock_rules_port_of(&unsock_ruleset, SOCK_DGRAM, un, len);
    if (port < 0 && len > offsetof(struct sockaddr_un, sun_path) + 1)
        port = unsock_peers_port(s, un, len);
    return unsock_reply_addr(&local, port < 0 ? 0 : (uint16_t)port, out);
}
