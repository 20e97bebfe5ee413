/* One-time set-up: resolving libc, reading the configuration, adopting
 * converted sockets inherited across exec. Every interposed function calls
 * unsock_init() first, so calls made before our constructor runs work too. */
#ifndef UNSOCK_INIT_H
#define UNSOCK_INIT_H

void unsock_init(void);

#endif
