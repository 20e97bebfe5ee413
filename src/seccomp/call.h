/* One trapped socket call being answered: the caller's socket as the
 * supervisor sees it (a descriptor of its own for the same socket), the
 * record unsock keeps of a converted one, and the ways to answer. */
#ifndef UNSOCK_CALL_H
#define UNSOCK_CALL_H

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

/* The record of the caller's socket with the records' lock held, if
 * unsock made it (inodes of live sockets are unique); NULL (lock not
 * held) otherwise. */
struct usock *call_converted(const struct call *c);

/* A new socket of `domain` and the caller's type, non-blocking for the
 * supervisor's own use (install() gives it the caller's flags). */
int call_new_socket(const struct call *c, int domain);

/* Put sock in the caller's place, with the caller's file flags and
 * owner: the call returns 0. 0 or -1 with errno. */
int call_install(struct call *c, int sock);

/* Record sock (a new socket of the program's) as described by d, whose
 * options and peers move to the record. Returns the record with the lock
 * held, or NULL (lock not held). */
struct usock *remember(int sock, struct usock *d);

/* Free what a description that was not recorded holds. */
void forget_description(struct usock *d);

/* Carry what the program set on the caller's IP socket over to the unix
 * socket `to` recorded in s (lock held): SOL_SOCKET options set on it,
 * TCP/IP-level ones recorded for emulation. */
void carry_options(const struct call *c, int to, struct usock *s);

/* Run fn(arg) in a detached thread of its own; false if none could start. */
bool in_thread(void *(*fn)(void *), void *arg);

#endif
