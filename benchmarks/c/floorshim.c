/* The floor for a shim like unsock's preload engine, a yardstick for
 * `python -m benchmarks.costs --cpu`: an LD_PRELOAD that does nothing but put
 * a program's IPv4 stream sockets on unix sockets. socket(AF_INET,
 * SOCK_STREAM) gives an AF_UNIX socket; bind and connect to 127.0.0.1:PORT go
 * to FLOORSHIM_DIR/PORT.sock; TCP-level options are accepted and dropped. With
 * FLOORSHIM_NAME=1 it names each client as unsock does, with one bind of
 * "@unsock:127.0.0.1:PORT/PID" before the connect. No rules, no state, no
 * other address families, no fork handling: what unsock costs beyond this is
 * its own bookkeeping.
 *
 *   cc -O2 -shared -fPIC -o floorshim.so floorshim.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef int (*socket_fn)(int, int, int);
typedef int (*address_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*setsockopt_fn)(int, int, int, const void *, socklen_t);

/* Set once by the constructor, before the program runs, and only read after. */
static socket_fn real_socket;
static address_fn real_bind, real_connect;
static setsockopt_fn real_setsockopt;
static const char *dir = "/tmp";
static int name_clients;
static pid_t pid;

static _Thread_local uint32_t seed;

__attribute__((constructor)) static void init(void)
{
    real_socket = (socket_fn)dlsym(RTLD_NEXT, "socket");
    real_bind = (address_fn)dlsym(RTLD_NEXT, "bind");
    real_connect = (address_fn)dlsym(RTLD_NEXT, "connect");
    real_setsockopt = (setsockopt_fn)dlsym(RTLD_NEXT, "setsockopt");
    if (real_socket == NULL || real_bind == NULL || real_connect == NULL || real_setsockopt == NULL) {
        fprintf(stderr, "floorshim: the C library's socket calls were not found\n");
        _exit(127);
    }
    if (getenv("FLOORSHIM_DIR") != NULL)
        dir = getenv("FLOORSHIM_DIR");
    name_clients = getenv("FLOORSHIM_NAME") != NULL;
    pid = getpid();
}

static int converted(const struct sockaddr *a)
{
    return a != NULL && a->sa_family == AF_INET;
}

static socklen_t socket_path(const struct sockaddr *a, struct sockaddr_un *un)
{
    un->sun_family = AF_UNIX;
    int n = snprintf(un->sun_path, sizeof(un->sun_path), "%s/%u.sock", dir,
                     (unsigned)ntohs(((const struct sockaddr_in *)a)->sin_port));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
}

/* unsock's name for a client toward 127.0.0.1, at a port from 32768-60999. */
static void name_client(int fd)
{
    if (seed == 0)
        seed = (uint32_t)pid * 2654435761u | 1;
    for (int tries = 0; tries < 32; tries++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        struct sockaddr_un me = {.sun_family = AF_UNIX};
        int n = snprintf(me.sun_path + 1, sizeof(me.sun_path) - 1, "unsock:127.0.0.1:%u/%d",
                         32768 + seed % 28232, (int)pid);
        socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
        if (real_bind(fd, (const struct sockaddr *)&me, len) == 0 || errno != EADDRINUSE)
            return;
    }
}

int socket(int domain, int type, int protocol)
{
    if (domain == AF_INET && (type & 0xf) == SOCK_STREAM)
        return real_socket(AF_UNIX, type, 0);
    return real_socket(domain, type, protocol);
}

int bind(int fd, const struct sockaddr *a, socklen_t len)
{
    if (!converted(a))
        return real_bind(fd, a, len);
    struct sockaddr_un un;
    socklen_t n = socket_path(a, &un);
    unlink(un.sun_path); /* a socket file left by an earlier run */
    return real_bind(fd, (const struct sockaddr *)&un, n);
}

int connect(int fd, const struct sockaddr *a, socklen_t len)
{
    if (!converted(a))
        return real_connect(fd, a, len);
    struct sockaddr_un un;
    socklen_t n = socket_path(a, &un);
    if (name_clients)
        name_client(fd);
    return real_connect(fd, (const struct sockaddr *)&un, n);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    return level == IPPROTO_TCP ? 0 : real_setsockopt(fd, level, name, val, len);
}
