/* One-time set-up: resolving libc, reading the configuration, adopting
 * converted sockets inherited across exec. Every interposed function calls
 * unsock_init() first, so calls made before our constructor runs work too. */
#ifndef UNSOCK_INIT_H
#define UNSOCK_INIT_H

#include <stdatomic.h>
#include <stdbool.h>

/* Set once the set-up is done: every later call costs one load. */
extern atomic_bool unsock_ready;

void unsock_init_slow(void);

static inline void unsock_init(void)
{
    if (!atomic_load_explicit(&unsock_ready, memory_order_acquire))
        unsock_init_slow();
}

#endif
