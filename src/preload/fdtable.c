#include "fdtable.h"

#include "fdslot.h"

#include "log.h"
#include "real.h"
#include "owned.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Atomic(struct slot *) unsock_chunks[NCHUNKS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void unsock_lock(void)
{
    pthread_mutex_lock(&lock);
}

void unsock_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

/* Held across fork(), so that the child never inherits a lock held. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&lock);
    unsock_owned_lock();
}

static void fork_done(void)
{
    unsock_owned_unlock();
    pthread_mutex_unlock(&lock);
}

static atomic_int cached_pid; /* 0: not known yet */

static void fork_child(void)
{
    atomic_store_explicit(&cached_pid, 0, memory_order_relaxed);
    fork_done();
}

pid_t unsock_pid(void)
{
    pid_t pid = atomic_load_explicit(&cached_pid, memory_order_relaxed);
    if (pid == 0) {
        pid = getpid();
        atomic_store_explicit(&cached_pid, pid, memory_order_relaxed);
    }
    return pid;
}

void unsock_fdtable_init(void)
{
    pthread_atfork(fork_prepare, fork_done, fork_child);
}

/* The slot of fd, allocating its chunk; lock held. NULL only without memory. */
struct slot *unsock_slot_get_locked(int fd)
{
    struct slot *s = unsock_slot_peek(fd);
    if (s != NULL || fd < 0)
        return s;
    struct slot *chunk = calloc(CHUNK_SIZE, sizeof(*chunk));
    if (chunk == NULL)
        return NULL;
    atomic_store_explicit(&unsock_chunks[(unsigned)fd >> CHUNK_BITS], chunk, memory_order_release);
    return &chunk[(unsigned)fd & (CHUNK_SIZE - 1)];
}

/* The slot of fd, allocating its chunk if needed; NULL only without memory. */
struct slot *unsock_slot_get(int fd)
{
    struct slot *s = unsock_slot_peek(fd);
    if (s == NULL) {
        unsock_lock();
        s = unsock_slot_get_locked(fd);
        unsock_unlock();
    }
    return s;
}

bool unsock_fd_early(int fd)
{
    return (unsock_fd_converted_type(fd) & UNSOCK_EARLY) != 0;
}

bool unsock_fd_converted(int fd)
{
    struct slot *s = unsock_slot_peek(fd);
    return s != NULL && atomic_load_explicit(&s->sock, memory_order_acquire) != NULL;
}

int unsock_fd_converted_type(int fd)
{
    struct slot *s = unsock_slot_peek(fd);
    return s != NULL ? atomic_load_explicit(&s->sock_type, memory_order_relaxed) : 0;
}

struct usock *unsock_fd_lock(int fd)
{
    if (!unsock_fd_converted(fd))
        return NULL;
    unsock_lock();
    struct usock *sock = atomic_load_explicit(&unsock_slot_peek(fd)->sock, memory_order_relaxed);
    if (sock == NULL)
        unsock_unlock();
    return sock;
}

bool unsock_fd_connecting(int fd)
{
    struct usock *s = unsock_fd_lock(fd);
    if (s == NULL)
        return false;
    bool connecting = s->connecting != 0;
    unsock_unlock();
    return connecting;
}

/* Descriptions freed in this thread, for the next ones it makes (a socket
 * per connection would cost a malloc and a free each); freed with the
 * thread. */
#define SPARES 4
struct spares {
    size_t n;
    struct usock *v[SPARES];
};
static pthread_key_t spares_key;
static bool have_spares_key;
static pthread_once_t spares_once = PTHREAD_ONCE_INIT;

static void spares_free(void *p)
{
    struct spares *sp = p;
    for (size_t i = 0; i < sp->n; i++)
        free(sp->v[i]);
    free(sp);
}

static void spares_key_make(void)
{
    have_spares_key = pthread_key_create(&spares_key, spares_free) == 0;
}

/* This thread's spares; made if make and not there yet. NULL if none. */
static struct spares *spares(bool make)
{
    pthread_once(&spares_once, spares_key_make);
    if (!have_spares_key)
        return NULL;
    struct spares *sp = pthread_getspecific(spares_key);
    if (sp == NULL && make && (sp = calloc(1, sizeof(*sp))) != NULL && pthread_setspecific(spares_key, sp) != 0) {
        free(sp);
        sp = NULL;
    }
    return sp;
}

