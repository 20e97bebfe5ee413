#define _GNU_SOURCE
#include "sockfiles.h"

#include "call.h"
#include "log.h"
#include "sockfile.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

struct owned {
    struct owned *next;
    char path[UNSOCK_SUN_PATH_MAX + 1];
    dev_t dev;
    ino_t ino, sock_ino;
    int type;
};
static struct owned *owned;
static pthread_mutex_t owned_lock = PTHREAD_MUTEX_INITIALIZER;

/* The supervisor sees no close: every half second, the files whose socket
 * nobody holds any more are removed. */
static void *sweep(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec half = {0, 500 * 1000 * 1000};
        nanosleep(&half, NULL);
        pthread_mutex_lock(&owned_lock);
        for (struct owned **p = &owned; *p != NULL;) {
            struct owned *o = *p;
            if (!unsock_socket_open(o->sock_ino) &&
                !unsock_sockfile_release(o->path, o->dev, o->ino, o->sock_ino, o->type)) {
                *p = o->next;
                free(o);
            } else {
                p = &o->next;
            }
        }
        pthread_mutex_unlock(&owned_lock);
    }
    return NULL;
}

static void start_sweeping(void)
{
    if (!in_thread(sweep, NULL))
        unsock_debug("socket files are removed only when the program ends: no thread to do it sooner");
}

void sockfiles_own(int sock, const char *path, int type)
{
    static pthread_once_t sweeper = PTHREAD_ONCE_INIT;
    pthread_once(&sweeper, start_sweeping);
    struct stat st, sst;
    struct owned *o = calloc(1, sizeof(*o));
    if (o == NULL || lstat(path, &st) != 0 || fstat(sock, &sst) != 0) {
        free(o);
        return;
    }
    snprintf(o->path, sizeof(o->path), "%s", path);
    o->dev = st.st_dev, o->ino = st.st_ino, o->sock_ino = sst.st_ino, o->type = type;
    pthread_mutex_lock(&owned_lock);
    o->next = owned;
    owned = o;
    pthread_mutex_unlock(&owned_lock);
}

void sockfiles_exit(void)
{
    pthread_mutex_lock(&owned_lock);
    for (struct owned *o = owned, *next; o != NULL; o = next) {
        next = o->next;
        unsock_sockfile_release(o->path, o->dev, o->ino, o->sock_ino, o->type);
        free(o);
    }
    owned = NULL;
    pthread_mutex_unlock(&owned_lock);
}

