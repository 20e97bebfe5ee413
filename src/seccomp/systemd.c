#define _GNU_SOURCE
#include "systemd.h"

#include "digits.h"
#include "log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_FDS_START 3
#define PASSED_MAX 64

static struct {
    const char *name;
    bool taken;
} passed[PASSED_MAX];
static size_t npassed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool number(const char *s, unsigned long long max, unsigned long long *out)
{
    return s != NULL && unsock_digits(s, strlen(s), 10, false, max, out);
}

void systemd_take(void)
{
    unsigned long long pid, n;
    const char *names = getenv("LISTEN_FDNAMES");
    if (!number(getenv("LISTEN_PID"), 0x7fffffff, &pid) || (pid_t)pid != getpid() ||
        !number(getenv("LISTEN_FDS"), PASSED_MAX, &n))
        return;
    char *copy = names != NULL ? strdup(names) : NULL, *next = copy; /* lives as long as the process */
    for (size_t i = 0; i < n; i++) {
        if (fcntl(LISTEN_FDS_START + (int)i, F_GETFD) < 0) {
            unsock_debug("systemd: LISTEN_FDS=%llu but fd %d is not open: ignored", n, LISTEN_FDS_START + (int)i);
            npassed = 0;
            return;
        }
        passed[i].name = next != NULL ? next : "unknown";
        if (next != NULL && (next = strchr(next, ':')) != NULL)
            *next++ = '\0';
        npassed = i + 1;
    }
    unsock_debug("systemd: %zu passed socket(s), kept for the program's binds", npassed);
}

void systemd_pass_on(void)
{
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    if (npassed > 0 && setenv("LISTEN_PID", pid, 1) != 0)
        unsock_debug("systemd: LISTEN_PID not set for the program");
}

int systemd_pick(const char *fdname, const char **why)
{
    pthread_mutex_lock(&lock);
    int first = -1, got = -1;
    for (size_t i = 0; i < npassed && got < 0; i++) {
        if (fdname != NULL && strcmp(passed[i].name, fdname) != 0)
            continue;
        if (!passed[i].taken) {
            passed[i].taken = true;
            got = (int)i;
        } else if (first < 0) {
            first = (int)i;
        }
    }
    pthread_mutex_unlock(&lock);
    if (got < 0 && fdname != NULL)
        got = first; /* a program that closed its socket and binds again gets the same one back */
    if (got < 0) {
        *why = npassed == 0 ? "systemd passed no sockets" : fdname ? "no passed socket has that name (FileDescriptorName=)"
                                                                  : "every passed socket is taken by an earlier bind";
        return -1;
    }
    return fcntl(LISTEN_FDS_START + got, F_DUPFD_CLOEXEC, 0);
}
