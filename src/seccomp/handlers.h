/* Answering the trapped socket calls of the supervised tree with the
 * decision core's plans: the same questions the preload engine asks, the
 * same decision log. */
#ifndef UNSOCK_HANDLERS_H
#define UNSOCK_HANDLERS_H

#include <linux/seccomp.h>

/* Answer one notification (possibly later, from a thread of its own). */
void handle(int listener, const struct seccomp_notif *n);

/* The socket files made for the tree: removed at the end where nobody
 * serves them any more. */
void handlers_exit(void);

#endif
