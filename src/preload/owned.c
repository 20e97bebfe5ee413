/* Socket files this process created and the removals it still owes. */
#include "owned.h"

#include "sockfile.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct usock *owned_head; /* under the fd table's lock */

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
static struct pending *pending_head, *pending_tail; /* oldest first */
static unsigned pending_count;

/* Appends p (pending_lock held); false when the list is full. */
static bool pending_push_locked(struct pending *p)
{
    if (pending_count >= PENDING_MAX)
        return false;
    p->next = NULL;
    if (pending_tail != NULL)
        pending_tail->next = p;
    else
        pending_head = p;
    pending_tail = p;
    pending_count++;
    return true;
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
    if (pending_push_locked(p))
        p = NULL;
    pthread_mutex_unlock(&pending_lock);
    free(p);
}

/* The oldest few removals owed, tried again whenever this process lets go of another socket
 * file: the other holder is often gone by then (a forked child that inherited a listener of
 * another thread and exited), and a process that keeps closing listeners while it forks would
 * otherwise fill the list and leave files behind until it exits, or for good past PENDING_MAX.
 * Those still served go back to the end of the list. */
#define PENDING_RETRY 4
static void pending_retry(void)
{
    for (int i = 0; i < PENDING_RETRY; i++) {
        pthread_mutex_lock(&pending_lock);
        struct pending *p = pending_head;
        if (p != NULL) {
            pending_head = p->next;
            if (pending_head == NULL)
                pending_tail = NULL;
            pending_count--;
        }
        pthread_mutex_unlock(&pending_lock);
        if (p == NULL)
            return;
        bool kept = unsock_sockfile_release(p->path, p->file_dev, p->file_ino, p->sock_ino, p->type);
        if (kept) {
            pthread_mutex_lock(&pending_lock);
            if (pending_push_locked(p))
                p = NULL;
            pthread_mutex_unlock(&pending_lock);
        }
        free(p);
        if (kept)
            return; /* still served: the next call goes on with the next one */
    }
}

void unsock_sock_finish(struct usock *s)
{
    if (s->owns_file) {
        pending_retry();
        if (unsock_sockfile_release(s->path, s->file_dev, s->file_ino, s->sock_ino, s->type))
            pending_add(s);
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
    pthread_mutex_lock(&pending_lock);
}

void unsock_owned_unlock(void)
{
    pthread_mutex_unlock(&pending_lock);
}

void unsock_owned_exit(void)
{
    pthread_mutex_lock(&pending_lock);
    struct pending *p = pending_head;
    pending_head = pending_tail = NULL;
    pending_count = 0;
    pthread_mutex_unlock(&pending_lock);
    while (p != NULL) {
        struct pending *next = p->next;
        unsock_sockfile_release(p->path, p->file_dev, p->file_ino, p->sock_ino, p->type);
        free(p);
        p = next;
    }
}
