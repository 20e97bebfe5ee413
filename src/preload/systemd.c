#define _GNU_SOURCE /* F_DUPFD_CLOEXEC, SO_DOMAIN */
#include "systemd.h"

#include "carry.h"
#include "convert.h"
#include "digits.h"
#include "fdswap.h"
#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "sockaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_FDS_START 3

struct passed {
    _Atomic int fd;   /* its number now: unsock_systemd_move() changes it */
    const char *name; /* FileDescriptorName=, "unknown" if none was given */
    bool taken;       /* handed to a bind() already; under `lock` */
};

/* Written once by unsock_systemd_init() before npassed is published, then
 * read without the lock; only the fd and taken fields change later. */
static struct passed *passed;
static _Atomic size_t npassed;
static pid_t owner;              /* the process they were passed to */
static char *names_as_passed;    /* LISTEN_FDNAMES as it was, or NULL */
/* Serialises picking and moving, so that a bind never dups a passed
 * socket from a number that a concurrent dup2 is reusing. Taken before the
 * fd table's lock, never after it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void fork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void fork_done(void)
{
    pthread_mutex_unlock(&lock);
}

/* A decimal number without sign, spaces or trailing bytes (leading zeros
 * allowed, as sd_listen_fds(3) takes them). */
static bool parse_number(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long long v;
    if (s == NULL || !unsock_digits(s, strlen(s), 20, true, max, &v))
        return false;
    *out = (unsigned long)v;
    return true;
}

/* FD_CLOEXEC on fd; false if fd is not open. */
static bool set_cloexec(int fd)
{
    int fl = unsock_real.fcntl(fd, F_GETFD);
    return fl >= 0 && ((fl & FD_CLOEXEC) != 0 || unsock_real.fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == 0);
}

