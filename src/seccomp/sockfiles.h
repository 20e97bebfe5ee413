/* The socket files the supervisor bound for the tree. It sees no close,
 * so a sweeper removes each within half a second of its socket's last
 * close anywhere, and the rest go when the tree ends. */
#ifndef UNSOCK_SOCKFILES_H
#define UNSOCK_SOCKFILES_H

/* path, bound by sock (of the given type), is the tree's to remove. */
void sockfiles_own(int sock, const char *path, int type);

/* Remove the files whose sockets nobody holds any more. */
void sockfiles_exit(void);

#endif
