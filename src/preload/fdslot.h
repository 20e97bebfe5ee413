/* The per-descriptor slots behind fdtable.h, for the files that keep
 * state in them (fdtable.c, fdepoll.c). Chunks of slots are allocated on
 * first use and never freed, so a slot can be read without a lock. */
#ifndef UNSOCK_FDSLOT_H
#define UNSOCK_FDSLOT_H

#include "fdtable.h"

#include <stdatomic.h>

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define NCHUNKS ((1u << 31) / CHUNK_SIZE)

struct slot {
    _Atomic(struct usock *) sock;
    _Atomic uint64_t touched;
    atomic_uint gen;          /* changes whenever the descriptor is closed or replaced */
    atomic_int created;       /* domain << 16 | type of an IP socket made by socket(), else 0 */
    atomic_int sock_type;     /* sock->type, readable without the lock; 0 if not converted */
    /* The epoll registration of a descriptor not converted yet. */
    atomic_int ep_fd;         /* the epoll descriptor + 1; 0 for none */
    atomic_uint ep_gen;       /* the epoll descriptor's gen when registered */
    atomic_uint ep_events;
    _Atomic uint64_t ep_data;
};

extern _Atomic(struct slot *) unsock_chunks[NCHUNKS];

static inline struct slot *unsock_slot_peek(int fd)
{
    if (fd < 0)
        return NULL;
    struct slot *chunk = atomic_load_explicit(&unsock_chunks[(unsigned)fd >> CHUNK_BITS], memory_order_acquire);
    return chunk ? &chunk[(unsigned)fd & (CHUNK_SIZE - 1)] : NULL;
}

/* The slot of fd, allocating its chunk if needed; NULL only without memory
 * (the _locked variant with the fd table's lock held). */
struct slot *unsock_slot_get(int fd);
struct slot *unsock_slot_get_locked(int fd);

#endif
