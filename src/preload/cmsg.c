#define _GNU_SOURCE /* struct in6_pktinfo */
#include "cmsg.h"

#include "fdtable.h"
#include "sockopts.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define LOOPBACK_IFINDEX 1 /* lo is always the first interface of a namespace */

int unsock_cmsg_pktinfo_wanted(const struct usock *s)
{
    if (s->family == AF_INET && unsock_opt_enabled(s, IPPROTO_IP, IP_PKTINFO))
        return AF_INET;
    if (s->family == AF_INET6 && unsock_opt_enabled(s, IPPROTO_IPV6, IPV6_RECVPKTINFO))
        return AF_INET6;
    return 0;
}

void unsock_cmsg_add_pktinfo(struct msghdr *msg, size_t capacity, int family,
                             const struct sockaddr_storage *local)
{
    unsigned char payload[sizeof(struct in6_pktinfo)];
    size_t plen;
    if (family == AF_INET) {
        struct in_pktinfo pi = {.ipi_ifindex = LOOPBACK_IFINDEX};
        pi.ipi_addr = ((const struct sockaddr_in *)local)->sin_addr;
        if (pi.ipi_addr.s_addr == htonl(INADDR_ANY))
            pi.ipi_addr.s_addr = htonl(INADDR_LOOPBACK);
        pi.ipi_spec_dst = pi.ipi_addr;
        memcpy(payload, &pi, plen = sizeof(pi));
    } else {
        struct in6_pktinfo pi = {.ipi6_ifindex = LOOPBACK_IFINDEX};
        pi.ipi6_addr = ((const struct sockaddr_in6 *)local)->sin6_addr;
        if (IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr))
            pi.ipi6_addr = in6addr_loopback;
        memcpy(payload, &pi, plen = sizeof(pi));
    }
    size_t used = CMSG_ALIGN(msg->msg_controllen);
    if (msg->msg_control == NULL || used + CMSG_SPACE(plen) > capacity) {
        msg->msg_flags |= MSG_CTRUNC;
        return;
    }
    struct cmsghdr *c = (struct cmsghdr *)((unsigned char *)msg->msg_control + used);
    memset(c, 0, CMSG_SPACE(plen));
    c->cmsg_level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    c->cmsg_type = family == AF_INET ? IP_PKTINFO : IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(plen);
    memcpy(CMSG_DATA(c), payload, plen);
    msg->msg_controllen = used + CMSG_SPACE(plen);
}

int unsock_cmsg_strip(const struct msghdr *msg, struct msghdr *out, void **buf)
{
    *out = *msg;
    *buf = NULL;
    if (msg->msg_control == NULL || msg->msg_controllen == 0)
        return 0;
    unsigned char *copy = malloc(msg->msg_controllen);
    if (copy == NULL) {
        errno = ENOMEM;
        return -1;
    }
    size_t len = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
        if (c->cmsg_level == IPPROTO_IP || c->cmsg_level == IPPROTO_IPV6)
            continue;
        size_t n = CMSG_ALIGN(c->cmsg_len);
        if (len + n > msg->msg_controllen)
            n = msg->msg_controllen - len;
        memcpy(copy + len, c, n);
        len += n;
    }
    out->msg_control = len ? copy : NULL;
    out->msg_controllen = len;
    *buf = copy;
    return 0;
}
