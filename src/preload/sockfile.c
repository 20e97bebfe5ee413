#define _GNU_SOURCE /* O_PATH */
#include "sockfile.h"

#include "config.h"
#include "log.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* __SO_ACCEPTCON in the Flags column of /proc/net/unix, SS_UNCONNECTED in St. */
#define UNIX_FLAG_LISTENING 0x10000u
#define UNIX_STATE_UNCONNECTED 1u

/* Files of the shim's own, opened and closed with plain system calls: the
 * program's close() may be wrapped (by this shim, or a sanitizer that
 * tracks descriptors), and both ends must be seen alike or not at all. */
static int open_own(const char *path, int flags)
{
    return (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC);
}

static void close_own(int fd)
{
    int saved = errno;
    syscall(SYS_close, fd);
    errno = saved;
}

/* The next field of a /proc/net/unix line at *p (end e) as a number in
 * base, *p moved past it and the spaces after it; false if none. */
static bool field(const char **p, const char *e, unsigned base, unsigned long long *out)
{
    const char *q = *p;
    unsigned long long v = 0;
    for (; q < e && *q != ' '; q++) {
        unsigned d = *q >= '0' && *q <= '9' ? (unsigned)(*q - '0')
                   : (*q | 0x20) >= 'a' && (*q | 0x20) <= 'f' ? (unsigned)((*q | 0x20) - 'a' + 10) : 99;
        if (d >= base)
            return false;
        v = v * base + d;
    }
    if (q == *p)
        return false;
    while (q < e && *q == ' ')
        q++;
    *p = q;
    *out = v;
    return true;
}

/* Whether one line of /proc/net/unix (without its newline) is the socket
 * sought. */
static bool line_matches(const char *line, const char *e, ino_t ino, const char *path, size_t plen)
{
    const char *p = line;
    unsigned long long skip, flags, type, state, i;
    /* Num: RefCount Protocol Flags Type St Inode [Path] */
    while (p < e && *p != ' ')
        p++;
    while (p < e && *p == ' ')
        p++;
    if (!field(&p, e, 16, &skip) || !field(&p, e, 16, &skip) || !field(&p, e, 16, &flags) ||
        !field(&p, e, 16, &type) || !field(&p, e, 16, &state) || !field(&p, e, 10, &i))
        return false;
    if (ino != 0 && i == (unsigned long long)ino)
        return true;
    bool serving = (flags & UNIX_FLAG_LISTENING) != 0 || state == UNIX_STATE_UNCONNECTED || type == SOCK_DGRAM;
    /* The path is the rest of the line; it may contain spaces. */
    return serving && path != NULL && (size_t)(e - p) == plen && plen > 0 && memcmp(p, path, plen) == 0;
}

/* Is a unix socket with inode ino, or serving path, open anywhere in our
 * network namespace? Either key may be omitted (0 / NULL). Accepted
 * connections carry their listener's path too, so for connection types
 * only a listening socket, or one bound but not yet listening, serves it.
 * Read with plain system calls into a buffer on the stack: a close in a
 * signal handler may get here. */
static bool unix_socket_listed(ino_t ino, const char *path)
{
    int fd = open_own("/proc/net/unix", O_RDONLY);
    if (fd < 0)
        return true; /* cannot tell: assume it is */
    char buf[8192];
    size_t have = 0, plen = path ? strlen(path) : 0;
    bool found = false, first = true;
    ssize_t n;
    while (!found && (n = unsock_real.read(fd, buf + have, sizeof(buf) - have)) > 0) {
        have += (size_t)n;
        char *line = buf, *nl;
        while (!found && (nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
            if (!first) /* the first line names the columns */
                found = line_matches(line, nl, ino, path, plen);
            first = false;
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        if (have == sizeof(buf)) /* a line longer than the buffer: no socket's */
            have = 0;
        memmove(buf, line, have);
    }
    if (n < 0 && !found)
        found = true; /* cannot tell */
    close_own(fd);
    return found;
}

/* Whether nobody serves the socket file at addr any more. A socket bound to
 * the path in this namespace means a live server, found without disturbing
 * it; failing that, connecting (the server may live in another namespace)
 * must give ECONNREFUSED. */
static bool socket_file_is_stale(const struct sockaddr_un *addr, socklen_t len, int type,
                                 const struct stat *st)
{
    if (!S_ISSOCK(st->st_mode) || unix_socket_listed(0, addr->sun_path))
        return false;
    int probe = unsock_real.socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0)
        return false;
    int r = unsock_real.connect(probe, (const struct sockaddr *)addr, len);
    bool stale = r != 0 && errno == ECONNREFUSED;
    unsock_real.close(probe);
    return stale;
}

/* The directory of path into dir ("/" for a file at the root, "." for a
 * bare name); returns the name within it. */
static const char *split_path(const char *path, char dir[UNSOCK_SUN_PATH_MAX + 1])
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
        return path;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    memcpy(dir, path, n);
    dir[n] = '\0';
    return slash + 1;
}

