/* What unsock knows of one converted socket: the family and addresses the
 * program believes in, its socket file, its emulated options and its
 * datagram peers. The preload engine keeps one per socket in the process
 * (fdtable.h), the supervisor one per socket inode (seccomp/sockets.h). */
#ifndef UNSOCK_USOCK_H
#define UNSOCK_USOCK_H

#include "common.h"
#include "plan.h"

#include <sys/stat.h>

#define UNSOCK_PEERS 16

struct unsock_peer {
    uint16_t port;
    socklen_t len;
    struct sockaddr_un addr;
};

struct unsock_peers {
    struct unsock_peer v[UNSOCK_PEERS];
    unsigned next; /* the oldest entry, replaced when all are taken */
};

struct unsock_opt {
    int level, name;
    socklen_t len;
    unsigned char val[32];
};

struct usock {
    int refs;                         /* descriptors in this process */
    int family;                       /* the family the program believes in */
    int type;                         /* SOCK_STREAM, SOCK_DGRAM, ... */
    /* Made a unix socket at socket(), before the program named an address
     * (early.h): the IP socket it asked for, with no address yet. */
    bool early;
    int protocol;                     /* of an early socket, as the program asked (0 or IPPROTO_TCP) */
    struct sockaddr_storage local;    /* what getsockname() reports */
    socklen_t local_len;
    struct sockaddr_storage peer;     /* what getpeername() reports */
    socklen_t peer_len;
    /* Accepted without an address buffer: the peer is read from the kernel
     * when the program first asks (unsock_read_peer), not at every accept. */
    bool peer_unread;
    /* A datagram socket "connected" to a port nobody served yet: UDP's
     * connect succeeds regardless, so the unix connect is retried at the
     * next send (ECONNREFUSED until the server is there, as on Linux). */
    bool peer_pending;
    /* A stream connect that found the listener's backlog full goes on in
     * the background (pending.h): the number of that attempt (0: none),
     * and the error it ended with, for SO_ERROR. */
    unsigned connecting;
    int connect_error;

    /* The socket file created by bind() in this process or in the one it
     * was forked from. Whichever process closes the socket's last
     * descriptor anywhere, or exits holding it, removes the file; so a
     * forked child closing its copy keeps it, and a daemon's child that
     * outlives its parent removes it in the end. A process that closed its
     * copy before others did checks again when it exits. */
    bool owns_file;
    dev_t file_dev;
    ino_t file_ino;
    ino_t sock_ino;
    char path[UNSOCK_SUN_PATH_MAX + 1];
    struct usock *owned_prev, *owned_next;

    /* TCP- and IP-level options the program set (emulated). */
    struct unsock_opt *opts;
    size_t nopts, capopts;

    /* Datagram peers known by a pseudo port (peers.h), or NULL. */
    struct unsock_peers *peers;
};

/* What the program sees of a socket bound (its address, at port) or
 * connected (its peer, and a local address if it has none yet) by q. */
void unsock_describe(struct usock *s, const struct unsock_query *q, uint16_t port);
void unsock_set_peer(struct usock *s, const struct sockaddr *addr);

/* The peer of fd, a connection accepted by a converted listener, read from
 * the kernel: its client's name, or its credentials (sockaddr.h,
 * unsock_accepted_peer; WHAT starts the decision log's line); none (peer_len
 * 0) if the kernel has no peer for fd. errno is kept. */
void unsock_read_peer(struct usock *s, int fd, const char *what);

/* A datagram socket that sends before binding gets an address of a free
 * port the peer can answer to, as with UDP's implicit bind: from the rule's
 * template if it has %p, else an abstract one the kernel picks. *owned is
 * the socket file made, if it is to be removed like any bound one. */
int unsock_implicit_bind(int tmp, struct usock *s, const struct unsock_query *q, const struct unsock_plan *p,
                         struct sockaddr_un *owned);

/* Datagram peers of s known by a pseudo port (lock held): the port of un
 * (a new one if un is new; 0 without memory), remembering that port
 * stands for un, and the unix address of port. */
uint16_t unsock_peers_port(struct usock *s, const struct sockaddr_un *un, socklen_t len);
void unsock_peers_remember(struct usock *s, uint16_t port, const struct sockaddr_un *un, socklen_t len);
bool unsock_peers_addr(const struct usock *s, uint16_t port, struct sockaddr_un *un, socklen_t *len);

/* The IP address a datagram from un on s is shown to come from: the port
 * of its socket file by the rules, or a pseudo port. */
socklen_t unsock_datagram_sender(struct usock *s, const struct sockaddr_un *un, socklen_t len,
                                 struct sockaddr_storage *out);

#endif
