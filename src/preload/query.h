/* Describing a call on a descriptor to the decision core. */
#ifndef UNSOCK_QUERY_H
#define UNSOCK_QUERY_H

#include "addr.h"
#include "plan.h"

/* Fill q for call on fd with addr: 1 when a rule may be about it, 0 when
 * the call can go to the kernel without asking (no rule looks at addr),
 * -1 with errno when fd is not a socket the kernel can tell about. Costs
 * no system call for sockets made by socket() or converted already. A
 * sender the converted datagram socket has seen at addr is copied to
 * *peer, which q then points to. CALL_FASTOPEN on anything but a stream
 * socket not converted yet becomes CALL_SEND. */
int unsock_query_fd(enum unsock_call call, int fd, const struct sockaddr *addr, socklen_t len,
                    struct unsock_query *q, struct sockaddr_un *peer);

#endif
