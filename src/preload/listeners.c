/* Listeners that share a converted port: in one process, and taken over
 * from another (SO_REUSEPORT). */
#include "listeners.h"

#include "addr.h"
#include "real.h"
#include "sockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

/* The descriptor of this process's listener bound at path by a rule, and
 * its IP address in *local; -1 if there is none. */
static int listener_at(const char *path, struct sockaddr_storage *local)
{
    for (int fd = unsock_fd_next_converted(0); fd >= 0; fd = unsock_fd_next_converted((unsigned)fd + 1)) {
        struct usock *s = unsock_fd_lock(fd);
        if (s == NULL)
            continue;
        bool here = strcmp(s->path, path) == 0;
        if (here)
            *local = s->local;
        unsock_unlock();
        if (here)
            return fd;
    }
    return -1;
}

static bool same_ip_address(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    return a->ss_family == b->sa_family && memcmp(a, b, unsock_inet_len(b->sa_family)) == 0;
}

static bool reuseport(int fd)
{
    int on = 0;
    socklen_t len = sizeof(on);
    return unsock_real.getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &len) == 0 && on != 0;
}

int unsock_share_or_take_over(int fd, const struct unsock_query *q, struct unsock_plan *p, int *tmp, int *shared)
{
    struct sockaddr_storage local;
    int other = listener_at(p->un.sun_path, &local);
    bool reuse = reuseport(fd);
    if (other >= 0 && (reuse || !same_ip_address(&local, q->addr))) {
        int dupfd = unsock_real.fcntl(other, F_DUPFD_CLOEXEC, 0);
        if (dupfd < 0)
            return -1;
        unsock_close_keep_errno(*tmp);
        *tmp = dupfd;
        *shared = other;
        p->owns_file = false;
        return 0;
    }
    if (other < 0 && reuse && unsock_sockfile_take_over(*tmp, &p->un, p->un_len, p->mode) == 0)
        return 0;
    errno = EADDRINUSE;
    return -1;
}

