#define _GNU_SOURCE /* struct mmsghdr */
#include "mmsg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mmsghdr *unsock_mmsg_copy(const struct mmsghdr *vec, unsigned int *vlen, struct sockaddr_un **names)
{
    if (*vlen > 1024)
        *vlen = 1024;
    struct mmsghdr *copy = malloc(*vlen * (sizeof(*copy) + sizeof(struct sockaddr_un)));
    if (copy == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(copy, vec, *vlen * sizeof(*copy));
    *names = (struct sockaddr_un *)(copy + *vlen);
    return copy;
}