static void log_passed(size_t n)
{
    char line[700];
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof(line); i++) {
        int w = snprintf(line + used, sizeof(line) - used, "%s fd %d (%s)", i ? "," : "",
                         atomic_load_explicit(&passed[i].fd, memory_order_relaxed), passed[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    unsock_log_line("systemd: %zu passed socket%s:%s", n, n == 1 ? "" : "s", line);
}

void unsock_systemd_init(void)
{
    const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS"), *names_s = getenv("LISTEN_FDNAMES");
    if (pid_s == NULL && fds_s == NULL)
        return;
    unsigned long pid, n;
    if (!parse_number(pid_s, INT_MAX, &pid) || !parse_number(fds_s, INT_MAX - LISTEN_FDS_START + 1, &n) || n == 0) {
        unsock_debug("systemd: LISTEN_PID=%s LISTEN_FDS=%s: malformed, ignored", pid_s ? pid_s : "(unset)",
                     fds_s ? fds_s : "(unset)");
        return;
    }
    if ((pid_t)pid != getpid()) {
        unsock_debug("systemd: LISTEN_PID=%lu is not this process (%d): the passed sockets are not ours, ignored",
                     pid, (int)getpid());
        return;
    }
    /* Checked before any allocation: n open descriptors bound n. */
    for (unsigned long i = 0; i < n; i++) {
        int fd = (int)(LISTEN_FDS_START + i);
        if (unsock_real.fcntl(fd, F_GETFD) < 0) {
            unsock_debug("systemd: LISTEN_FDS=%lu but fd %d is not open: ignored", n, fd);
            return;
        }
    }
    char *names = names_s != NULL ? strdup(names_s) : NULL;
    char *original = names_s != NULL ? strdup(names_s) : NULL;
    struct passed *p = calloc(n, sizeof(*p));
    if (p == NULL || (names_s != NULL && (names == NULL || original == NULL))) {
        unsock_debug("systemd: no memory for %lu passed sockets: ignored", n);
        goto fail;
    }
    /* Empty names are kept (systemd does not coalesce colons); missing ones
     * are "unknown", extra ones dropped. The string lives as long as the
     * process. */
    char *next = names;
    for (unsigned long i = 0; i < n; i++) {
        atomic_init(&p[i].fd, (int)(LISTEN_FDS_START + i));
        p[i].name = "unknown";
        if (next != NULL) {
            p[i].name = next;
            next = strchr(next, ':');
            if (next != NULL)
                *next++ = '\0';
        }
        if (!set_cloexec(LISTEN_FDS_START + (int)i)) {
            unsock_debug("systemd: fd %d: FD_CLOEXEC not set: %s; passed sockets ignored",
                         LISTEN_FDS_START + (int)i, strerror(errno));
            goto fail;
        }
    }
    int err = pthread_atfork(fork_prepare, fork_done, fork_done);
    if (err != 0) {
        unsock_debug("systemd: pthread_atfork: %s; passed sockets ignored", strerror(err));
        goto fail;
    }
    /* LISTEN_FDS would be wrong in any child, and LISTEN_PID is ours alone. */
    if (unsetenv("LISTEN_PID") != 0 || unsetenv("LISTEN_FDS") != 0 || unsetenv("LISTEN_FDNAMES") != 0)
        unsock_debug("systemd: LISTEN_* not unset: %s", strerror(errno));
    passed = p;
    owner = (pid_t)pid;
    names_as_passed = original;
    atomic_store_explicit(&npassed, (size_t)n, memory_order_release);
    if (unsock_cfg.debug)
        log_passed((size_t)n);
    return;
fail:
    free(p);
    free(names);
    free(original);
}

bool unsock_systemd_protected(int fd)
{
    size_t n = atomic_load_explicit(&npassed, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (atomic_load_explicit(&passed[i].fd, memory_order_relaxed) == fd)
            return true;
    return false;
}

int unsock_systemd_next_protected(unsigned from)
{
    size_t n = atomic_load_explicit(&npassed, memory_order_acquire);
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        int fd = atomic_load_explicit(&passed[i].fd, memory_order_relaxed);
        if ((unsigned)fd >= from && (best < 0 || fd < best))
            best = fd;
    }
    return best;
}

int unsock_systemd_move(int fd)
{
    if (!unsock_systemd_protected(fd))
        return 0;
    int moved = 0;
    pthread_mutex_lock(&lock);
    size_t n = atomic_load_explicit(&npassed, memory_order_relaxed);
    for (size_t i = 0; i < n && moved == 0; i++) {
        if (atomic_load_explicit(&passed[i].fd, memory_order_relaxed) != fd)
            continue;
        int to = unsock_real.fcntl(fd, F_DUPFD_CLOEXEC, LISTEN_FDS_START);
        if (to < 0) {
            moved = -1;
            break;
        }
        atomic_store_explicit(&passed[i].fd, to, memory_order_relaxed);
        unsock_debug("systemd: passed socket %s moved from fd %d to fd %d", passed[i].name, fd, to);
        moved = 1;
    }
    pthread_mutex_unlock(&lock);
    return moved;
}

/* The passed socket for a bind with rule name fdname (NULL: any); lock held.
 * NULL with the reason in why. */
static struct passed *pick(const char *fdname, size_t n, const char **why)
{
    struct passed *first = NULL;
    for (size_t i = 0; i < n; i++) {
        if (fdname != NULL && strcmp(passed[i].name, fdname) != 0)
            continue;
        if (!passed[i].taken)
            return &passed[i];
        if (first == NULL)
            first = &passed[i];
    }
    if (fdname == NULL) {
        *why = "every passed socket is taken by an earlier bind";
        return NULL;
    }
    /* All of that name taken: a program that closed its socket and binds
     * again gets the same one back. */
    *why = "no passed socket has that name (FileDescriptorName=)";
    return first;
}

static const char *type_name(int type)
{
    switch (type) {
    case SOCK_STREAM:
        return "stream";
    case SOCK_DGRAM:
        return "datagram";
    case SOCK_SEQPACKET:
        return "seqpacket";
    default:
        return "other";
    }
}

/* The program's idea of its socket: its address, with a pseudo port for
 * port 0 (a unix socket has none to report). */
static struct usock *converted(int fd, int tmp, const struct sockaddr *addr, int type)
{
    struct usock *s = unsock_sock_new(addr->sa_family, type);
    if (s == NULL)
        return NULL;
    unsock_carry_changed(fd, tmp, s, unsock_fd_touched(fd));
    s->local_len = unsock_inet_len(addr->sa_family);
    memcpy(&s->local, addr, s->local_len);
    /* sin_port and sin6_port are at the same offset */
    struct sockaddr_in *in = (struct sockaddr_in *)&s->local;
    if (in->sin_port == 0)
        in->sin_port = htons(unsock_pseudo_port());
    return s;
}

/* The passed socket's open file description is shared, so its O_NONBLOCK
 * becomes what the program's socket has. */
static int match_nonblock(int fd, int tmp)
{
    int want = unsock_real.fcntl(fd, F_GETFL), have = unsock_real.fcntl(tmp, F_GETFL);
    if (want < 0 || have < 0)
        return -1;
    if ((want & O_NONBLOCK) == (have & O_NONBLOCK))
        return 0;
    return unsock_real.fcntl(tmp, F_SETFL, (have & ~O_NONBLOCK) | (want & O_NONBLOCK));
}

static int fail(int err)
{
    errno = err;
    return -1;
}

int unsock_systemd_bind(int fd, const struct sockaddr *addr, socklen_t len, int type, const char *fdname)
{
    const char *rule = fdname != NULL ? fdname : "";
    const char *eq = fdname != NULL ? "=" : "";
    bool inet = addr->sa_family == AF_INET || addr->sa_family == AF_INET6;
    if (inet && len < unsock_inet_len(addr->sa_family))
        return fail(EINVAL);
    if (unsock_fd_converted(fd))
        return fail(EINVAL); /* already bound or connected */
    if (unsock_real.fcntl(fd, F_GETFD) < 0)
        return -1;
    size_t n = atomic_load_explicit(&npassed, memory_order_acquire);
    if (n == 0) {
        unsock_debug("bind fd %d: rule systemd%s%s: no sockets were passed (LISTEN_PID/LISTEN_FDS)", fd, eq, rule);
        return fail(EADDRNOTAVAIL);
    }

    pthread_mutex_lock(&lock);
    const char *why = NULL;
    struct passed *p = pick(fdname, n, &why);
    int pfd = p != NULL ? atomic_load_explicit(&p->fd, memory_order_relaxed) : -1;
    int ptype = 0, pfamily = 0, tmp = -1, err = EADDRNOTAVAIL;
    socklen_t fl = sizeof(pfamily);
    if (p == NULL) {
        unsock_debug("bind fd %d: rule systemd%s%s: %s", fd, eq, rule, why);
        goto out;
    }
    if ((ptype = unsock_socket_type(pfd)) < 0 ||
        unsock_real.getsockopt(pfd, SOL_SOCKET, SO_DOMAIN, &pfamily, &fl) != 0) {
        unsock_debug("bind fd %d: passed fd %d (%s) is not a socket: %s", fd, pfd, p->name, strerror(errno));
        goto out;
    }
    if (ptype != type) {
        unsock_debug("bind fd %d: passed fd %d (%s) is a %s socket, the program's is %s", fd, pfd, p->name,
                     type_name(ptype), type_name(type));
        goto out;
    }
    if ((tmp = unsock_real.fcntl(pfd, F_DUPFD_CLOEXEC, 0)) < 0 || match_nonblock(fd, tmp) != 0) {
        err = errno;
        goto out;
    }
    struct usock *s = NULL;
    if (pfamily == AF_UNIX && inet && (s = converted(fd, tmp, addr, type)) == NULL) {
        err = errno;
        goto out;
    }
    int r = unsock_install(tmp, fd, s, NULL);
    tmp = -1; /* closed by install */
    if (r != 0) {
        err = errno;
        goto out;
    }
    p->taken = true;
    err = 0;
    unsock_debug("bind fd %d: rule systemd%s%s -> passed fd %d (%s), %s", fd, eq, rule, pfd, p->name,
                 s != NULL ? "unix socket" : "native socket");
out:
    pthread_mutex_unlock(&lock);
    if (tmp >= 0)
        unsock_real.close(tmp);
    return err == 0 ? 0 : fail(err);
}

/* FD_CLOEXEC on or off on every passed socket; lock held. */
static int set_passed_cloexec(size_t n, bool on)
{
    for (size_t i = 0; i < n; i++) {
        int fd = atomic_load_explicit(&passed[i].fd, memory_order_relaxed);
        if (unsock_real.fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0) != 0)
            return -1;
    }
    return 0;
}

/* Set beside LISTEN_PID for a spawned child, whose pid is not known yet. */
#define SPAWNED "UNSOCK_LISTEN_SPAWNED=1"

/* envp without its LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, followed by
 * ours; one allocation. */
static char **listen_env(char *const envp[], size_t n, bool spawn)
{
    size_t count = 0;
    while (envp != NULL && envp[count] != NULL)
        count++;
    size_t names_len = names_as_passed != NULL ? strlen(names_as_passed) + sizeof("LISTEN_FDNAMES=") : 0;
    size_t vars = 2 * 32 + names_len;
    char **env = malloc((count + 5) * sizeof(char *) + vars);
    if (env == NULL)
        return NULL;
    char *buf = (char *)(env + count + 5);
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (strncmp(envp[i], "LISTEN_PID=", 11) != 0 && strncmp(envp[i], "LISTEN_FDS=", 11) != 0 &&
            strncmp(envp[i], "LISTEN_FDNAMES=", 15) != 0)
            env[k++] = envp[i];
    env[k++] = buf;
    buf += snprintf(buf, 32, "LISTEN_PID=%d", (int)owner) + 1;
    env[k++] = buf;
    buf += snprintf(buf, 32, "LISTEN_FDS=%zu", n) + 1;
    if (names_as_passed != NULL) {
        env[k++] = buf;
        snprintf(buf, names_len, "LISTEN_FDNAMES=%s", names_as_passed);
    }
    if (spawn)
        env[k++] = SPAWNED;
    env[k] = NULL;
    return env;
}

char **unsock_systemd_exec_env(char *const envp[], bool spawn)
{
    size_t n = atomic_load_explicit(&npassed, memory_order_acquire);
    /* A forked child was not passed them; nor a vfork child, which must not
     * take locks or allocate. */
    if (n == 0 || getpid() != owner)
        return NULL;
    int saved = errno;
    char **env = NULL;
    const char *why = NULL;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n && why == NULL; i++) {
        if (passed[i].taken)
            why = "a bind took one";
        else if (atomic_load_explicit(&passed[i].fd, memory_order_relaxed) != LISTEN_FDS_START + (int)i)
            why = "they were moved off their numbers";
    }
    if (why != NULL)
        goto out;
    if ((env = listen_env(envp, n, spawn)) == NULL) {
        why = "no memory";
        goto out;
    }
    if (set_passed_cloexec(n, false) != 0) {
        why = strerror(errno);
        free(env);
        env = NULL;
        set_passed_cloexec(n, true);
        goto out;
    }
    unsock_debug("%s: passing on the %zu sockets systemd passed", spawn ? "spawn" : "exec", n);
out:
    pthread_mutex_unlock(&lock);
    if (why != NULL)
        unsock_debug("exec: the sockets systemd passed are not passed on: %s", why);
    errno = saved;
    return env;
}

void unsock_systemd_exec_failed(char **env)
{
    int saved = errno;
    pthread_mutex_lock(&lock);
    if (set_passed_cloexec(atomic_load_explicit(&npassed, memory_order_relaxed), true) != 0)
        unsock_debug("exec failed, and FD_CLOEXEC is not set again on the passed sockets: %s", strerror(errno));
    pthread_mutex_unlock(&lock);
    free(env);
    errno = saved;
}

void unsock_systemd_spawned(void)
{
    if (getenv("UNSOCK_LISTEN_SPAWNED") == NULL)
        return;
    const char *pid_s = getenv("LISTEN_PID");
    unsigned long pid;
    char own[16];
    if (pid_s != NULL && parse_number(pid_s, INT_MAX, &pid) && (pid_t)pid == getppid()) {
        snprintf(own, sizeof(own), "%d", (int)getpid());
        if (setenv("LISTEN_PID", own, 1) != 0)
            unsock_debug("systemd: LISTEN_PID of a spawned child not set: %s", strerror(errno));
    }
    if (unsetenv("UNSOCK_LISTEN_SPAWNED") != 0)
        unsock_debug("systemd: UNSOCK_LISTEN_SPAWNED not unset: %s", strerror(errno));
}
