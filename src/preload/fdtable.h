/* Per-descriptor state of converted sockets.
 *
 * A converted socket is one struct usock, shared by every descriptor that
 * refers to it in this process (dup, dup2, dup3, F_DUPFD). Lookups of
 * descriptors that were never converted take no lock: a single atomic load.
 * Everything else happens under one process-wide mutex, which is held
 * across fork() so that the child never inherits it locked. */
#ifndef UNSOCK_FDTABLE_H
#define UNSOCK_FDTABLE_H

#include "usock.h"

void unsock_lock(void);
void unsock_unlock(void);

/* Whether this thread is inside the fd table: a call that finds it so
 * comes from a signal handler that interrupted the shim, and acts on the
 * socket as the kernel has it, converting nothing (README, "Signals"). */
bool unsock_fd_nested(void);

/* Around the shim's own non-reentrant sections outside the table's lock
 * (which counts itself): calls nested in them defer, as above. */
void unsock_busy_enter(void);
void unsock_busy_leave(void);

/* Install the fork handlers. Called once from unsock_init(). */
void unsock_fdtable_init(void);

/* getpid(), remembered until the next fork. */
pid_t unsock_pid(void);

/* Lock-free: true if fd refers to a converted socket. */
bool unsock_fd_converted(int fd);

/* Lock-free: the socket type (SOCK_STREAM, ...) of a converted fd, or 0;
 * with UNSOCK_EARLY added if fd is an early socket (early.h). */
#define UNSOCK_EARLY 0x10000
int unsock_fd_converted_type(int fd);

/* Lock-free: whether fd is an early socket (as above). */
bool unsock_fd_early(int fd);

/* fd, just made by socket(2) as a unix socket, is the early socket s of an
 * IP socket of domain and type. */
void unsock_fd_attach_early(int fd, struct usock *s, int domain, int type);

/* fd's early socket got its address: it is an ordinary converted socket
 * from now on. Lock held. */
void unsock_fd_settle_locked(int fd, struct usock *s);

/* fd, an early socket, was replaced by the IP socket of domain and type it
 * stood for: forget the early socket, keep what the program did to the
 * descriptor (touched options, its epoll registration). */
void unsock_fd_materialized(int fd, int domain, int type);

/* Whether fd's connect is under way in the background (pending.h). */
bool unsock_fd_connecting(int fd);

/* The converted socket of fd with the lock held, or NULL (lock not held). */
struct usock *unsock_fd_lock(int fd);

/* A new socket description (refs 0, not attached to any descriptor). */
struct usock *unsock_sock_new(int family, int type);

/* Free a description that never was attached to a descriptor. */
void unsock_sock_free(struct usock *s);

/* Point fd at s (s may be NULL), dropping whatever fd referred to before;
 * the descriptor's previous socket must already be closed. Lock held. */
void unsock_fd_set_locked(int fd, struct usock *s);

/* Same, taking the lock. */
void unsock_fd_set(int fd, struct usock *s);

/* fd is a new socket from socket(2): forget anything recorded for the
 * number, and remember the domain and type of an IP socket so that converting it
 * needs no calls to ask the kernel. */
void unsock_fd_created(int fd, int domain, int type);

/* The type recorded by unsock_fd_created() for an IP socket, and its
 * domain in *domain; 0 if nothing is recorded. */
int unsock_fd_created_type(int fd, int *domain);

/* Close fd with do_close (the real close), forgetting its state first and
 * removing an owned socket file after the last descriptor is gone. */
int unsock_fd_close(int fd, int (*do_close)(int));

/* newfd now refers to what oldfd refers to. */
void unsock_fd_dup(int oldfd, int newfd);

/* The lowest converted descriptor >= from, or -1. */
int unsock_fd_next_converted(unsigned from);

/* What the program changed on a socket that is not converted yet, so that a
 * swap knows what to carry over and a fresh socket costs no extra calls:
 * one bit per carried socket option (carry.h), and UNSOCK_TOUCHED_ASYNC for
 * an owner, signal or O_ASYNC set by fcntl or ioctl. */
#define UNSOCK_TOUCHED_ASYNC ((uint64_t)1 << 63)
void unsock_fd_touch(int fd, uint64_t what);
uint64_t unsock_fd_touched(int fd);

/* The epoll registration of a descriptor not converted yet, to be made
 * again on the unix socket: the swap releases the old file, and with it
 * the old registration. One epoll set per descriptor is remembered. */
void unsock_fd_epoll_add(int fd, int epfd, uint32_t events, uint64_t data);
void unsock_fd_epoll_del(int fd, int epfd);
/* fd's registration, if its epoll descriptor was not closed since. */
bool unsock_fd_epoll_get(int fd, int *epfd, uint32_t *events, uint64_t *data);

/* At exit: close the bound sockets and remove their files where nobody
 * else serves them any more, including files of sockets this process
 * closed while other processes still held them. */
void unsock_fdtable_exit(void);

#endif
