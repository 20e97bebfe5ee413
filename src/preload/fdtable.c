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
    _Atomic uint64_t touched;
    atomic_uint gen;          /* changes whenever the descriptor is closed or replaced */
    atomic_int created;       /* domain << 16 | type of an IP socket made by socket(), else 0 */
    atomic_int sock_type;     /* sock->type, readable without the lock; 0 if not converted */
    /* The epoll registration of a descriptor not converted yet. */
    atomic_int ep_fd;         /* the epoll descriptor + 1; 0 for none */
    atomic_uint ep_gen;       /* the epoll descriptor's gen when registered */
    atomic_uint ep_events;
    _Atomic uint64_t ep_data;
};

static _Atomic(struct slot *) chunks[NCHUNKS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct usock *owned_head;

/* Socket files whose socket was still open in another process when this
 * one closed its last copy. The last holder may not be allowed to remove
 * the file (nginx's workers run as another user than the master that bound
 * it), so this process tries again when it exits. A leaf lock of its own:
 * files are added with or without the main lock held. */
#define PENDING_MAX 256
struct pending {
    struct pending *next;
    dev_t file_dev;
    ino_t file_ino, sock_ino;
    int type;
    char path[UNSOCK_SUN_PATH_MAX + 1];
};
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pending_head;
static unsigned pending_count;

void unsock_lock(void)
{
    pthread_mutex_lock(&lock);
}

void unsock_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&lock);
    pthread_mutex_lock(&pending_lock);
}

static void fork_done(void)
{
    pthread_mutex_unlock(&pending_lock);
    pthread_mutex_unlock(&lock);
}

void unsock_fdtable_init(void)
{
    pthread_atfork(fork_prepare, fork_done, fork_done);
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

/* The slot of fd, allocating its chunk if needed; NULL only without memory. */
static struct slot *slot_get(int fd)
{
    struct slot *s = slot_peek(fd);
    if (s == NULL) {
        unsock_lock();
        s = slot_get_locked(fd);
        unsock_unlock();
    }
    return s;
}

bool unsock_fd_converted(int fd)
{
    struct slot *s = slot_peek(fd);
    return s != NULL && atomic_load_explicit(&s->sock, memory_order_acquire) != NULL;
}

int unsock_fd_converted_type(int fd)
{
    struct slot *s = slot_peek(fd);
    return s != NULL ? atomic_load_explicit(&s->sock_type, memory_order_relaxed) : 0;
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
    free(s->peers);
    free(s);
}

static void pending_add(const struct usock *s)
{
    struct pending *p = malloc(sizeof(*p));
    if (p == NULL)
        return; /* the file stays, to be replaced as stale by the next bind */
    p->file_dev = s->file_dev;
    p->file_ino = s->file_ino;
    p->sock_ino = s->sock_ino;
    p->type = s->type;
    memcpy(p->path, s->path, sizeof(p->path));
    pthread_mutex_lock(&pending_lock);
    if (pending_count < PENDING_MAX) {
        p->next = pending_head;
        pending_head = p;
        pending_count++;
        p = NULL;
    }
    pthread_mutex_unlock(&pending_lock);
    free(p);
}

static void sock_finish(struct usock *s)
{
    if (s->owns_file && unsock_sockfile_release(s->path, s->file_dev, s->file_ino, s->sock_ino, s->type))
        pending_add(s);
    unsock_sock_free(s);
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
    struct slot *slot = slot_get_locked(fd);
    if (slot == NULL)
        return;
    struct usock *old = atomic_load_explicit(&slot->sock, memory_order_relaxed);
    if (s != NULL)
        s->refs++;
    atomic_store_explicit(&slot->sock, s, memory_order_release);
    slot_forget(slot);
    if (s != NULL)
        atomic_store_explicit(&slot->sock_type, s->type, memory_order_relaxed);
    if (old != NULL && (old = sock_unref_locked(old)) != NULL)
        sock_finish(old);
}

/* fd was closed or now refers to another file. */
static void slot_forget_fd(int fd)
{
    struct slot *slot = slot_peek(fd);
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
        struct slot *slot = slot_peek(fd);
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
        sock_finish(s);
        errno = saved;
    }
    return ret;
}

void unsock_fd_created(int fd, int domain, int type)
{
    unsock_fd_set(fd, NULL);
    if (domain != AF_INET && domain != AF_INET6)
        return;
    struct slot *slot = slot_get(fd);
    if (slot == NULL)
        return;
    atomic_store_explicit(&slot->created, domain << 16 | (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)),
                          memory_order_relaxed);
}

int unsock_fd_created_type(int fd, int *domain)
{
    struct slot *slot = slot_peek(fd);
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

void unsock_fd_touch(int fd, uint64_t what)
{
    struct slot *s = slot_get(fd);
    if (s == NULL)
        return;
    atomic_fetch_or_explicit(&s->touched, what, memory_order_relaxed);
}

uint64_t unsock_fd_touched(int fd)
{
    struct slot *s = slot_peek(fd);
    return s != NULL ? atomic_load_explicit(&s->touched, memory_order_relaxed) : 0;
}

void unsock_fd_epoll_add(int fd, int epfd, uint32_t events, uint64_t data)
{
    struct slot *s = slot_get(fd), *e = slot_get(epfd);
    if (s == NULL || e == NULL)
        return;
    int had = atomic_load_explicit(&s->ep_fd, memory_order_relaxed);
    if (had != 0 && had != epfd + 1)
        unsock_debug("fd %d: in more than one epoll set, only the one of fd %d is carried over", fd, epfd);
    atomic_store_explicit(&s->ep_events, events, memory_order_relaxed);
    atomic_store_explicit(&s->ep_data, data, memory_order_relaxed);
    atomic_store_explicit(&s->ep_gen, atomic_load_explicit(&e->gen, memory_order_acquire), memory_order_relaxed);
    atomic_store_explicit(&s->ep_fd, epfd + 1, memory_order_release);
}

void unsock_fd_epoll_del(int fd, int epfd)
{
    struct slot *s = slot_peek(fd);
    int want = epfd + 1;
    if (s != NULL)
        atomic_compare_exchange_strong(&s->ep_fd, &want, 0);
}

bool unsock_fd_epoll_get(int fd, int *epfd, uint32_t *events, uint64_t *data)
{
    struct slot *s = slot_peek(fd);
    int ep = s ? atomic_load_explicit(&s->ep_fd, memory_order_acquire) - 1 : -1;
    struct slot *e = slot_peek(ep);
    /* The epoll descriptor must not have been closed since: its number
     * may now stand for another epoll set, or for no epoll set at all. */
    if (ep < 0 || e == NULL ||
        atomic_load_explicit(&e->gen, memory_order_acquire) != atomic_load_explicit(&s->ep_gen, memory_order_relaxed))
        return false;
    *epfd = ep;
    *events = atomic_load_explicit(&s->ep_events, memory_order_relaxed);
    *data = atomic_load_explicit(&s->ep_data, memory_order_relaxed);
    return true;
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
    pthread_mutex_lock(&pending_lock);
    struct pending *p = pending_head;
    pending_head = NULL;
    pending_count = 0;
    pthread_mutex_unlock(&pending_lock);
    while (p != NULL) {
        struct pending *next = p->next;
        unsock_sockfile_release(p->path, p->file_dev, p->file_ino, p->sock_ino, p->type);
        free(p);
        p = next;
    }
}
