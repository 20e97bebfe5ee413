/* What a socket address a program hands over is: IP (and its port), a
 * named unix address, or neither; and its text in the decision log. */
#ifndef UNSOCK_ADDR_H
#define UNSOCK_ADDR_H

#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>

/* The family of the address a program hands over, -1 if it is NULL or too
 * short to hold one (only len bytes of it may be read). */
static inline int unsock_addr_family(const struct sockaddr *addr, socklen_t len)
{
    return addr != NULL && len >= sizeof(sa_family_t) ? addr->sa_family : -1;
}

/* True if addr is an AF_INET / AF_INET6 address of at least its size. */
static inline bool unsock_is_ip(const struct sockaddr *addr, socklen_t len)
{
    int family = unsock_addr_family(addr, len);
    return (family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
           (family == AF_INET6 && len >= sizeof(struct sockaddr_in6));
}

/* The port of an IP address (sin_port and sin6_port share an offset). */
static inline uint16_t unsock_ip_port(const struct sockaddr *addr)
{
    return ntohs(((const struct sockaddr_in *)addr)->sin_port);
}

/* sizeof(struct sockaddr_in) or sizeof(struct sockaddr_in6). */
static inline socklen_t unsock_inet_len(int family)
{
    return family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* The name of a unix address: *from FROM_UNIX or FROM_ABSTRACT; false if
 * addr is not a named unix address. */
bool unsock_unix_name(const struct sockaddr *addr, socklen_t len, int *from, const char **name, size_t *n);

/* The text of an IP address's host part (IPv6 as inet_ntop writes it) and a NUL
 * at out (INET6_ADDRSTRLEN bytes); returns its length. */
size_t unsock_ip_text(const struct sockaddr *addr, char *out);

/* "127.0.0.1:80", "[::1]:80", "/path", "@name" or "(family N)". */
void unsock_addr_describe(const struct sockaddr *addr, socklen_t len, char *out, size_t outlen);

#endif
