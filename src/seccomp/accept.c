#define _GNU_SOURCE
#include "accept.h"

#include "notif.h"
#include "sockaddr.h"
#include "sockopts.h"
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct acceptance {
    struct call c;
    struct usock listener; /* a copy, with its own options */
};

/* Hand conn to the caller as accept would; 0 or an errno. */
static int deliver(struct acceptance *a, int conn, const struct sockaddr_un *un, socklen_t ulen)
{
    struct call *c = &a->c;
    int flags = c->n.data.nr == __NR_accept4 ? (int)c->n.data.args[3] : 0;
    char what[32];
    snprintf(what, sizeof(what), "accept on fd %d", c->fd);
    struct usock d;
    describe_accepted(&d, &a->listener, conn, un, ulen, what);
    uint64_t addr = c->n.data.args[1], lenp = c->n.data.args[2];
    int err = addr != 0 ? call_copy_out(c, addr, lenp, &d.peer, d.peer_len) : 0;
    if (err == 0 && fcntl(conn, F_SETFL, (flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0) != 0)
        err = errno;
    if (err == 0 && remember(conn, &d) != NULL)
        socks_unlock();
    forget_description(&d);
    if (err != 0)
        return err;
    return notif_install(c->listener, c->n.id, conn, -1, (flags & SOCK_CLOEXEC) != 0) < 0 ? errno : 0;
}

/* One accept by the supervisor on the caller's listener: a connection,
 * or -1 with errno (EAGAIN: none waiting). The listener's blocking mode is
 * the program's (one open file), so it is polled first, and accepts are
 * taken one at a time: no accept of ours ever blocks. */
static int take(struct acceptance *a, struct sockaddr_un *un, socklen_t *ulen)
{
    static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&one_at_a_time);
    struct pollfd pfd = {a->c.dup, POLLIN, 0};
    int conn = -1;
    *ulen = sizeof(*un);
    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN))
        conn = accept4(a->c.dup, (struct sockaddr *)un, ulen, SOCK_CLOEXEC | SOCK_NONBLOCK);
    else
        errno = EAGAIN;
    int saved = errno;
    pthread_mutex_unlock(&one_at_a_time);
    errno = saved;
    return conn;
}

static void finish_accept(struct acceptance *a, int conn, const struct sockaddr_un *un, socklen_t ulen)
{
    int err = deliver(a, conn, un, ulen);
    if (err != 0 && err != ENOENT)
        notif_fail(a->c.listener, a->c.n.id, err);
    close(conn);
}

static void release(struct acceptance *a)
{
    forget_description(&a->listener);
    close(a->c.dup);
    free(a);
}

/* A blocking accept: waits for a connection, answering INTERRUPTED when the
 * caller has a signal waiting. */
static void *accept_later(void *arg)
{
    struct acceptance *a = arg;
    for (;;) {
        int err = call_wait(&a->c, a->c.dup, POLLIN, INT64_MAX);
        if (err == 0) {
            struct sockaddr_un un;
            socklen_t ulen;
            int conn = take(a, &un, &ulen);
            if (conn >= 0) {
                finish_accept(a, conn, &un, ulen);
                break;
            }
            err = errno == EAGAIN || errno == EINTR ? 0 : errno;
        }
        if (err != 0) {
            if (err != ECANCELED)
                notif_fail(a->c.listener, a->c.n.id, err);
            break;
        }
    }
    release(a);
    return NULL;
}

void on_accept(struct call *c)
{
    struct usock *rec;
    if (!call_socket(c) || (rec = call_converted(c)) == NULL)
        return call_pass(c);
    c->flags = fcntl(c->dup, F_GETFL);
    struct acceptance *a = calloc(1, sizeof(*a));
    if (a != NULL) {
        a->c = *c;
        a->listener = (struct usock){.family = rec->family, .type = rec->type, .local = rec->local,
                                     .local_len = rec->local_len};
        for (size_t i = 0; i < rec->nopts; i++)
            unsock_opt_store(&a->listener, rec->opts[i].level, rec->opts[i].name, rec->opts[i].val, rec->opts[i].len);
    }
    socks_unlock();
    if (a == NULL)
        return notif_fail(c->listener, c->n.id, ENOMEM);
    struct sockaddr_un un;
    socklen_t ulen;
    int conn = take(a, &un, &ulen);
    if (conn >= 0)
        finish_accept(a, conn, &un, ulen);
    else if (errno != EAGAIN || (c->flags & O_NONBLOCK))
        notif_fail(c->listener, c->n.id, errno);
    else if (in_thread(accept_later, a)) {
        c->dup = -1; /* the thread's now */
        return;
    } else {
        notif_fail(c->listener, c->n.id, EAGAIN);
    }
    a->c.dup = -1; /* the caller's handle() closes it */
    release(a);
}
