/* Socket files a converted socket created (bind), removed by whichever
 * process closes the socket's last descriptor anywhere, or exits holding
 * it; and those whose socket was still open elsewhere when this process let
 * go, tried again when it exits. */
#ifndef UNSOCK_OWNED_H
#define UNSOCK_OWNED_H

#include "fdtable.h"

/* Record that s created the socket file at path (lock held). */
void unsock_sock_own_file_locked(struct usock *s, int fd, const char *path);

/* s is no longer referred to by any descriptor of this process (lock held). */
void unsock_owned_forget_locked(struct usock *s);

/* Free s, removing its file if nobody serves it any more. */
void unsock_sock_finish(struct usock *s);

/* Whether any socket of this process owns a file (lock held). */
bool unsock_owned_any(void);

/* The removals still owed, tried at exit. */
void unsock_owned_exit(void);

/* The leaf lock of the owed removals, taken across fork(). */
void unsock_owned_lock(void);
void unsock_owned_unlock(void);

#endif
