/* The IP address a client of a converted stream socket has, the same on
 * both ends. A client under unsock names its unix socket (an abstract
 * name, "unsock:ADDRESS") with the address it reports to itself, so the
 * server reports that very address; a native unix client gets one made
 * from its credentials (SO_PEERCRED). */
#ifndef UNSOCK_PEER_H
#define UNSOCK_PEER_H

#include "common.h"

#include <netinet/in.h>

/* The address of process pid (user uid) as a client of a socket at
 * `toward` (the address connected to, or the listener's own): toward
 * 127.0.0.1, ::1 or a wildcard address, the loopback address as on TCP
 * (programs that let in exactly 127.0.0.1 or ::1 keep doing so); toward
 * any other, 127.X.Y.Z with X.Y.Z the pid, or fd75:6e73:6f63:6b00:UID:PID
 * for IPv6 ("unsock" in the ULA prefix). An IPv4-mapped `toward` gives an
 * IPv4-mapped address. With port. */
socklen_t unsock_client_address(const struct sockaddr_storage *toward, pid_t pid, uid_t uid, uint16_t port,
                                struct sockaddr_storage *out);

/* The abstract unix name that carries addr, of a socket of process pid:
 * "\0unsock:A.B.C.D:PORT/PID" or "\0unsock:[V6]:PORT/PID"; its length. The
 * pid is for SO_PEERCRED when the seccomp engine's supervisor connects for
 * the process (the kernel then names the supervisor). */
socklen_t unsock_client_name(const struct sockaddr_storage *addr, pid_t pid, struct sockaddr_un *out);

/* The address a peer's unix name carries; false if the name is not one. */
bool unsock_client_name_parse(const struct sockaddr_un *un, socklen_t len, struct sockaddr_storage *out,
                              socklen_t *outlen);

/* The process a client name says it is of; 0 if none. */
pid_t unsock_client_name_pid(const struct sockaddr_un *un, socklen_t len);

/* addr as an address of family (AF_INET or AF_INET6): IPv4 as IPv4-mapped
 * IPv6 and back; 0 if it has none (an IPv6 address for an IPv4 socket). */
socklen_t unsock_address_as(int family, const struct sockaddr_storage *addr, struct sockaddr_storage *out);

#endif
