#include "sockfile.h"

#include "config.h"
#include "log.h"
#include "real.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The socket behind a socket file is gone if connecting gives ECONNREFUSED. */
static bool socket_file_is_stale(const struct sockaddr_un *addr, socklen_t len, int type,
                                 const struct stat *st)
{
    if (!S_ISSOCK(st->st_mode))
        return false;
    int probe = unsock_real.socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0)
        return false;
    int r = unsock_real.connect(probe, (const struct sockaddr *)addr, len);
    bool stale = r != 0 && errno == ECONNREFUSED;
    unsock_real.close(probe);
    return stale;
}

static int remove_stale(int fd, const struct sockaddr_un *addr, socklen_t len)
{
    const char *path = addr->sun_path;
    struct stat st;
    int type = 0;
    socklen_t tl = sizeof(type);
    if (lstat(path, &st) != 0 || unsock_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0)
        return -1;
    if (!socket_file_is_stale(addr, len, type, &st)) {
        unsock_debug("bind %s: in use by %s, left alone", path,
                     S_ISSOCK(st.st_mode) ? "a live server" : "a file that is not a socket");
        return -1;
    }
    struct stat again;
    if (lstat(path, &again) != 0 || again.st_ino != st.st_ino || again.st_dev != st.st_dev)
        return -1;
    unsock_debug("bind %s: removing stale socket file of a server that is gone", path);
    return unlink(path);
}

static int bind_with_mode(int fd, const struct sockaddr_un *addr, socklen_t len)
{
    int r = unsock_real.bind(fd, (const struct sockaddr *)addr, len);
    if (r != 0 && errno == ENOENT && unsock_cfg.dir_len > 0) {
        if (mkdir(unsock_cfg.dir, 0755) == 0 || errno == EEXIST)
            r = unsock_real.bind(fd, (const struct sockaddr *)addr, len);
        else
            errno = ENOENT;
    }
    return r;
}

int unsock_sockfile_bind(int fd, const struct sockaddr_un *addr, socklen_t len, bool replace_stale)
{
    mode_t mode = (mode_t)unsock_cfg.mode;
    /* The socket inode's mode, less the umask, becomes the file's mode at
     * bind: it never exists with more rights than requested. */
    if (unsock_cfg.mode >= 0 && fchmod(fd, mode) != 0)
        return -1;
    int r = bind_with_mode(fd, addr, len);
    if (r != 0 && errno == EADDRINUSE && replace_stale) {
        if (remove_stale(fd, addr, len) == 0)
            r = bind_with_mode(fd, addr, len);
        else
            errno = EADDRINUSE;
    }
    if (r != 0)
        return r;
    if (unsock_cfg.mode >= 0) {
        /* Only widening is left to do: the umask may have removed bits. */
        struct stat st;
        if (lstat(addr->sun_path, &st) == 0 && (st.st_mode & 07777) != mode &&
            chmod(addr->sun_path, mode) != 0)
            unsock_debug("chmod %s to %04o: %s", addr->sun_path, (unsigned)mode, strerror(errno));
    }
    return 0;
}

/* Is a unix socket with this inode open anywhere in our network namespace? */
static bool socket_alive(ino_t sock_ino)
{
    FILE *f = fopen("/proc/net/unix", "re");
    if (f == NULL)
        return true; /* cannot tell: keep the file */
    char *line = NULL;
    size_t cap = 0;
    bool alive = false;
    while (!alive && getline(&line, &cap, f) > 0) {
        unsigned long long ino;
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %llu", &ino) == 1 && ino == (unsigned long long)sock_ino)
            alive = true;
    }
    free(line);
    fclose(f);
    return alive;
}

void unsock_sockfile_release(const char *path, dev_t dev, ino_t ino, ino_t sock_ino)
{
    if (socket_alive(sock_ino)) {
        unsock_debug("close %s: still served by another process, file kept", path);
        return;
    }
    struct stat st;
    if (lstat(path, &st) != 0 || st.st_dev != dev || st.st_ino != ino || !S_ISSOCK(st.st_mode))
        return;
    if (unlink(path) == 0)
        unsock_debug("close %s: socket file removed", path);
}
