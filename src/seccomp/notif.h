/* The seccomp user-notification listener: receiving a trapped system call
 * of the supervised tree and answering it (a result, an error, "let the
 * kernel do it", or a descriptor installed in the caller). */
#ifndef UNSOCK_NOTIF_H
#define UNSOCK_NOTIF_H

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>

struct notif {
    int listener;
    struct seccomp_notif req;
};

/* The next notification; 1, 0 when the call went away meanwhile (try
 * again), -1 with errno. */
int notif_recv(int listener, struct seccomp_notif *req);

/* Whether the notification is still pending (its caller waits). */
bool notif_valid(int listener, uint64_t id);

/* Answers: the call returns val; fails with err (errno); goes to the kernel. */
void notif_return(int listener, uint64_t id, int64_t val);
void notif_fail(int listener, uint64_t id, int err);
void notif_continue(int listener, uint64_t id);

/* Put local descriptor fd in the caller: at number at (>= 0, replacing what
 * is there; the call is answered after), or at a free number that the call
 * returns at once (at < 0). -1 with errno (ENOENT: the caller went away). */
int notif_install(int listener, uint64_t id, int fd, int at, bool cloexec);

#endif
