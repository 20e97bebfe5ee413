#define _GNU_SOURCE
#include "target.h"

#include "digits.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

int target_read(pid_t tid, uint64_t addr, void *out, size_t n)
{
    struct iovec local = {out, n}, remote = {(void *)(uintptr_t)addr, n};
    return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -1;
}

int target_write(pid_t tid, uint64_t addr, const void *in, size_t n)
{
    struct iovec local = {(void *)in, n}, remote = {(void *)(uintptr_t)addr, n};
    return process_vm_writev(tid, &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -1;
}

/* /proc/TID/FILE into buf, NUL-terminated; false if it cannot be read. */
static bool read_proc(pid_t tid, const char *file, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)tid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

/* "Name:\tvalue" of a /proc status text into out; false if there is none. */
static bool status_field(const char *buf, const char *name, char *out, size_t outlen)
{
    size_t len = strlen(name);
    for (const char *line = buf; line != NULL && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            const char *v = line + len + 1;
            while (*v == '\t' || *v == ' ')
                v++;
            size_t end = strcspn(v, "\n");
            snprintf(out, outlen, "%.*s", (int)end, v);
            return true;
        }
    }
    return false;
}

/* One field of /proc/TID/status. */
static bool status_line(pid_t tid, const char *name, char *out, size_t outlen)
{
    char buf[4096];
    return read_proc(tid, "status", buf, sizeof(buf)) && status_field(buf, name, out, outlen);
}

static pid_t tgid_of(pid_t tid)
{
    char v[32];
    unsigned long long pid;
    if (!status_line(tid, "Tgid", v, sizeof(v)) || !unsock_digits(v, strlen(v), 10, false, 0x7fffffff, &pid))
        return 0;
    return (pid_t)pid;
}

/* The threads that called lately: a pidfd of each, which says whether the
 * thread is still the one with that id (ids are reused), and its process.
 * Before Linux 6.9 (no pidfd of a thread) nothing is kept. */
#define THREADS 64
static struct thread {
    pid_t tid, tgid;
    int pidfd;        /* -1: empty */
    uint64_t checked; /* the call it was last found to be the same thread in */
} threads[THREADS];
static _Atomic uint64_t calls;
static _Thread_local uint64_t this_call;

void target_begin(void)
{
    this_call = ++calls;
}
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t threads_once = PTHREAD_ONCE_INIT;

static void threads_init(void)
{
    for (size_t i = 0; i < THREADS; i++)
        threads[i].pidfd = -1;
}

/* The kept entry of tid, still that thread, or a new one; NULL if no
 * pidfd of the thread can be had. Lock held. */
static struct thread *thread(pid_t tid)
{
    pthread_once(&threads_once, threads_init);
    struct thread *t = &threads[(unsigned)tid % THREADS];
    if (t->tid == tid && t->pidfd >= 0 &&
        (t->checked == this_call || syscall(SYS_pidfd_send_signal, t->pidfd, 0, NULL, 0) == 0)) {
        t->checked = this_call;
        return t;
    }
    int fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
    if (fd < 0)
        return NULL;
    if (t->pidfd >= 0)
        close(t->pidfd);
    *t = (struct thread){.tid = tid, .tgid = tgid_of(tid), .pidfd = fd, .checked = this_call};
    return t;
}

pid_t target_pid(pid_t tid)
{
    pthread_mutex_lock(&threads_lock);
    const struct thread *t = thread(tid);
    pid_t tgid = t != NULL ? t->tgid : tgid_of(tid);
    pthread_mutex_unlock(&threads_lock);
    return tgid;
}

uid_t target_uid(pid_t tid)
{
    char v[64];
    unsigned long real, effective;
    if (!status_line(tid, "Uid", v, sizeof(v)) || sscanf(v, "%lu %lu", &real, &effective) != 2)
        return 0;
    return (uid_t)effective;
}

int target_dup(pid_t tid, int fd)
{
    pthread_mutex_lock(&threads_lock);
    const struct thread *t = thread(tid);
    long dup = t != NULL ? syscall(SYS_pidfd_getfd, t->pidfd, fd, 0) : -1;
    int saved = errno;
    pthread_mutex_unlock(&threads_lock);
    if (t == NULL && saved == EINVAL) { /* before Linux 6.9: no pidfd of a thread, the process's */
        pid_t pid = tgid_of(tid);
        long pidfd = pid > 0 ? syscall(SYS_pidfd_open, pid, 0) : -1;
        if (pidfd < 0)
            return -1;
        dup = syscall(SYS_pidfd_getfd, (int)pidfd, fd, 0);
        saved = errno;
        close((int)pidfd);
    }
    errno = saved;
    return (int)dup;
}

bool target_cloexec(pid_t tid, int fd)
{
    char file[32], buf[256];
    snprintf(file, sizeof(file), "fdinfo/%d", fd);
    if (!read_proc(tid, file, buf, sizeof(buf)))
        return false;
    const char *flags = strstr(buf, "flags:");
    return flags != NULL && (strtoul(flags + 6, NULL, 8) & O_CLOEXEC) != 0;
}

bool target_signalled(pid_t tid)
{
    char buf[4096], pending[32], shared[32], blocked[32];
    if (!read_proc(tid, "status", buf, sizeof(buf)) || !status_field(buf, "SigPnd", pending, sizeof(pending)) ||
        !status_field(buf, "ShdPnd", shared, sizeof(shared)) || !status_field(buf, "SigBlk", blocked, sizeof(blocked)))
        return false;
    unsigned long long p = strtoull(pending, NULL, 16) | strtoull(shared, NULL, 16);
    return (p & ~strtoull(blocked, NULL, 16)) != 0;
}
