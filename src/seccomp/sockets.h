/* What the supervisor knows of the sockets it made for the supervised
 * tree, keyed by the socket's inode: the same socket whatever descriptor,
 * process or exec it is reached through. */
#ifndef UNSOCK_SOCKETS_H
#define UNSOCK_SOCKETS_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#define SSOCK_OPTS 16

struct ssock_opt {
    int level, name;
    socklen_t len;
    unsigned char val[32];
};

struct ssock {
    struct ssock *next;
    ino_t ino;
    int family, type;                /* what the program believes it has */
    struct sockaddr_storage local, peer;
    socklen_t local_len, peer_len;
    struct ssock_opt opts[SSOCK_OPTS]; /* TCP- and IP-level options, emulated */
    size_t nopts;
};

void socks_lock(void);
void socks_unlock(void);

/* The record of the socket with inode ino, or NULL; lock held. */
struct ssock *socks_find(ino_t ino);

/* A new record for ino (replacing an old one), or NULL without memory;
 * lock held. Records of sockets no longer open anywhere are dropped now
 * and then. */
struct ssock *socks_add(ino_t ino, int family, int type);

/* Set or get an emulated option of s; lock held. */
int socks_opt_set(struct ssock *s, int level, int name, const void *val, socklen_t len);
const struct ssock_opt *socks_opt_get(const struct ssock *s, int level, int name);

#endif
