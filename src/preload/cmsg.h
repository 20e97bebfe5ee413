/* IP-level control messages on converted datagram sockets: unix sockets
 * reject IP_PKTINFO / IPV6_PKTINFO in sendmsg and never produce them in
 * recvmsg, yet DNS servers rely on both to answer from the address a query
 * came to. */
#ifndef UNSOCK_CMSG_H
#define UNSOCK_CMSG_H

#include "fdtable.h"

/* Which packet-info message the program asked for (IP_PKTINFO or
 * IPV6_RECVPKTINFO): 0, AF_INET or AF_INET6. */
int unsock_cmsg_pktinfo_wanted(const struct usock *s);

/* After a receive into msg, whose control buffer held capacity bytes:
 * append the packet info for a datagram sent to local (MSG_CTRUNC if it
 * does not fit), as the kernel would for loopback. */
void unsock_cmsg_add_pktinfo(struct msghdr *msg, size_t capacity, int family,
                             const struct sockaddr_storage *local);

/* A copy of msg without IP- and IPv6-level control messages, in *out with
 * its control data in a malloc'ed *buf (to free). 0, or -1 with errno. */
int unsock_cmsg_strip(const struct msghdr *msg, struct msghdr *out, void **buf);

#endif
