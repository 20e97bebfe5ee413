/* What the supervisor knows of the sockets it made for the supervised
 * tree, keyed by the socket's inode: the same socket whatever descriptor,
 * process or exec it is reached through. */
#ifndef UNSOCK_SOCKETS_H
#define UNSOCK_SOCKETS_H

#include "usock.h"

struct ssock {
    struct ssock *next;
    ino_t ino;
    struct usock u; /* what the program believes it has, as in the preload engine */
    struct sockaddr_un bound; /* a stream socket's unix address (bound_len 0: none) */
    socklen_t bound_len;
};

void socks_lock(void);
void socks_unlock(void);

/* The record of the socket with inode ino, or NULL; lock held. */
struct ssock *socks_find(ino_t ino);

/* A new record for ino (replacing an old one), or NULL without memory;
 * lock held. Records of sockets no longer open anywhere are dropped now
 * and then. */
struct ssock *socks_add(ino_t ino, int family, int type);

/* s (a stream socket) is bound at un; lock held. */
void socks_set_bound(struct ssock *s, const struct sockaddr_un *un, socklen_t len);

/* The record of the stream socket bound at un (a listener, whose accepted
 * connections have its address too), or NULL; lock held. */
struct ssock *socks_find_bound(const struct sockaddr_un *un, socklen_t len);

/* What the program set on a socket that is not converted (yet): the bits
 * of preload/carry.h by inode, forgotten when taken at its conversion (or
 * when another socket's take their place; lock held). */
void socks_touch(ino_t ino, uint64_t bits);
uint64_t socks_touched(ino_t ino);

#endif
