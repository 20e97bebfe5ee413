/* Descriptor changes a signal handler made while the shim was busy on its
 * thread (unsock_fd_nested()): the handler's close or dup2 happens for real
 * at once, and what it means for the fd table waits here until the
 * interrupted code, which holds the table, applies it. Per thread; adding
 * is async-signal-safe. */
#ifndef UNSOCK_DEFERRED_H
#define UNSOCK_DEFERRED_H

#include <stdbool.h>

/* GONE: fd was closed, or now refers to a file the shim did not convert.
 * DUP: fd now refers to what from refers to. */
enum unsock_deferred_kind { DEFER_GONE, DEFER_DUP };

struct unsock_deferred {
    enum unsock_deferred_kind kind;
    int fd, from;
    unsigned gen;   /* fd's slot generation (fdslot.h) when it happened */
};

/* Queue a change; false if this thread's queue is full (then the table
 * keeps what it knew of the descriptors until they are reused). */
bool unsock_defer(const struct unsock_deferred *d);

bool unsock_deferred_any(void);

/* The oldest queued change, removed; false if there is none. */
bool unsock_deferred_take(struct unsock_deferred *out);

/* The table applied a change to fd, whose generation went from gen to
 * now: the changes queued after it still apply. */
void unsock_deferred_applied(int fd, unsigned gen, unsigned now);

#endif
