/* What a control record asks of the new socket: its socket options, and
 * for a Firecracker multiplexer the host-side handshake. */
#include "firecracker.h"

#include "log.h"
#include "names.h"
#include "real.h"
#include "sockaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/tipc.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#ifndef SOL_VSOCK
#define SOL_VSOCK 287
#endif

/* The optlen of a parameter, as unsock.controlfile encodes its value. */
static socklen_t param_len(const struct unsock_control_param *p)
{
    bool vsock = p->group == AF_VSOCK || p->group == SOL_VSOCK;
    if ((p->group == SOL_SOCKET && (p->key == SO_RCVTIMEO || p->key == SO_SNDTIMEO)) ||
        (vsock && p->key == 6 /* SO_VM_SOCKETS_CONNECT_TIMEOUT(_OLD) */))
        return sizeof(struct timeval);
    if (p->group == SOL_TIPC && p->key == TIPC_GROUP_JOIN)
        return sizeof(struct tipc_group_req);
    if (vsock && (p->key == SO_VM_SOCKETS_BUFFER_MIN_SIZE || p->key == SO_VM_SOCKETS_BUFFER_MAX_SIZE))
        return sizeof(uint64_t); /* the kernel reads vsock buffer sizes as 64-bit */
    return sizeof(int32_t);
}

void unsock_control_apply_params(int fd, const struct unsock_control *c)
{
    for (size_t i = 0; i < 4; i++) {
        const struct unsock_control_param *p = &c->params[i];
        if (p->group == 0 && p->key == 0)
            continue;
        int r = unsock_real.setsockopt(fd, (int)p->group, (int)p->key, p->value, param_len(p));
        if (r != 0)
            unsock_debug("control file parameter %u:%u not applied: %s", p->group, p->key, strerror(errno));
    }
}

/* ---- Firecracker host-side handshake (firecracker docs/vsock.md) ---- */

/* sock's SO_SNDTIMEO or SO_RCVTIMEO in milliseconds, the default if unset. */
static int64_t timeout_ms(int sock, int name)
{
    struct timeval tv = {0};
    socklen_t len = sizeof(tv);
    if (unsock_real.getsockopt(sock, SOL_SOCKET, name, &tv, &len) != 0 || len != sizeof(tv) ||
        (tv.tv_sec == 0 && tv.tv_usec == 0))
        return UNSOCK_FC_DEFAULT_TIMEOUT_MS;
    int64_t ms = (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
    return ms > 0 ? ms : 1;
}

/* Wait until sock has `events` or the deadline passes (ETIMEDOUT). */
static int wait_until(int sock, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - unsock_now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = sock, .events = events};
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return 0; /* readiness, hang-up or error: the next call tells */
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static int fc_connect(int sock, const struct unsock_control *c, int64_t deadline)
{
    for (;;) {
        if (unsock_real.connect(sock, (const struct sockaddr *)c->proxy, c->proxy_len) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EINPROGRESS) {
            int err = 0;
            socklen_t len = sizeof(err);
            if (wait_until(sock, POLLOUT, deadline) != 0 ||
                unsock_real.getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                return -1;
            if (err != 0) {
                errno = err;
                return -1;
            }
            return 0;
        }
        if (errno != EAGAIN)
            return -1;
        /* The multiplexer's backlog is full: a unix socket has no readiness
         * for that, so retry after a short pause until the deadline. */
        if (unsock_now_ms() >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 5 * 1000 * 1000};
        if (nanosleep(&pause, NULL) != 0 && errno != EINTR)
            return -1;
    }
}

static int fc_send_all(int sock, const char *buf, size_t len, int64_t deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = unsock_real.sendto(sock, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_until(sock, POLLOUT, deadline) != 0)
                return -1;
        } else if (n < 0 && errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

/* Longest reply accepted: "OK " + a 32-bit port in decimal + "\n". */
#define FC_REPLY_MAX (3 + 10 + 1)

/* Read the reply one byte at a time up to and including its newline, so
 * that whatever the guest sends next stays in the socket for the program.
 * 0 if it is exactly "OK <1-10 digits>\n"; -1 with errno otherwise
 * (EPROTO for a malformed reply, ECONNRESET when the multiplexer closes). */
static int fc_read_reply(int sock, int64_t deadline, char *reply, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t r = unsock_real.recvfrom(sock, &ch, 1, MSG_DONTWAIT, NULL, NULL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_until(sock, POLLIN, deadline) != 0)
                    return -1;
                continue;
            }
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            reply[n] = '\0';
            errno = ECONNRESET;
            return -1;
        }
        reply[n++] = ch;
        reply[n] = '\0';
        bool ok;
        if (n <= 3)
            ok = ch == "OK "[n - 1];
        else if (ch == '\n')
            ok = n > 4; /* at least one digit */
        else
            ok = ch >= '0' && ch <= '9' && n < FC_REPLY_MAX;
        if (!ok || n + 1 >= cap) {
            errno = EPROTO;
            return -1;
        }
        if (ch == '\n' && n > 4)
            return 0;
    }
}

