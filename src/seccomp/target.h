/* The supervised caller of a trapped system call: its memory, its
 * descriptors, its process. Every value read must be checked again with
 * notif_valid() before it is trusted: the caller may be gone, and its
 * thread id taken by another. */
#ifndef UNSOCK_TARGET_H
#define UNSOCK_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A new call is being answered (by this thread of the supervisor): what
 * is known of its caller's thread is checked again once. */
void target_begin(void);

/* Copy n bytes at addr in thread tid's process to out, or back. 0 or -1. */
int target_read(pid_t tid, uint64_t addr, void *out, size_t n);
int target_write(pid_t tid, uint64_t addr, const void *in, size_t n);

/* A descriptor of ours for the caller's descriptor fd; -1 with errno. */
int target_dup(pid_t tid, int fd);

/* Whether the caller's descriptor fd is close-on-exec. */
bool target_cloexec(pid_t tid, int fd);

/* The caller's process id (its thread group); 0 if unknown. */
pid_t target_pid(pid_t tid);

/* The caller's effective user id; 0 if unknown. */
uid_t target_uid(pid_t tid);

/* Whether thread tid has a signal waiting that it does not block. */
bool target_signalled(pid_t tid);

#endif
