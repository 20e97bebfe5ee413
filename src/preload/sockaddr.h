/* Address logic: which IP addresses are covered, the socket file of a port,
 * and the IP addresses reported back to the program. */
#ifndef UNSOCK_SOCKADDR_H
#define UNSOCK_SOCKADDR_H

#include "addr.h"

#include <netinet/in.h>

/* An IPv4 address with the first IPv4 address of UNSOCK_ADDR (as written),
 * what UNSOCK_ACCEPT_CONVERT_* report, as in the original. */
socklen_t unsock_fake_addr(uint16_t port, struct sockaddr_storage *out);

/* Its IPv6 counterpart: the first IPv6 address of UNSOCK_ADDR, or without
 * one the IPv4 address above IPv4-mapped. */
socklen_t unsock_fake_addr6(uint16_t port, struct sockaddr_storage *out);

/* The other end of a converted connection or datagram exchange one end of
 * which is end (AF_INET or AF_INET6), with the given port: as the kernel's
 * loopback route would pick, 127.0.0.1 / ::1 / ::ffff:127.0.0.1 for
 * loopback and wildcard addresses, else end's own address (a local one). */
socklen_t unsock_other_end(const struct sockaddr_storage *end, uint16_t port, struct sockaddr_storage *out);

/* The same for a datagram peer, which the program may answer: where the
 * kernel's choice is not covered (UNSOCK_ADDR=127.0.0.2 leaves out
 * 127.0.0.1), end's own covered address, so that the reply comes back
 * through unsock. */
socklen_t unsock_reply_addr(const struct sockaddr_storage *end, uint16_t port, struct sockaddr_storage *out);

/* CLOCK_MONOTONIC in milliseconds, for bounded waits. */
int64_t unsock_now_ms(void);

/* A port number for an unnamed unix endpoint (clients, accepted peers). */
uint16_t unsock_pseudo_port(void);

/* Name the stream client socket sock (AF_UNIX) with the address process
 * pid (user uid, only IPv6 addresses carry it) has toward dest, with a free
 * pseudo port (core/peer.h; TCP's picture with UNSOCK_PEER_LOOPBACK), so
 * that the server reports the same. That address in *local and its length,
 * or 0 when the socket stays unnamed (every name tried was taken); errno
 * is kept. */
socklen_t unsock_name_client(int sock, const struct sockaddr *dest, pid_t pid, uid_t uid,
                             struct sockaddr_storage *local);

/* The address of the peer of accepted connection conn, on a listener of
 * `family` bound at local (local_len 0: not known), whose unix address is
 * un: the one a client under unsock named its socket with, else one made
 * of its credentials (SO_PEERCRED). With the decision log on, a line
 * "WHAT: peer ADDRESS is pid P uid U". */
socklen_t unsock_accepted_peer(int conn, int family, const struct sockaddr_storage *local, socklen_t local_len,
                               const struct sockaddr_un *un, socklen_t len, const char *what,
                               struct sockaddr_storage *out);

/* Copy src out to a caller's buffer as the kernel does: truncated to
 * *dstlen, which then becomes srclen (report_full: getsockname, accept) or
 * what was copied (getsockopt). NULL dst with a zero length is legal. */
int unsock_copy_out(void *dst, socklen_t *dstlen, const void *src, socklen_t srclen, bool report_full);

#endif
