#include "deferred.h"

#include "common.h"

#include <stdatomic.h>

/* Handlers interrupt this thread's code but never run beside it, and a
 * nested handler finishes before the one it interrupted resumes: a slot
 * reserved with one atomic add is written before anyone reads it. */
#define DEFERRED_MAX 64

static _Thread_local struct {
    atomic_uint tail;   /* reserved slots */
    unsigned head;      /* taken slots, only by the thread's own code */
} q UNSOCK_TLS_HOT;     /* read at every unlock of the fd table */
static _Thread_local struct unsock_deferred deferred[DEFERRED_MAX];

bool unsock_defer(const struct unsock_deferred *d)
{
    unsigned i = atomic_fetch_add_explicit(&q.tail, 1, memory_order_relaxed);
    if (i >= DEFERRED_MAX) {
        atomic_fetch_sub_explicit(&q.tail, 1, memory_order_relaxed);
        return false;
    }
    deferred[i] = *d;
    atomic_signal_fence(memory_order_release);
    return true;
}

bool unsock_deferred_any(void)
{
    return atomic_load_explicit(&q.tail, memory_order_relaxed) > q.head;
}

bool unsock_deferred_take(struct unsock_deferred *out)
{
    unsigned tail = atomic_load_explicit(&q.tail, memory_order_relaxed);
    if (q.head >= tail) {
        /* Empty: start again at 0, unless a handler added one meanwhile. */
        if (tail != 0 && atomic_compare_exchange_strong_explicit(&q.tail, &tail, 0, memory_order_relaxed,
                                                                 memory_order_relaxed))
            q.head = 0;
        return false;
    }
    atomic_signal_fence(memory_order_acquire);
    *out = deferred[q.head++];
    return true;
}

void unsock_deferred_applied(int fd, unsigned gen, unsigned now)
{
    unsigned tail = atomic_load_explicit(&q.tail, memory_order_relaxed);
    for (unsigned i = q.head; i < tail && i < DEFERRED_MAX; i++)
        if (deferred[i].fd == fd && deferred[i].gen == gen)
            deferred[i].gen = now;
}
