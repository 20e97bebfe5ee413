#include "query.h"

#include "fdtable.h"
#include "peers.h"
#include "real.h"

/* The type and domain of fd (recorded by socket(), else asked); -1 on error. */
static int socket_kind(int fd, int *domain)
{
    int type = unsock_fd_created_type(fd, domain);
    if (type != 0)
        return type;
    socklen_t len = sizeof(type);
    if (unsock_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return -1;
    len = sizeof(*domain);
    if (unsock_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, domain, &len) != 0)
        return -1;
    return type;
}

int unsock_query_fd(enum unsock_call call, int fd, const struct sockaddr *addr, socklen_t len,
                    struct unsock_query *q, struct sockaddr_un *peer)
{
    *q = (struct unsock_query){.call = call, .addr = addr, .len = len};
    if (!unsock_plan_may_match(&unsock_ruleset, addr, len) || unsock_fd_nested())
        return 0;
    q->type = unsock_fd_converted_type(fd);
    if (q->type & UNSOCK_EARLY) { /* planned as the IP socket it stands for */
        q->early = true;
        q->type &= ~UNSOCK_EARLY;
        unsock_fd_created_type(fd, &q->domain);
    }
    q->converted = q->type != 0 && !q->early;
    if (q->converted) {
        q->domain = AF_UNIX;
        q->connecting = call == CALL_CONNECT && unsock_fd_connecting(fd); /* a lock: not on every send */
    }
    else if ((q->type = socket_kind(fd, &q->domain)) < 0)
        return -1;
    if (call == CALL_FASTOPEN && (q->converted || q->type != SOCK_STREAM))
        q->call = CALL_SEND;
    if (q->converted && q->type == SOCK_DGRAM && unsock_is_ip(addr, len) && unsock_ip_port(addr) != 0 &&
        unsock_peer_addr(fd, unsock_ip_port(addr), peer, &q->peer_len))
        q->peer = peer;
    return 1;
}
