/* Socket options carried from the program's IP socket to the unix socket
 * that replaces it. Each option has a bit in the descriptor's touched mask
 * (fdtable.h), set when the program sets that option, so a swap reads and
 * copies exactly what the program changed and nothing for a fresh socket. */
#ifndef UNSOCK_CARRY_H
#define UNSOCK_CARRY_H

#include "usock.h"

/* The touched bit of an option, or 0 if it is not carried over. */
uint64_t unsock_carry_bit(int level, int name);

/* Carry the options flagged in touched from the IP socket `from` to the unix
 * socket `to`: SOL_SOCKET options are set on it, TCP- and IP-level ones are
 * recorded in s for emulation. For the seccomp engine, which sees every
 * setsockopt. */
void unsock_carry(int from, int to, struct usock *s, uint64_t touched);

/* The same, and any other option whose value the kernel reports differs
 * from a fresh socket's: the preload engine does not see a setsockopt made
 * with a raw system call. */
void unsock_carry_changed(int from, int to, struct usock *s, uint64_t touched);

/* The reverse, for an early socket replaced by the IP socket it stood for
 * (early.h): the SOL_SOCKET options flagged in touched from the unix socket
 * `from` to the IP socket `to`, and every option recorded in s; returns the
 * touched bits of the recorded ones. */
uint64_t unsock_carry_back(int from, int to, const struct usock *s, uint64_t touched);

/* Whether an option is carried and means the same on a unix socket (set on
 * it as it is), rather than emulated. */
bool unsock_carry_same_on_unix(int level, int name);

#endif