struct usock *unsock_sock_new(int family, int type)
{
    struct spares *sp = spares(false);
    struct usock *s = sp != NULL && sp->n > 0 ? sp->v[--sp->n] : malloc(sizeof(*s));
    if (s != NULL) {
        memset(s, 0, sizeof(*s));
        s->family = family;
        s->type = type;
    }
    return s;
}

/* Drop one reference; the last one of a file owner may remove the file,
 * which is only decided once the caller's descriptor is really closed, so
 * the caller gets the socket back to finish with unsock_sock_finish(). */
static struct usock *sock_unref_locked(struct usock *s)
{
    if (--s->refs > 0)
        return NULL;
    unsock_owned_forget_locked(s);
    return s;
}

void unsock_sock_free(struct usock *s)
{
    free(s->opts);
    free(s->peers);
    struct spares *sp = spares(true);
    if (sp != NULL && sp->n < SPARES)
        sp->v[sp->n++] = s;
    else
        free(s);
}

/* Forget what the program did to the descriptor's previous file. */
static void slot_forget(struct slot *slot)
{
    atomic_store_explicit(&slot->created, 0, memory_order_relaxed);
    atomic_store_explicit(&slot->sock_type, 0, memory_order_relaxed);
    atomic_store_explicit(&slot->touched, 0, memory_order_relaxed);
    atomic_store_explicit(&slot->ep_fd, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&slot->gen, 1, memory_order_release);
}

void unsock_fd_set_locked(int fd, struct usock *s)
{
    struct slot *slot = unsock_slot_get_locked(fd);
    if (slot == NULL)
        return;
    struct usock *old = atomic_load_explicit(&slot->sock, memory_order_relaxed);
    if (s != NULL)
        s->refs++;
    atomic_store_explicit(&slot->sock, s, memory_order_release);
    slot_forget(slot);
    if (s != NULL)
        atomic_store_explicit(&slot->sock_type, s->type | (s->early ? UNSOCK_EARLY : 0), memory_order_relaxed);
    if (old != NULL && (old = sock_unref_locked(old)) != NULL)
        unsock_sock_finish(old);
}

static int created_word(int domain, int type)
{
    return domain << 16 | (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC));
}

void unsock_fd_attach_early(int fd, struct usock *s, int domain, int type)
{
    unsock_lock();
    unsock_fd_set_locked(fd, s);
    struct slot *slot = unsock_slot_peek(fd);
    if (slot != NULL)
        atomic_store_explicit(&slot->created, created_word(domain, type), memory_order_relaxed);
    unsock_unlock();
}

void unsock_fd_settle_locked(int fd, struct usock *s)
{
    s->early = false;
    struct slot *slot = unsock_slot_peek(fd);
    if (slot != NULL)
        atomic_store_explicit(&slot->sock_type, s->type, memory_order_relaxed);
    /* Copies of the descriptor (dup) say so too: the mark is what tells. */
    for (int d = s->refs > 1 ? unsock_fd_next_converted(0) : -1; d >= 0; d = unsock_fd_next_converted((unsigned)d + 1))
        if ((slot = unsock_slot_peek(d)) != NULL && atomic_load_explicit(&slot->sock, memory_order_relaxed) == s)
            atomic_store_explicit(&slot->sock_type, s->type, memory_order_relaxed);
}

void unsock_fd_materialized(int fd, int domain, int type)
{
    unsock_lock();
    struct slot *slot = unsock_slot_peek(fd);
    struct usock *old = slot ? atomic_load_explicit(&slot->sock, memory_order_relaxed) : NULL;
    if (slot != NULL) {
        atomic_store_explicit(&slot->sock, NULL, memory_order_release);
        atomic_store_explicit(&slot->sock_type, 0, memory_order_relaxed);
        atomic_store_explicit(&slot->created, created_word(domain, type), memory_order_relaxed);
    }
    if (old != NULL && (old = sock_unref_locked(old)) != NULL)
        unsock_sock_finish(old);
    unsock_unlock();
}

