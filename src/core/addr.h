/* What a socket address a program hands over is: IP (and its port), a
 * named unix address, or neither; and its text in the decision log. */
#ifndef UNSOCK_ADDR_H
#define UNSOCK_ADDR_H

#include "common.h"

/* True if addr is an AF_INET / AF_INET6 address of at least its size. */
bool unsock_is_ip(const struct sockaddr *addr, socklen_t len);

/* The port of an IP address (sin_port and sin6_port share an offset). */
uint16_t unsock_ip_port(const struct sockaddr *addr);

/* sizeof(struct sockaddr_in) or sizeof(struct sockaddr_in6). */
socklen_t unsock_inet_len(int family);

/* The name of a unix address: *from FROM_UNIX or FROM_ABSTRACT; false if
 * addr is not a named unix address. */
bool unsock_unix_name(const struct sockaddr *addr, socklen_t len, int *from, const char **name, size_t *n);

/* "127.0.0.1:80", "[::1]:80", "/path", "@name" or "(family N)". */
void unsock_addr_describe(const struct sockaddr *addr, socklen_t len, char *out, size_t outlen);

#endif
