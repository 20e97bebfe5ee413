/* A rewritable copy of a sendmmsg/recvmmsg vector: the messages as the
 * program gave them, each with room for a unix address of its own. */
#ifndef UNSOCK_MMSG_H
#define UNSOCK_MMSG_H

#include "common.h" /* struct mmsghdr needs _GNU_SOURCE in the includer */

/* vlen is capped at the kernel's UIO_MAXIOV (1024) first. NULL with errno
 * ENOMEM; free() the result, names included. */
struct mmsghdr *unsock_mmsg_copy(const struct mmsghdr *vec, unsigned int *vlen, struct sockaddr_un **names);

#endif
