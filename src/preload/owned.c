/* Socket files this process created and the removals it still owes. */
#include "owned.h"

#include "sockfile.h"

#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

static struct usock *owned_head; /* under the fd table's lock */

/* Socket files whose socket was still open in another process when this
 * one closed its last copy. The last holder may not be allowed to remove
 * the file (nginx's workers run as another user than the master that bound
 * it), so this process tries again later and when it exits. A leaf lock of
 * its own: files are added with or without the main lock held, by close
 * too, which a signal handler may call: a fixed ring, oldest first, no
 * malloc. */
#define PENDING_MAX 256
struct pending {
    dev_t file_dev;
    ino_t file_ino, sock_ino;
    int type;
    char path[UNSOCK_SUN_PATH_MAX + 1];
};
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending pending[PENDING_MAX];
static unsigned pending_first, pending_count;

/* Appends *p; false when the ring is full (the file then stays, to be
 * replaced as stale by the next bind). */
static bool pending_push(const struct pending *p)
{
    unsock_owned_lock();
    bool room = pending_count < PENDING_MAX;
    if (room)
        pending[(pending_first + pending_count++) % PENDING_MAX] = *p;
    unsock_owned_unlock();
    return room;
}

/* The oldest removal owed, taken off the ring; false if none. */
static bool pending_pop(struct pending *out)
{
    unsock_owned_lock();
    bool any = pending_count > 0;
    if (any) {
        *out = pending[pending_first];
        pending_first = (pending_first + 1) % PENDING_MAX;
        pending_count--;
    }
    unsock_owned_unlock();
    return any;
}

static bool release(const struct pending *p)
{
    return unsock_sockfile_release(p->path, p->file_dev, p->file_ino, p->sock_ino, p->type);
}

void unsock_owned_forget_locked(struct usock *s)
{
    if (s->owned_prev)
        s->owned_prev->owned_next = s->owned_next;
    else if (owned_head == s)
        owned_head = s->owned_next;
    if (s->owned_next)
        s->owned_next->owned_prev = s->owned_prev;
    s->owned_prev = s->owned_next = NULL;
}

/* The oldest few removals owed, tried again whenever this process lets go of another socket
 * file: the other holder is often gone by then (a forked child that inherited a listener of
 * another thread and exited), and a process that keeps closing listeners while it forks would
 * otherwise fill the ring and leave files behind until it exits, or for good past PENDING_MAX.
 * Those still served go back to the end. */
#define PENDING_RETRY 4
static void pending_retry(void)
{
    struct pending p;
    for (int i = 0; i < PENDING_RETRY && pending_pop(&p); i++) {
        if (release(&p)) {
            pending_push(&p);
            return; /* still served: the next call goes on with the next one */
        }
    }
}

void unsock_sock_finish(struct usock *s)
{
    if (s->owns_file) {
        pending_retry();
        struct pending p = {.file_dev = s->file_dev, .file_ino = s->file_ino, .sock_ino = s->sock_ino, .type = s->type};
        memcpy(p.path, s->path, sizeof(p.path));
        if (release(&p))
            pending_push(&p);
    }
    unsock_sock_free(s);
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

bool unsock_owned_any(void)
{
    return owned_head != NULL;
}

void unsock_owned_lock(void)
{
    unsock_busy_enter();
    pthread_mutex_lock(&pending_lock);
}

void unsock_owned_unlock(void)
{
    pthread_mutex_unlock(&pending_lock);
    unsock_busy_leave();
}

void unsock_owned_exit(void)
{
    struct pending p;
    while (pending_pop(&p)) /* the last try: nothing goes back on the ring */
        release(&p);
}
