#include "sockets.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUCKETS 4096
#define PRUNE_EVERY 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ssock *buckets[BUCKETS];
static unsigned added;

void socks_lock(void)
{
    pthread_mutex_lock(&lock);
}

void socks_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

static struct ssock **bucket(ino_t ino)
{
    return &buckets[(unsigned long)ino % BUCKETS];
}

struct ssock *socks_find(ino_t ino)
{
    for (struct ssock *s = *bucket(ino); s != NULL; s = s->next)
        if (s->ino == ino)
            return s;
    return NULL;
}

static void forget(struct ssock *s)
{
    free(s->u.opts);
    free(s->u.peers);
    free(s);
}

static int cmp_ino(const void *a, const void *b)
{
    ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;
    return x < y ? -1 : x > y;
}

/* Drop the records of sockets that are not in /proc/net/unix any more
 * (closed by every process). */
static void prune(void)
{
    FILE *f = fopen("/proc/net/unix", "re");
    if (f == NULL)
        return;
    size_t n = 0, cap = 1024;
    ino_t *live = malloc(cap * sizeof(*live));
    char line[512];
    while (live != NULL && fgets(line, sizeof(line), f) != NULL) {
        unsigned long long ino;
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %llu", &ino) != 1)
            continue;
        if (n == cap) {
            ino_t *more = realloc(live, 2 * cap * sizeof(*live));
            if (more == NULL)
                break;
            live = more;
            cap *= 2;
        }
        live[n++] = (ino_t)ino;
    }
    fclose(f);
    if (live == NULL)
        return;
    qsort(live, n, sizeof(*live), cmp_ino);
    for (size_t b = 0; b < BUCKETS; b++) {
        for (struct ssock **p = &buckets[b]; *p != NULL;) {
            if (bsearch(&(*p)->ino, live, n, sizeof(*live), cmp_ino) == NULL) {
                struct ssock *gone = *p;
                *p = gone->next;
                forget(gone);
            } else {
                p = &(*p)->next;
            }
        }
    }
    free(live);
}

/* The inodes of the stream sockets bound by the supervisor (listeners),
 * few: the newest replace the oldest. */
#define BOUND 256
static ino_t bound[BOUND];
static unsigned nbound;

void socks_set_bound(struct ssock *s, const struct sockaddr_un *un, socklen_t len)
{
    s->bound = *un;
    s->bound_len = len;
    bound[nbound++ % BOUND] = s->ino;
}

struct ssock *socks_find_bound(const struct sockaddr_un *un, socklen_t len)
{
    for (unsigned i = 0; i < BOUND && i < nbound; i++) {
        struct ssock *s = bound[i] != 0 ? socks_find(bound[i]) : NULL;
        if (s == NULL)
            bound[i] = 0; /* closed and forgotten */
        else if (s->bound_len == len && memcmp(&s->bound, un, len) == 0)
            return s;
    }
    return NULL;
}

struct ssock *socks_add(ino_t ino, int family, int type)
{
    if (++added % PRUNE_EVERY == 0)
        prune();
    struct ssock *s = socks_find(ino);
    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return NULL;
        s->ino = ino;
        s->next = *bucket(ino);
        *bucket(ino) = s;
    } else {
        free(s->u.opts);
        free(s->u.peers);
        memset(&s->u, 0, sizeof(s->u));
        s->bound_len = 0;
    }
    s->u.family = family;
    s->u.type = type;
    return s;
}

#define PENDING 1024

static struct pending pending[PENDING];

/* Socket inodes come in per-CPU runs of 1024: hashed, and looked for in a
 * few places, so that sockets made at once by several threads do not take
 * each other's place. */
#define PROBES 4

struct pending *socks_pending(ino_t ino, bool create)
{
    size_t h = (size_t)(((uint64_t)ino * 0x9e3779b97f4a7c15ULL) >> 54) % PENDING;
    struct pending *p = NULL;
    for (size_t i = 0; i < PROBES; i++) {
        struct pending *q = &pending[(h + i) % PENDING];
        if (q->ino == ino)
            return q;
        if (p == NULL && q->ino == 0)
            p = q;
    }
    if (!create)
        return NULL;
    if (p == NULL)
        p = &pending[h]; /* all taken: the latest socket wins */
    for (unsigned i = 0; i < p->nepolls; i++)
        pending_epoll_drop(&p->epolls[i]);
    *p = (struct pending){.ino = ino};
    return p;
}

void pending_epoll_drop(struct pending_epoll *e)
{
    if (e->ep >= 0)
        close(e->ep);
    e->ep = -1;
}

bool socks_pending_take(ino_t ino, struct pending *out)
{
    struct pending *p = socks_pending(ino, false);
    if (p == NULL)
        return false;
    *out = *p;
    p->ino = 0;
    return true;
}