static int rename_noreplace(int dfd, const char *from, const char *to)
{
    return (int)syscall(SYS_renameat2, dfd, from, dfd, to, RENAME_NOREPLACE);
}

/* Remove the socket file at path only if it still is the socket inode
 * (dev, ino) that was checked. A name can be swapped between any check and
 * unlink(2), so the file is first moved aside to a name of this process in
 * the same directory (never replacing anything), checked there, and put
 * back if it is anything else. -1 with errno if nothing was removed. */
static int unlink_if_same(const char *path, dev_t dev, ino_t ino)
{
    static atomic_uint seq;
    char dir[UNSOCK_SUN_PATH_MAX + 1];
    const char *base = split_path(path, dir);
    char aside[64];
    snprintf(aside, sizeof(aside), ".unsock-%ld-%u.gone", (long)getpid(),
             atomic_fetch_add_explicit(&seq, 1, memory_order_relaxed));
    int dfd = open_own(dir, O_PATH | O_DIRECTORY);
    if (dfd < 0)
        return -1;
    int r = rename_noreplace(dfd, base, aside);
    if (r == 0) {
        struct stat st;
        if (fstatat(dfd, aside, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev &&
            st.st_ino == ino) {
            r = unlinkat(dfd, aside, 0);
        } else {
            if (rename_noreplace(dfd, aside, base) != 0)
                unsock_warn("%s was replaced while unsock removed it; what was there is now at %s/%s: "
                            "move it back", path, dir, aside);
            errno = EADDRINUSE;
            r = -1;
        }
    }
    close_own(dfd);
    return r;
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
    unsock_debug("bind %s: removing stale socket file of a server that is gone", path);
    return unlink_if_same(path, st.st_dev, st.st_ino);
}

/* A missing last directory of the path is created, as the original
 * creates UNSOCK_DIR. */
static int bind_with_mode(int fd, const struct sockaddr_un *addr, socklen_t len)
{
    int r = unsock_real.bind(fd, (const struct sockaddr *)addr, len);
    char dir[UNSOCK_SUN_PATH_MAX + 1];
    if (r != 0 && errno == ENOENT && split_path(addr->sun_path, dir) != addr->sun_path && strcmp(dir, "/") != 0) {
        /* mkdir's errno when it fails (EACCES, EROFS, ...): that is the reason. */
        if (mkdir(dir, 0755) == 0 || errno == EEXIST)
            r = unsock_real.bind(fd, (const struct sockaddr *)addr, len);
    }
    return r;
}

/* chmod of the socket file at path, never of what a symlink swapped in
 * there points to: the socket inode itself is opened (O_PATH, no
 * following) and changed through /proc/self/fd. */
static int widen_mode(const char *path, mode_t mode)
{
    int f = open_own(path, O_PATH | O_NOFOLLOW);
    if (f < 0)
        return -1;
    struct stat st;
    int r = fstat(f, &st);
    if (r == 0 && !S_ISSOCK(st.st_mode)) {
        errno = EADDRINUSE;
        r = -1;
    }
    if (r == 0 && (st.st_mode & 07777) != mode) {
        char proc[40];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f);
        r = chmod(proc, mode);
    }
    close_own(f);
    return r;
}

int unsock_sockfile_bind(int fd, const struct sockaddr_un *addr, socklen_t len, bool replace_stale, int32_t want)
{
    mode_t mode = (mode_t)want;
    /* The socket inode's mode, less the umask, becomes the file's mode at
     * bind: it never exists with more rights than requested. */
    if (want >= 0 && fchmod(fd, mode) != 0)
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
    if (want >= 0) {
        /* Only widening is left to do: the umask may have removed bits. */
        if (widen_mode(addr->sun_path, mode) != 0)
            unsock_debug("chmod %s to %04o: %s", addr->sun_path, (unsigned)mode, strerror(errno));
    }
    return 0;
}

