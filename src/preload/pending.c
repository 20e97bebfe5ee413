#define _GNU_SOURCE /* dup3 */
#include "pending.h"

#include "convert.h"
#include "log.h"
#include "real.h"
#include "sockaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

/* How long the background connect tries before it gives up with ETIMEDOUT,
 * about as long as TCP retries a SYN by default. */
#define CONNECT_LATER_MS 120000

struct attempt {
    int fd, tmp;
    int waiting_fd; /* the socket fd holds meanwhile: our own descriptor of it */
    unsigned id;
    ino_t waiting;
    struct sockaddr_un un;
    socklen_t len;
};

static atomic_uint attempts;

/* A socket that reports nothing to poll or epoll: listening at a name the
 * kernel picks, which nobody knows. */
static int waiting_socket(int nonblock)
{
    int w = unsock_real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | nonblock, 0);
    sa_family_t family = AF_UNIX;
    if (w >= 0 && (unsock_real.bind(w, (const struct sockaddr *)&family, sizeof(family)) != 0 ||
                   listen(w, 0) != 0)) {
        unsock_close_keep_errno(w);
        return -1;
    }
    return w;
}

/* Whether fd still holds the waiting socket of attempt a; lock held. */
static struct usock *still_waiting(const struct attempt *a)
{
    struct usock *s = unsock_fd_lock(a->fd);
    if (s == NULL)
        return NULL;
    struct stat st;
    if (s->connecting != a->id || fstat(a->fd, &st) != 0 || st.st_ino != a->waiting) {
        unsock_unlock();
        return NULL;
    }
    return s;
}

/* Put the outcome in fd's place: tmp, connected, or (err) a socket that is
 * writable at once, whose SO_ERROR says err. */
static void finish(const struct attempt *a, int err)
{
    int put = a->tmp;
    if (err != 0) {
        unsock_real.close(a->tmp);
        put = unsock_real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    struct usock *s = still_waiting(a);
    if (s == NULL) {
        if (put >= 0)
            unsock_real.close(put);
        return;
    }
    int fdflags = unsock_real.fcntl(a->fd, F_GETFD), fl = unsock_real.fcntl(a->fd, F_GETFL);
    if (put >= 0 && fl >= 0)
        unsock_real.fcntl(put, F_SETFL, fl & O_NONBLOCK);
    bool swapped = put >= 0 && fdflags >= 0 &&
                   unsock_real.dup3(put, a->fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) >= 0;
    s->connecting = 0;
    s->connect_error = swapped ? err : ECONNREFUSED;
    unsock_unlock();
    if (put >= 0)
        unsock_real.close(put);
    int epfd;
    uint32_t events;
    uint64_t data;
    if (swapped && unsock_fd_epoll_get(a->fd, &epfd, &events, &data)) {
        struct epoll_event ev = {.events = events, .data.u64 = data};
        unsock_real.epoll_ctl(epfd, EPOLL_CTL_ADD, a->fd, &ev);
    }
    if (err == 0)
        unsock_debug("connect fd %d: connected, the backlog had room", a->fd);
    else
        unsock_debug("connect fd %d: %s while the backlog was full", a->fd, strerror(err));
}

/* poll and select calls asleep on the waiting socket look at fd again
 * when it wakes them (they take fd's file anew each round): shutting it
 * down wakes every one. */
static void wake_waiters(int waiting_fd)
{
    shutdown(waiting_fd, SHUT_RDWR);
    unsock_real.close(waiting_fd);
}

static void *connect_later(void *arg)
{
    struct attempt *a = arg;
    /* Blocking connects that wait for room in the backlog, a fifth of a
     * second at a time, so that a program that closed fd is noticed. */
    struct timeval step = {.tv_sec = 0, .tv_usec = 200000}, saved;
    socklen_t slen = sizeof(saved);
    int fl = unsock_real.fcntl(a->tmp, F_GETFL), err = 0;
    bool timeo = unsock_real.getsockopt(a->tmp, SOL_SOCKET, SO_SNDTIMEO, &saved, &slen) == 0;
    if (fl < 0 || !timeo || unsock_real.fcntl(a->tmp, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
        unsock_real.setsockopt(a->tmp, SOL_SOCKET, SO_SNDTIMEO, &step, sizeof(step)) != 0)
        err = errno;
    for (int64_t end = unsock_now_ms() + CONNECT_LATER_MS; err == 0;) {
        if (unsock_real.connect(a->tmp, (const struct sockaddr *)&a->un, a->len) == 0)
            break;
        if (errno != EAGAIN && errno != EINTR)
            err = errno == ENOENT ? ECONNREFUSED : errno;
        else if (unsock_now_ms() > end)
            err = ETIMEDOUT;
        else if (still_waiting(a) != NULL)
            unsock_unlock();
        else
            err = ECANCELED;
    }
    if (err == 0 && (unsock_real.fcntl(a->tmp, F_SETFL, fl) != 0 ||
                     unsock_real.setsockopt(a->tmp, SOL_SOCKET, SO_SNDTIMEO, &saved, sizeof(saved)) != 0))
        err = errno;
    finish(a, err);
    wake_waiters(a->waiting_fd);
    free(a);
    return NULL;
}

int unsock_connect_later(int fd, int tmp, struct usock *s, const struct sockaddr_un *un, socklen_t len)
{
    struct attempt *a = calloc(1, sizeof(*a));
    int fl = unsock_real.fcntl(tmp, F_GETFL);
    int w = a != NULL && fl >= 0 ? waiting_socket(fl & O_NONBLOCK) : -1;
    int mine = w >= 0 ? unsock_real.fcntl(w, F_DUPFD_CLOEXEC, 0) : -1;
    struct stat st;
    if (mine < 0 || fstat(w, &st) != 0) {
        int saved = errno;
        if (w >= 0)
            unsock_real.close(w);
        if (mine >= 0)
            unsock_real.close(mine);
        free(a);
        errno = saved;
        return -1;
    }
    *a = (struct attempt){.fd = fd, .tmp = tmp, .waiting_fd = mine, .waiting = st.st_ino, .un = *un, .len = len};
    a->id = atomic_fetch_add(&attempts, 1) + 1;
    s->connecting = a->id;
    if (unsock_install(w, fd, s, NULL) != 0) {
        unsock_close_keep_errno(mine);
        free(a);
        return -1;
    }
    pthread_t t;
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        rc = pthread_create(&t, &attr, connect_later, a);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        finish(a, EAGAIN); /* the program's socket says so in SO_ERROR */
        wake_waiters(a->waiting_fd);
        free(a);
    }
    errno = EINPROGRESS;
    return -1;
}
