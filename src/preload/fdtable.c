#include "fdtable.h"

#include "fdslot.h"

#include "deferred.h"

#include "log.h"
#include "real.h"
#include "owned.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Atomic(struct slot *) unsock_chunks[NCHUNKS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Non-zero while this thread is inside the table (taking or holding its
 * lock, or reusing its spare descriptions): a call that finds it set comes
 * from a signal handler that interrupted the shim on this thread, and must
 * neither take the lock nor touch what the interrupted code is changing.
 * Such a call does the real operation at once and leaves the bookkeeping
 * to the interrupted code (deferred.h), which does it before it returns. */
static _Thread_local volatile sig_atomic_t busy UNSOCK_TLS_HOT;

bool unsock_fd_nested(void)
{
    return busy != 0;
}

void unsock_busy_enter(void)
{
    busy++;
    atomic_signal_fence(memory_order_seq_cst);
}

void unsock_busy_leave(void)
{
    atomic_signal_fence(memory_order_seq_cst);
    busy--;
}

static void apply_deferred_locked(void);

void unsock_lock(void)
{
    unsock_busy_enter();
    pthread_mutex_lock(&lock);
}

void unsock_unlock(void)
{
    for (;;) {
        apply_deferred_locked();
        pthread_mutex_unlock(&lock);
        unsock_busy_leave();
        /* A handler that ran after the last look deferred something too. */
        if (busy != 0 || !unsock_deferred_any())
            return;
        unsock_busy_enter();
        pthread_mutex_lock(&lock);
    }
}

/* Held across fork(), so that the child never inherits a lock held. */
static void fork_prepare(void)
{
    unsock_lock();
    unsock_owned_lock();
}

static void fork_done(void)
{
    unsock_owned_unlock();
    unsock_unlock();
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
    if (s == NULL && !unsock_fd_nested()) {
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
    /* Nested in the shim (a signal handler): the socket as the kernel has it. */
    if (!unsock_fd_converted(fd) || unsock_fd_nested())
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
 * per connection would cost a malloc and a free each). A description is
 * freed by close, which a signal handler may call, so freeing never calls
 * free(): what the spares cannot hold goes on a list that the next
 * unsock_sock_new() frees, and a spare's own buffers are freed when it is
 * used again. The key only frees the spares with the thread. */
#define SPARES 4
static _Thread_local struct spares {
    size_t n;
    struct usock *v[SPARES];
    bool keyed;
} spares UNSOCK_TLS_HOT;
static pthread_key_t spares_key;
static bool have_spares_key;
static pthread_once_t spares_once = PTHREAD_ONCE_INIT;
static _Atomic(struct usock *) retired; /* linked by owned_next */

static void free_sock(struct usock *s)
{
    free(s->opts);
    free(s->peers);
    free(s);
}

static void spares_free(void *p)
{
    struct spares *sp = p;
    while (sp->n > 0)
        free_sock(sp->v[--sp->n]);
}

static void spares_key_make(void)
{
    have_spares_key = pthread_key_create(&spares_key, spares_free) == 0;
}

static void free_retired(void)
{
    struct usock *s = atomic_exchange_explicit(&retired, NULL, memory_order_acquire);
    while (s != NULL) {
        struct usock *next = s->owned_next;
        free_sock(s);
        s = next;
    }
}

struct usock *unsock_sock_new(int family, int type)
{
    if (atomic_load_explicit(&retired, memory_order_relaxed) != NULL)
        free_retired();
    unsock_busy_enter();
    struct usock *s = spares.n > 0 ? spares.v[--spares.n] : NULL;
    unsock_busy_leave();
    if (s != NULL) {
        free(s->opts);
        free(s->peers);
    } else if ((s = malloc(sizeof(*s))) == NULL) {
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->family = family;
    s->type = type;
    return s;
}

void unsock_sock_free(struct usock *s)
{
    unsock_busy_enter();
    bool kept = spares.n < SPARES;
    if (kept)
        spares.v[spares.n++] = s;
    unsock_busy_leave();
    if (kept) {
        if (!spares.keyed && !unsock_fd_nested()) {
            pthread_once(&spares_once, spares_key_make);
            spares.keyed = have_spares_key && pthread_setspecific(spares_key, &spares) == 0;
        }
        return;
    }
    s->owned_next = atomic_load_explicit(&retired, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&retired, &s->owned_next, s, memory_order_release,
                                                  memory_order_relaxed))
        ;
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

/* A change made by a signal handler while this thread is in the table. */
static void defer(enum unsock_deferred_kind kind, int fd, int from)
{
    struct slot *slot = unsock_slot_peek(fd);
    struct unsock_deferred d = {.kind = kind, .fd = fd, .from = from,
                                .gen = slot ? atomic_load_explicit(&slot->gen, memory_order_acquire) : 0};
    unsock_defer(&d);
}

/* Unless the interrupted code changed the descriptor since. Lock held. */
static void apply_deferred_locked(void)
{
    if (!unsock_deferred_any())
        return;
    struct unsock_deferred d;
    while (unsock_deferred_take(&d)) {
        struct slot *slot = unsock_slot_peek(d.fd);
        if (slot == NULL ? d.kind == DEFER_GONE : atomic_load_explicit(&slot->gen, memory_order_relaxed) != d.gen)
            continue;
        struct slot *from = d.kind == DEFER_DUP ? unsock_slot_peek(d.from) : NULL;
        unsock_fd_set_locked(d.fd, from ? atomic_load_explicit(&from->sock, memory_order_relaxed) : NULL);
        if ((slot = unsock_slot_peek(d.fd)) != NULL)
            unsock_deferred_applied(d.fd, d.gen, atomic_load_explicit(&slot->gen, memory_order_relaxed));
    }
}

int unsock_fd_close(int fd, int (*do_close)(int))
{
    if (unsock_fd_nested()) {
        int ret = do_close(fd);
        if (ret == 0 || errno != EBADF)
            defer(DEFER_GONE, fd, -1);
        return ret;
    }
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
    if (unsock_fd_nested())
        return;
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
    if (unsock_fd_nested()) { /* nested calls convert nothing: s is NULL */
        defer(DEFER_GONE, fd, -1);
        return;
    }
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
    if (unsock_fd_nested()) {
        defer(DEFER_DUP, newfd, oldfd);
        return;
    }
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