static int exchange(const char *a, const char *b)
{
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

int unsock_sockfile_take_over(int fd, const struct sockaddr_un *addr, socklen_t len, int32_t mode)
{
    (void)len;
    struct sockaddr_un beside = *addr;
    size_t n = strnlen(addr->sun_path, sizeof(addr->sun_path));
    int w = snprintf(beside.sun_path + n, sizeof(beside.sun_path) - n, ".%ld.new", (long)getpid());
    if (w < 0 || (size_t)w >= sizeof(beside.sun_path) - n ||
        unsock_sockfile_bind(fd, &beside, sizeof(beside), false, mode) != 0) {
        errno = EADDRINUSE;
        return -1;
    }
    if (exchange(beside.sun_path, addr->sun_path) != 0) {
        unlink(beside.sun_path);
        errno = EADDRINUSE;
        return -1;
    }
    struct stat st;
    if (lstat(beside.sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unsock_debug("bind %s: taken over from the live server there (SO_REUSEPORT)", addr->sun_path);
        unlink(beside.sun_path);
        return 0;
    }
    /* Not a socket any more (swapped in meanwhile): put it back. */
    if (exchange(beside.sun_path, addr->sun_path) == 0)
        unlink(beside.sun_path);
    else
        unsock_debug("bind %s: could not put back what was there: it is at %s", addr->sun_path, beside.sun_path);
    errno = EADDRINUSE;
    return -1;
}

bool unsock_socket_open(ino_t sock_ino)
{
    return unix_socket_listed(sock_ino, NULL);
}

bool unsock_sockfile_release(const char *path, dev_t dev, ino_t ino, ino_t sock_ino, int type)
{
    if (unix_socket_listed(sock_ino, NULL)) {
        unsock_debug("close %s: still served by another process, file kept", path);
        return true;
    }
    struct stat st;
    if (lstat(path, &st) != 0 || st.st_dev != dev || st.st_ino != ino)
        return false;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
    /* Not listed may also mean served from another network namespace, or missed: a reader of
     * /proc/net/unix can skip lines while other sockets come and go. Still our file and still
     * answering, it is owed as if listed, not left for good. */
    if (!socket_file_is_stale(&addr, sizeof(addr), type, &st)) {
        unsock_debug("close %s: still answers, file kept", path);
        return true;
    }
    if (unlink_if_same(path, dev, ino) == 0)
        unsock_debug("close %s: socket file removed", path);
    else
        unsock_debug("close %s: socket file not removed: %s", path, strerror(errno));
    return false;
}

/* bind tmp to p's unix address: a path with the plan's mode (a stale file
 * replaced if replace_stale), or an abstract name. */
int unsock_bind_unix(int tmp, const struct unsock_plan *p, bool replace_stale)
{
    if (p->un.sun_path[0] != '\0')
        return unsock_sockfile_bind(tmp, &p->un, p->un_len, replace_stale, p->mode);
    return unsock_real.bind(tmp, (const struct sockaddr *)&p->un, p->un_len);
}

/* Port 0 on a template with %p: the first free name from a random start
 * in the kernel's default ephemeral range; existing files, stale or not,
 * are skipped. p->port and p->un tell which. */
int unsock_bind_free_port(int tmp, const struct unsock_query *q, struct unsock_plan *p)
{
    const unsigned lo = 32768, n = 60999 - 32768 + 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned start = (unsigned)(ts.tv_nsec ^ getpid()) % n;
    for (unsigned i = 0; i < n; i++) {
        if (unsock_plan_at_port(p, q, (uint16_t)(lo + (start + i) % n)) != 0)
            return -1;
        if (unsock_bind_unix(tmp, p, false) == 0)
            return 0;
        if (errno != EADDRINUSE)
            return -1;
    }
    errno = EADDRINUSE;
    return -1;
}

/* Bound to a path that is removed at once, so nothing can reach it. */
int unsock_bind_blackhole(int fd)
{
    char dir[] = "/tmp/unsock-blackhole-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return -1;
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof(un.sun_path), "%s/s", dir);
    int rc = unsock_real.bind(fd, (const struct sockaddr *)&un, sizeof(un));
    int saved = errno;
    if (rc == 0 && unlink(un.sun_path) != 0)
        rc = -1, saved = errno;
    if (rmdir(dir) != 0 && rc == 0)
        rc = -1, saved = errno;
    errno = saved;
    return rc;
}

int unsock_bind_plan(int fd, const struct unsock_query *q, struct unsock_plan *p)
{
    if (p->kind == PLAN_BLACKHOLE)
        return unsock_bind_blackhole(fd);
    if (p->free_port)
        return unsock_bind_free_port(fd, q, p);
    return unsock_bind_unix(fd, p, true);
}
