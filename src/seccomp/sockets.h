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

/* What the program did to a socket that is not converted (yet), to be
 * carried over to the one that replaces it: the options it set (the bits
 * of preload/carry.h) and the epoll sets it added it to. */
#define PENDING_EPOLLS 2
struct pending {
    ino_t ino;
    uint64_t options;
    unsigned nepolls;
    struct pending_epoll {
        int epfd; /* the program's number of the set */
        int ep;   /* ours of it: the same set, even if the number is reused */
        uint32_t events;
        uint64_t data;
    } epolls[PENDING_EPOLLS];
};

/* Close what e holds. */
void pending_epoll_drop(struct pending_epoll *e);

/* The entry of ino, a new one if create (replacing another socket's: the
 * table keeps the latest), or NULL; lock held. The caller of take owns
 * what the entry holds. */
struct pending *socks_pending(ino_t ino, bool create);

/* Take (and forget) the entry of ino into *out: false if there is none;
 * lock held. */
bool socks_pending_take(ino_t ino, struct pending *out);

#endif
