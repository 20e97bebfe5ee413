#include "init.h"

#include "config.h"
#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "sockaddr.h"

#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *env(const char *name)
{
    return getenv(name);
}

/* A descriptor inherited across exec that is a socket of ours: a listener
 * bound to DIR/PORT.sock, or a connection accepted from one. */
static void adopt(int fd)
{
    struct stat st;
    struct sockaddr_un un;
    socklen_t len = sizeof(un);
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
        unsock_real.getsockname(fd, (struct sockaddr *)&un, &len) != 0 || un.sun_family != AF_UNIX ||
        len <= offsetof(struct sockaddr_un, sun_path))
        return;
    int port = unsock_path_port(un.sun_path, strnlen(un.sun_path, len - offsetof(struct sockaddr_un, sun_path)));
    int type = 0;
    socklen_t tl = sizeof(type);
    if (port < 0 || unsock_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0)
        return;
    struct usock *s = unsock_sock_new(AF_INET, type);
    if (s == NULL)
        return;
    s->local_len = unsock_fake_addr(AF_INET, (uint16_t)port, &s->local);
    struct sockaddr_un peer;
    socklen_t pl = sizeof(peer);
    if (unsock_real.getpeername(fd, (struct sockaddr *)&peer, &pl) == 0)
        s->peer_len = unsock_fake_addr(AF_INET, unsock_pseudo_port(), &s->peer);
    unsock_fd_set(fd, s);
    unsock_debug("fd %d inherited: socket of port %d", fd, port);
}

static void adopt_inherited(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end == '\0' && end != e->d_name && fd != dirfd(d))
            adopt((int)fd);
    }
    closedir(d);
}

static void init_once(void)
{
    const char *missing = unsock_real_resolve();
    if (missing != NULL)
        unsock_fatal("the C library has no '%s': libunsock.so supports glibc and musl on Linux", missing);
    char err[400];
    if (unsock_config_parse(&unsock_cfg, env, err, sizeof(err)) != 0)
        unsock_fatal("%s", err);
    unsock_fdtable_init();
    if (unsock_cfg.debug) {
        char line[400];
        unsock_config_format(&unsock_cfg, line, sizeof(line));
        unsock_log_line("config: %s", line);
    }
    adopt_inherited();
}

void unsock_init(void)
{
    pthread_once(&once, init_once);
}

__attribute__((constructor)) static void unsock_constructor(void)
{
    unsock_init();
}

__attribute__((destructor)) static void unsock_destructor(void)
{
    unsock_fdtable_exit();
}
