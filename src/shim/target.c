#include "target.h"

#include "real.h"
#include "sockfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int unsock_target_bind(int fd, const struct unsock_rule *r, const struct sockaddr_un *un, socklen_t len,
                       bool replace_stale)
{
    if (r->action == ACT_PATH)
        return unsock_sockfile_bind(fd, un, len, replace_stale, r->mode);
    return unsock_real.bind(fd, (const struct sockaddr *)un, len);
}

int unsock_target_bind_free_port(int fd, const struct unsock_rule *r, int type, const struct sockaddr *addr,
                                 uint16_t *port, struct sockaddr_un *un, socklen_t *ulen)
{
    const unsigned lo = 32768, n = 60999 - 32768 + 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned start = (unsigned)(ts.tv_nsec ^ getpid()) % n;
    for (unsigned i = 0; i < n; i++) {
        uint16_t p = (uint16_t)(lo + (start + i) % n);
        if (unsock_rule_sockaddr(r, type, addr, p, un, ulen) != 0)
            return -1;
        if (unsock_target_bind(fd, r, un, *ulen, false) == 0) {
            *port = p;
            return 0;
        }
        if (errno != EADDRINUSE)
            return -1;
    }
    errno = EADDRINUSE;
    return -1;
}

int unsock_target_blackhole(int fd, struct sockaddr_un *un)
{
    char dir[] = "/tmp/unsock-blackhole-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return -1;
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    snprintf(un->sun_path, sizeof(un->sun_path), "%s/s", dir);
    int rc = unsock_real.bind(fd, (const struct sockaddr *)un, sizeof(*un));
    int saved = errno;
    if (rc == 0 && unlink(un->sun_path) != 0)
        rc = -1, saved = errno;
    if (rmdir(dir) != 0 && rc == 0)
        rc = -1, saved = errno;
    errno = saved;
    return rc;
}

const char *unsock_target_describe(const struct unsock_rule *r, const struct sockaddr_un *un)
{
    static _Thread_local char text[UNSOCK_SUN_PATH_MAX + 16];
    if (r->action == ACT_BLACKHOLE)
        return "blackhole";
    if (r->action == ACT_ABSTRACT)
        snprintf(text, sizeof(text), "abstract @%.*s", (int)(UNSOCK_SUN_PATH_MAX - 1), un->sun_path + 1);
    else if (r->action == ACT_PATH)
        snprintf(text, sizeof(text), "path %.*s", (int)UNSOCK_SUN_PATH_MAX, un->sun_path);
    else
        snprintf(text, sizeof(text), "%s", "(not a unix target)");
    return text;
}