/* A printable copy of a (partial) reply for the debug log. */
static void printable(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0' && o + 5 < cap; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
    }
    out[o] = '\0';
}

int unsock_control_firecracker(int sock, const struct unsock_control *c, const char *path)
{
    struct sockaddr_vm vm;
    memcpy(&vm, c->dest, sizeof(vm));
    char proxy[sizeof(c->proxy)] = "";
    if (c->proxy_len > sizeof(sa_family_t)) {
        size_t plen = c->proxy_len - sizeof(sa_family_t);
        memcpy(proxy, c->proxy + sizeof(sa_family_t), plen < sizeof(proxy) - 1 ? plen : sizeof(proxy) - 1);
        if (proxy[0] == '\0' && plen > 1)
            proxy[0] = '@'; /* abstract name, as ss(8) shows it */
    }
    int64_t send_ms = timeout_ms(sock, SO_SNDTIMEO), recv_ms = timeout_ms(sock, SO_RCVTIMEO);

    int fl = unsock_real.fcntl(sock, F_GETFL);
    if (fl < 0)
        return -1;
    if ((fl & O_NONBLOCK) == 0 && unsock_real.fcntl(sock, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;

    int r = -1;
    char reply[FC_REPLY_MAX + 2] = "";
    unsock_debug("firecracker %s: connecting to multiplexer %s (bound %lld ms)", path, proxy, (long long)send_ms);
    if (fc_connect(sock, c, unsock_now_ms() + send_ms) != 0) {
        unsock_debug("firecracker %s: multiplexer %s: %s", path, proxy, strerror(errno));
        goto out;
    }
    char line[32];
    int len = snprintf(line, sizeof(line), "CONNECT %u\n", vm.svm_port);
    if (len < 0 || (size_t)len >= sizeof(line)) {
        errno = EINVAL;
        goto out;
    }
    unsock_debug("firecracker %s: sending CONNECT %u", path, vm.svm_port);
    if (fc_send_all(sock, line, (size_t)len, unsock_now_ms() + send_ms) != 0) {
        unsock_debug("firecracker %s: sending CONNECT %u: %s", path, vm.svm_port, strerror(errno));
        goto out;
    }
    unsock_debug("firecracker %s: waiting for OK (bound %lld ms)", path, (long long)recv_ms);
    if (fc_read_reply(sock, unsock_now_ms() + recv_ms, reply, sizeof(reply)) != 0) {
        char shown[4 * sizeof(reply) + 1];
        printable(reply, shown, sizeof(shown));
        unsock_debug("firecracker %s: reply \"%s\": %s", path, shown,
                     errno == EPROTO ? "not OK <n>" : strerror(errno));
        goto out;
    }
    reply[strlen(reply) - 1] = '\0';
    unsock_debug("firecracker %s: multiplexer %s answered \"%s\": connected to guest port %u", path, proxy,
                 reply, vm.svm_port);
    r = 0;
out:;
    int saved = errno;
    if ((fl & O_NONBLOCK) == 0 && unsock_real.fcntl(sock, F_SETFL, fl) != 0) {
        if (r == 0)
            saved = errno;
        r = -1;
    }
    if (r != 0 && saved != ETIMEDOUT && saved != EACCES && saved != EPERM)
        saved = ECONNREFUSED;
    errno = saved;
    return r;
}