/* fd was closed or now refers to another file. */
static void slot_forget_fd(int fd)
{
    struct slot *slot = unsock_slot_peek(fd);
    if (slot != NULL)
        slot_forget(slot);
}

int unsock_fd_close(int fd, int (*do_close)(int))
{
    struct usock *s = NULL;
    /* Closing a descriptor that was never converted takes no lock. */
    if (!unsock_fd_converted(fd)) {
        slot_forget_fd(fd);
    } else {
        unsock_lock();
        struct slot *slot = unsock_slot_peek(fd);
        struct usock *old = atomic_load_explicit(&slot->sock, memory_order_relaxed);
        atomic_store_explicit(&slot->sock, NULL, memory_order_release);
        slot_forget(slot);
        if (old != NULL)
            s = sock_unref_locked(old);
        unsock_unlock();
    }
    int ret = do_close(fd);
    if (s != NULL) {
        int saved = errno;
        unsock_sock_finish(s);
        errno = saved;
    }
    return ret;
}

void unsock_fd_created(int fd, int domain, int type)
{
    unsock_fd_set(fd, NULL);
    if (domain != AF_INET && domain != AF_INET6)
        return;
    struct slot *slot = unsock_slot_get(fd);
    if (slot == NULL)
        return;
    atomic_store_explicit(&slot->created, created_word(domain, type), memory_order_relaxed);
}

int unsock_fd_created_type(int fd, int *domain)
{
    struct slot *slot = unsock_slot_peek(fd);
    int created = slot ? atomic_load_explicit(&slot->created, memory_order_relaxed) : 0;
    *domain = created >> 16;
    return created & 0xffff;
}

void unsock_fd_set(int fd, struct usock *s)
{
    if (s == NULL && !unsock_fd_converted(fd)) {
        slot_forget_fd(fd);
        return;
    }
    unsock_lock();
    unsock_fd_set_locked(fd, s);
    unsock_unlock();
}

void unsock_fd_dup(int oldfd, int newfd)
{
    if (!unsock_fd_converted(oldfd) && !unsock_fd_converted(newfd)) {
        uint64_t touched = unsock_fd_touched(oldfd);
        slot_forget_fd(newfd);
        if (touched != 0)
            unsock_fd_touch(newfd, touched);
        return;
    }
    unsock_lock();
    struct slot *o = unsock_slot_peek(oldfd);
    unsock_fd_set_locked(newfd, o ? atomic_load_explicit(&o->sock, memory_order_relaxed) : NULL);
    unsock_unlock();
}

int unsock_fd_next_converted(unsigned from)
{
    for (unsigned c = from >> CHUNK_BITS; c < NCHUNKS; c++) {
        struct slot *chunk = atomic_load_explicit(&unsock_chunks[c], memory_order_acquire);
        if (chunk == NULL)
            continue;
        unsigned i = c == (from >> CHUNK_BITS) ? (from & (CHUNK_SIZE - 1)) : 0;
        for (; i < CHUNK_SIZE; i++)
            if (atomic_load_explicit(&chunk[i].sock, memory_order_acquire) != NULL)
                return (int)((c << CHUNK_BITS) | i);
    }
    return -1;
}

void unsock_fd_touch(int fd, uint64_t what)
{
    struct slot *s = unsock_slot_get(fd);
    if (s == NULL)
        return;
    atomic_fetch_or_explicit(&s->touched, what, memory_order_relaxed);
}

uint64_t unsock_fd_touched(int fd)
{
    struct slot *s = unsock_slot_peek(fd);
    return s != NULL ? atomic_load_explicit(&s->touched, memory_order_relaxed) : 0;
}

void unsock_fdtable_exit(void)
{
    unsock_lock();
    for (unsigned c = 0; c < NCHUNKS && unsock_owned_any(); c++) {
        struct slot *chunk = atomic_load_explicit(&unsock_chunks[c], memory_order_acquire);
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
                unsock_sock_finish(s);
        }
    }
    unsock_unlock();
    unsock_owned_exit();
}
