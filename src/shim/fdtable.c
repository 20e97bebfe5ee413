#include "fdtable.h"

#include "log.h"
#include "real.h"
#include "sockfile.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define NCHUNKS ((1u << 31) / CHUNK_SIZE)

struct slot {
    _Atomic(struct usock *) sock;
    atomic_uint touched;
};

static _Atomic(struct slot *) chunks[NCHUNKS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct usock *owned_head;

void unsock_lock(void)
{
    pthread_mutex_lock(&lock);
}

void unsock_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

void unsock_fdtable_init(void)
{
    pthread_atfork(unsock_lock, unsock_unlock, unsock_unlock);
}

static struct slot *slot_peek(int fd)
{
    if (fd < 0)
        return NULL;
    struct slot *chunk = atomic_load_explicit(&chunks[(unsigned)fd >> CHUNK_BITS], memory_order_acquire);
    return chunk ? &chunk[(unsigned)fd & (CHUNK_SIZE - 1)] : NULL;
}

/* The slot of fd, allocating its chunk; lock held. NULL only without memory. */
static struct slot *slot_get_locked(int fd)
{
    struct slot *s = slot_peek(fd);
    if (s != NULL || fd < 0)
        return s;
    struct slot *chunk = calloc(CHUNK_SIZE, sizeof(*chunk));
    if (chunk == NULL)
        return NULL;
    atomic_store_explicit(&chunks[(unsigned)fd >> CHUNK_BITS], chunk, memory_order_release);
    return &chunk[(unsigned)fd & (CHUNK_SIZE - 1)];
}

bool unsock_fd_converted(int fd)
{
    struct slot *s = slot_peek(fd);
    return s != NULL && atomic_load_explicit(&s->sock, memory_order_acquire) != NULL;
}

struct usock *unsock_fd_lock(int fd)
{
    if (!unsock_fd_converted(fd))
        return NULL;
    unsock_lock();
    struct usock *sock = atomic_load_explicit(&slot_peek(fd)->sock, memory_order_relaxed);
    if (sock == NULL)
        unsock_unlock();
    return sock;
}

struct usock *unsock_sock_new(int family, int type)
{
    struct usock *s = calloc(1, sizeof(*s));
    if (s != NULL) {
        s->family = family;
        s->type = type;
    }
    return s;
}

static void owned_unlink_locked(struct usock *s)
{
    if (s->owned_prev)
        s->owned_prev->owned_next = s->owned_next;
    else if (owned_head == s)
        owned_head = s->owned_next;
    if (s->owned_next)
        s->owned_next->owned_prev = s->owned_prev;
    s->owned_prev = s->owned_next = NULL;
}

/* Drop one reference; the last one of a file owner may remove the file,
 * which is only decided once the caller's descriptor is really closed, so
 * the caller gets the socket back to finish with sock_finish(). */
static struct usock *sock_unref_locked(struct usock *s)
{
    if (--s->refs > 0)
        return NULL;
    owned_unlink_locked(s);
    return s;
}

void unsock_sock_free(struct usock *s)
{
    free(s->opts);
    free(s);
}

static void sock_finish(struct usock *s)
{
    if (s->owns_file)
        unsock_sockfile_release(s->path, s->file_dev, s->file_ino, s->sock_ino, s->type);
    unsock_sock_free(s);
}

void unsock_fd_set_locked(int fd, struct usock *s)
{
    struct slot *slot = slot_get_locked(fd);
    if (slot == NULL)
        return;
    struct usock *old = atomic_load_explicit(&slot->sock, memory_order_relaxed);
    if (s != NULL)
        s->refs++;
    atomic_store_explicit(&slot->sock, s, memory_order_release);
    atomic_store_explicit(&slot->touched, 0, memory_order_relaxed);
    if (old != NULL && (old = sock_unref_locked(old)) != NULL)
        sock_finish(old);
}

/* Forget what the program did to fd before it was converted. */
static void slot_clear_touched(int fd)
{
    struct slot *slot = slot_peek(fd);
    if (slot != NULL)
        atomic_store_explicit(&slot->touched, 0, memory_order_relaxed);
}

int unsock_fd_close(int fd, int (*do_close)(int))
{
    struct usock *s = NULL;
    /* Closing a descriptor that was never converted takes no lock. */
    if (!unsock_fd_converted(fd)) {
        slot_clear_touched(fd);
    } else {
        unsock_lock();
        struct slot *slot = slot_peek(fd);
        struct usock *old = atomic_load_explicit(&slot->sock, memory_order_relaxed);
        atomic_store_explicit(&slot->sock, NULL, memory_order_release);
        atomic_store_explicit(&slot->touched, 0, memory_order_relaxed);
        if (old != NULL)
            s = sock_unref_locked(old);
        unsock_unlock();
    }
    int ret = do_close(fd);
    if (s != NULL) {
        int saved = errno;
        sock_finish(s);
        errno = saved;
    }
    return ret;
}

void unsock_fd_set(int fd, struct usock *s)
{
    if (s == NULL && !unsock_fd_converted(fd)) {
        slot_clear_touched(fd);
        return;
    }
    unsock_lock();
    unsock_fd_set_locked(fd, s);
    unsock_unlock();
}

void unsock_fd_dup(int oldfd, int newfd)
{
    if (!unsock_fd_converted(oldfd) && !unsock_fd_converted(newfd)) {
        unsigned touched = unsock_fd_touched(oldfd);
        slot_clear_touched(newfd);
        if (touched != 0)
            unsock_fd_touch(newfd, touched);
        return;
    }
    unsock_lock();
    struct slot *o = slot_peek(oldfd);
    unsock_fd_set_locked(newfd, o ? atomic_load_explicit(&o->sock, memory_order_relaxed) : NULL);
    unsock_unlock();
}

int unsock_fd_next_converted(unsigned from)
{
    for (unsigned c = from >> CHUNK_BITS; c < NCHUNKS; c++) {
        struct slot *chunk = atomic_load_explicit(&chunks[c], memory_order_acquire);
        if (chunk == NULL)
            continue;
        unsigned i = c == (from >> CHUNK_BITS) ? (from & (CHUNK_SIZE - 1)) : 0;
        for (; i < CHUNK_SIZE; i++)
            if (atomic_load_explicit(&chunk[i].sock, memory_order_acquire) != NULL)
                return (int)((c << CHUNK_BITS) | i);
    }
    return -1;
}

void unsock_fd_touch(int fd, unsigned what)
{
    struct slot *s = slot_peek(fd);
    if (s == NULL) {
        unsock_lock();
        s = slot_get_locked(fd);
        unsock_unlock();
        if (s == NULL)
            return;
    }
    atomic_fetch_or_explicit(&s->touched, what, memory_order_relaxed);
}

unsigned unsock_fd_touched(int fd)
{
    struct slot *s = slot_peek(fd);
    return s != NULL ? atomic_load_explicit(&s->touched, memory_order_relaxed) : 0;
}

void unsock_sock_own_file_locked(struct usock *s, int fd, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    struct stat sst;
    if (fstat(fd, &sst) != 0)
        return;
    s->owns_file = true;
    s->file_dev = st.st_dev;
    s->file_ino = st.st_ino;
    s->sock_ino = sst.st_ino;
    strncpy(s->path, path, sizeof(s->path) - 1);
    s->owned_prev = NULL;
    s->owned_next = owned_head;
    if (owned_head)
        owned_head->owned_prev = s;
    owned_head = s;
}

void unsock_fdtable_exit(void)
{
    unsock_lock();
    for (unsigned c = 0; c < NCHUNKS && owned_head != NULL; c++) {
        struct slot *chunk = atomic_load_explicit(&chunks[c], memory_order_acquire);
        if (chunk == NULL)
            continue;
        for (unsigned i = 0; i < CHUNK_SIZE; i++) {
            struct usock *s = atomic_load_explicit(&chunk[i].sock, memory_order_relaxed);
            if (s == NULL || !s->owns_file)
                continue;
            int fd = (int)((c << CHUNK_BITS) | i);
            atomic_store_explicit(&chunk[i].sock, NULL, memory_order_release);
            s = sock_unref_locked(s);
            unsock_real.close(fd);
            if (s != NULL)
                sock_finish(s);
        }
    }
    unsock_unlock();
}
