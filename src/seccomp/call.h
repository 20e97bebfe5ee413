/* One trapped socket call being answered: the caller's socket as the
 * supervisor sees it (a descriptor of its own for the same socket), the
 * record unsock keeps of a converted one, and the ways to answer. */
#ifndef UNSOCK_CALL_H
#define UNSOCK_CALL_H

#include "plan.h"
#include "sockets.h"

#include <linux/seccomp.h>
#include <stdbool.h>

struct call {
    int listener;
    struct seccomp_notif n;
    pid_t tid;
    int fd;  /* the caller's descriptor (args[0]) */
    int dup; /* ours of it, or -1 */
    ino_t ino;
    int domain, type, flags; /* once described */
    struct pending pending;  /* what is carried over to a replacement */
};

/* Whether the caller still waits for the answer. */
bool call_valid(const struct call *c);

/* Let the kernel do the call. */
void call_pass(struct call *c);

/* Our descriptor of the caller's socket and its inode; false (the call
 * goes to the kernel) if it is not a socket. */
bool call_socket(struct call *c);

/* Its domain, type and file flags. */
bool call_describe(struct call *c);

/* The decision core's plan for a call naming the address of len bytes at
 * `at` in the caller's memory (read into *addr, which q->addr points to),
 * on the caller's socket (described); false (the kernel's to answer) if no
 * rule can be about the address or the descriptor is not a socket. */
bool call_plan(struct call *c, enum unsock_call call, uint64_t at, socklen_t len, struct sockaddr_storage *addr,
               struct unsock_query *q, struct unsock_plan *p);

/* Answer the call: 0, or fail with err; nothing if the caller went away
 * (ECANCELED). */
void call_answer(struct call *c, int err);

/* The record of the caller's socket with the records' lock held, if
 * unsock made it (inodes of live sockets are unique); NULL (lock not
 * held) otherwise. */
struct usock *call_converted(const struct call *c);

/* Put sock in the caller's place, with the caller's file flags and
 * owner (the call is still to be answered). 0 or -1 with errno. */
int call_install(struct call *c, int sock);

/* Record sock (a new socket of the program's) as described by d, whose
 * options and peers move to the record. Returns the record with the lock
 * held, or NULL (lock not held). */
struct usock *remember(int sock, struct usock *d);

/* The description of conn, accepted from the unix address un on a
 * listener described by l: its addresses and l's options (with the
 * decision log on, a line "WHAT: peer ADDRESS ..."). */
void describe_accepted(struct usock *d, const struct usock *l, int conn, const struct sockaddr_un *un,
                       socklen_t len, const char *what);

/* Free what a description that was not recorded holds. */
void forget_description(struct usock *d);

/* Converting the caller's socket: a new socket of `domain` for it (-1
 * with errno), described by d as of `family` with the options the program
 * set carried over; then put in the caller's place with the description
 * recorded (0 or an errno; a socket file made for it, or "", is the tree's
 * to remove), or abandoned. */
int call_prepare(struct call *c, int family, int domain, struct usock *d);
int call_replace(struct call *c, int sock, struct usock *d, const char *owned);
void call_abandon(struct call *c, int sock, struct usock *d);

/* Close what c holds of the socket it replaces (done by the two above). */
void call_forget_pending(struct call *c);

/* The answer to a call that waited when a signal came, as the kernel's
 * own blocking calls give it (ERESTARTSYS): the call is made again after a
 * handler with SA_RESTART or an ignored signal, and fails with EINTR after
 * any other handler. */
#define INTERRUPTED 512

/* Wait for the caller until fd (ours) has `events`, a twentieth of a
 * second at a time so that a signal for the caller (Ctrl-C) is noticed:
 * 0, INTERRUPTED (a signal waits), ECANCELED (the caller is gone) or
 * EAGAIN (deadline_ms passed; INT64_MAX: none). */
int call_wait(const struct call *c, int fd, short events, int64_t deadline_ms);

/* Write len bytes of what (at most the caller's *lenp) to the caller's
 * addr, and len to *lenp, as getsockname and accept do: 0 or an errno. */
int call_copy_out(const struct call *c, uint64_t addr, uint64_t lenp, const void *what, socklen_t len);

/* Run fn(arg) in a detached thread of its own; false if none could start. */
bool in_thread(void *(*fn)(void *), void *arg);

#endif
