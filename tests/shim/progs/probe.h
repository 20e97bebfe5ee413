/* Shared helpers of the C probes that tests/shim runs under the shim.
 * A probe prints what it observed, and on a failed check one line starting
 * with FAIL to stderr, exiting 1. */
#ifndef PROBE_H
#define PROBE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A check that is counted rather than fatal: the probe reports every
 * mismatch, then exits with failures != 0. */
static int failures __attribute__((unused));

#define EXPECT(cond, ...)                                      \
    do {                                                       \
        if (!(cond)) {                                         \
            fprintf(stderr, "FAIL ");                          \
            fprintf(stderr, __VA_ARGS__);                      \
            fprintf(stderr, "\n");                             \
            failures++;                                        \
        }                                                      \
    } while (0)

#define CHECK(cond, ...)                                                         \
    do {                                                                         \
        if (!(cond)) {                                                           \
            int e_ = errno;                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                 \
            fprintf(stderr, __VA_ARGS__);                                        \
            fprintf(stderr, " [%s; errno %d %s]\n", #cond, e_, strerror(e_));   \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

/* A call that must not fail. */
#define MUST(call) CHECK((call) >= 0, "%s", #call)

static inline struct sockaddr_in inet_addr_port(const char *ip, int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    CHECK(inet_pton(AF_INET, ip, &a.sin_addr) == 1, "bad address %s", ip);
    return a;
}

static inline struct sockaddr_in6 inet6_addr_port(const char *ip, int port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)port);
    CHECK(inet_pton(AF_INET6, ip, &a.sin6_addr) == 1, "bad address %s", ip);
    return a;
}

static inline struct sockaddr_un unix_addr(const char *path)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    CHECK(strlen(path) < sizeof(a.sun_path), "path too long: %s", path);
    memcpy(a.sun_path, path, strlen(path));
    return a;
}

static inline int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    MUST(getsockname(fd, (struct sockaddr *)&a, &len));
    CHECK(a.sin_family == AF_INET, "getsockname family %d", a.sin_family);
    return ntohs(a.sin_port);
}

/* A listening socket at ip:port (port 0: any). */
static inline int listener(const char *ip, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    MUST(fd);
    struct sockaddr_in a = inet_addr_port(ip, port);
    MUST(bind(fd, (struct sockaddr *)&a, sizeof(a)));
    MUST(listen(fd, 128));
    return fd;
}

static inline int connect_to(const char *ip, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    MUST(fd);
    struct sockaddr_in a = inet_addr_port(ip, port);
    MUST(connect(fd, (struct sockaddr *)&a, sizeof(a)));
    return fd;
}

/* The inode of the socket behind fd. */
static inline unsigned long socket_inode(int fd)
{
    struct stat st;
    MUST(fstat(fd, &st));
    CHECK(S_ISSOCK(st.st_mode), "fd %d is not a socket", fd);
    return (unsigned long)st.st_ino;
}

/* Whether fd really is an AF_UNIX socket (getsockopt(SO_DOMAIN) is what the
 * shim fakes, so ask /proc/net/unix instead). */
static inline int is_unix_socket(int fd)
{
    unsigned long ino = socket_inode(fd);
    FILE *f = fopen("/proc/net/unix", "r");
    CHECK(f != NULL, "open /proc/net/unix");
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        unsigned long i;
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &i) == 1 && i == ino)
            found = 1;
    }
    fclose(f);
    return found;
}

/* Whether path is gone, waiting up to PROBE_GRACE_MS milliseconds for it
 * (the seccomp engine sees no close: it removes a socket file within half
 * a second of its socket's last close; the preload engine at once). */
static inline int gone(const char *path)
{
    const char *grace = getenv("PROBE_GRACE_MS");
    for (int waited = 0, limit = grace ? atoi(grace) : 0; access(path, F_OK) == 0 && waited < limit; waited += 10)
        usleep(10000);
    return access(path, F_OK) != 0;
}

static inline int count_fds(void)
{
    char buf[64];
    int n = 0;
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
        if (access(buf, F_OK) == 0)
            n++;
    }
    return n;
}

static inline void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        CHECK(w > 0, "write fd %d", fd);
        p += w;
        len -= (size_t)w;
    }
}

static inline void read_exact(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t r = read(fd, p, len);
        CHECK(r > 0, "read fd %d (got %zd)", fd, r);
        p += r;
        len -= (size_t)r;
    }
}

#endif
