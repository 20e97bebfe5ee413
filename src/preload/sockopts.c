#define _GNU_SOURCE /* struct ucred */
#include "sockopts.h"

#include "log.h"
#include "real.h"
#include "peer.h"
#include "sockaddr.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bool unsock_opt_emulated(int level, int name)
{
    return level == IPPROTO_TCP || level == IPPROTO_IP || level == IPPROTO_IPV6 ||
           (level == SOL_SOCKET && name == SO_REUSEPORT);
}

static struct unsock_opt *find(const struct usock *s, int level, int name)
{
    for (size_t i = 0; i < s->nopts; i++)
        if (s->opts[i].level == level && s->opts[i].name == name)
            return &s->opts[i];
    return NULL;
}

bool unsock_opt_enabled(const struct usock *s, int level, int name)
{
    const struct unsock_opt *o = find(s, level, name);
    int v = 0;
    if (o != NULL && o->len >= sizeof(v))
        memcpy(&v, o->val, sizeof(v));
    return v != 0;
}

int unsock_opt_store(struct usock *s, int level, int name, const void *val, socklen_t len)
{
    struct unsock_opt *o = find(s, level, name);
    if (o == NULL) {
        if (s->nopts == s->capopts) {
            size_t cap = s->capopts ? s->capopts * 2 : 8;
            struct unsock_opt *n = realloc(s->opts, cap * sizeof(*n));
            if (n == NULL) {
                errno = ENOMEM;
                return -1;
            }
            s->opts = n;
            s->capopts = cap;
        }
        o = &s->opts[s->nopts++];
        o->level = level;
        o->name = name;
    }
    if (len > sizeof(o->val))
        len = sizeof(o->val);
    memcpy(o->val, val, len);
    o->len = len;
    return 0;
}

static int scratch_socket(const struct usock *s)
{
    return unsock_real.socket(s->family, s->type | SOCK_CLOEXEC, s->protocol);
}

int unsock_opt_fresh(const struct usock *s, int level, int name, void *val, socklen_t *len)
{
    int scratch = scratch_socket(s);
    if (scratch < 0)
        return -1;
    int r = unsock_real.getsockopt(scratch, level, name, val, len);
    unsock_close_keep_errno(scratch);
    return r;
}

/* Switches whose value is any int: stored without asking the kernel, as
 * they are set per request on busy servers. */
static bool is_switch(int level, int name)
{
    return level == IPPROTO_TCP && (name == TCP_NODELAY || name == TCP_CORK || name == TCP_QUICKACK);
}

int unsock_opt_set(struct usock *s, int level, int name, const void *val, socklen_t len)
{
    /* The kernel fixes the address family of a socket once it has a port,
     * and a converted socket has one unless it is early (bound or connected). */
    if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && s->family == AF_INET6 && !s->early) {
        errno = EINVAL;
        return -1;
    }
    if (is_switch(level, name) && s->type == SOCK_STREAM) {
        if (val == NULL) {
            errno = EFAULT;
            return -1;
        }
        if (len < sizeof(int)) {
            errno = EINVAL;
            return -1;
        }
        int v;
        memcpy(&v, val, sizeof(v));
        v = v != 0;
        return unsock_opt_store(s, level, name, &v, sizeof(v));
    }
    int fd = scratch_socket(s);
    if (fd < 0)
        return -1;
    unsigned char back[sizeof(((struct unsock_opt *)0)->val)];
    socklen_t backlen = sizeof(back);
    int r = unsock_real.setsockopt(fd, level, name, val, len);
    bool readable = r == 0 && unsock_real.getsockopt(fd, level, name, back, &backlen) == 0;
    if (r == 0 && s->early && (!readable || backlen >= sizeof(back) || len > sizeof(back)))
        r = UNSOCK_OPT_NOT_KEPT; /* write-only, or maybe too long to keep */
    else if (readable)
        r = unsock_opt_store(s, level, name, back, backlen);
    else if (r == 0)
        r = unsock_opt_store(s, level, name, val, len); /* write-only option */
    unsock_close_keep_errno(fd);
    return r;
}


/* Room for the kernel's struct tcp_info, which grows with new kernels. */
#define TCP_INFO_MAX 512

/* What a loopback TCP connection reports as its segment size. */
#define LOOPBACK_MSS 65483

/* The size of the running kernel's struct tcp_info, which is what a real
 * TCP socket reports (longer than the C library's, and musl's differs from
 * glibc's); asked once of a scratch TCP socket. */
static socklen_t kernel_tcp_info_size(void)
{
    static _Atomic socklen_t size; /* 0: not asked yet; a race asks twice, with the same answer */
    if (size == 0) {
        unsigned char buf[TCP_INFO_MAX];
        socklen_t len = sizeof(buf);
        int fd = unsock_real.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && unsock_real.getsockopt(fd, IPPROTO_TCP, TCP_INFO, buf, &len) == 0)
            size = len;
        else
            size = sizeof(struct tcp_info);
        if (fd >= 0)
            unsock_close_keep_errno(fd);
    }
    return size;
}

static int tcp_info(int fd, void *val, socklen_t *len)
{
    union {
        struct tcp_info ti;
        unsigned char bytes[TCP_INFO_MAX];
    } info;
    struct tcp_info *ti = &info.ti;
    memset(&info, 0, sizeof(info));
    int listening = 0;
    socklen_t ll = sizeof(listening);
    if (unsock_real.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) != 0)
        return -1;
    ti->tcpi_state = listening ? 10 /* TCP_LISTEN */ : 1 /* TCP_ESTABLISHED */;
    ti->tcpi_snd_mss = ti->tcpi_rcv_mss = ti->tcpi_advmss = LOOPBACK_MSS;
    ti->tcpi_pmtu = 65535;
    ti->tcpi_rtt = 10;
    ti->tcpi_rttvar = 5;
    ti->tcpi_rto = 200000;
    ti->tcpi_ato = 40000;
    ti->tcpi_snd_cwnd = 10;
    ti->tcpi_snd_ssthresh = 0x7fffffff;
    ti->tcpi_rcv_space = LOOPBACK_MSS;
    return unsock_copy_out(val, len, info.bytes, kernel_tcp_info_size(), false);
}

int unsock_opt_get(struct usock *s, int fd, int level, int name, void *val, socklen_t *len)
{
    if (len == NULL) {
        errno = EFAULT;
        return -1;
    }
    if (level == IPPROTO_TCP && name == TCP_INFO && s->type == SOCK_STREAM && !s->early)
        return tcp_info(fd, val, len);
    /* A connection reports its path's segment size, not what was asked for. */
    if (level == IPPROTO_TCP && name == TCP_MAXSEG && s->type == SOCK_STREAM &&
        (s->peer_len > 0 || s->peer_unread)) {
        int mss = LOOPBACK_MSS;
        return unsock_copy_out(val, len, &mss, sizeof(mss), false);
    }
    struct unsock_opt *o = find(s, level, name);
    if (o != NULL)
        return unsock_copy_out(val, len, o->val, o->len, false);
    return unsock_opt_fresh(s, level, name, val, len);
}

static int int_out(void *val, socklen_t *len, int v)
{
    return unsock_copy_out(val, len, &v, sizeof(v), false);
}

/* Whether process pid runs unsock's supervisor (its very file). */
static bool is_supervisor(pid_t pid)
{
    char exe[64];
    struct stat a, b;
    snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
    const char *ours = unsock_supervisor_binary();
    return ours != NULL && stat(exe, &a) == 0 && stat(ours, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* SO_PEERCRED of a converted connection: the kernel's, but for a client
 * whose connect unsock's supervisor made (the kernel names the supervisor):
 * the process its socket's name says, which the supervisor wrote. */
static int peer_cred(int fd, void *val, socklen_t *len)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    struct sockaddr_un un;
    socklen_t ulen = sizeof(un);
    if (unsock_real.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0)
        return -1;
    pid_t claimed = unsock_real.getpeername(fd, (struct sockaddr *)&un, &ulen) == 0
                        ? unsock_client_name_pid(&un, ulen) : 0;
    if (claimed > 0 && claimed != cred.pid && is_supervisor(cred.pid))
        cred.pid = claimed;
    return unsock_copy_out(val, len, &cred, sizeof(cred), false);
}

/* No unix address tells an IPv6 socket from an IPv4 one (a listener is
 * DIR/PORT.sock either way), so the family travels in the socket itself:
 * SO_INCOMING_CPU, which any process may set and read and which means
 * nothing to a unix socket, holds this mark on an IPv6 one. */
#define INET6_MARK 0x756e7336 /* "uns6" */

void unsock_mark_family(int sock, int family)
{
    int mark = INET6_MARK;
    if (family == AF_INET6 &&
        unsock_real.setsockopt(sock, SOL_SOCKET, SO_INCOMING_CPU, &mark, sizeof(mark)) != 0)
        unsock_debug("fd %d: not marked IPv6 for the processes it may reach: %s", sock, strerror(errno));
}

int unsock_marked_family(int sock)
{
    int mark = -1;
    socklen_t len = sizeof(mark);
    return unsock_real.getsockopt(sock, SOL_SOCKET, SO_INCOMING_CPU, &mark, &len) == 0 && mark == INET6_MARK
               ? AF_INET6
               : AF_INET;
}

/* SO_INCOMING_CPU: the kernel's, but the mark is none of the program's
 * business. */
static int incoming_cpu(int fd, void *val, socklen_t *len)
{
    int cpu;
    socklen_t clen = sizeof(cpu);
    if (unsock_real.getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &clen) != 0)
        return -1;
    return int_out(val, len, cpu == INET6_MARK ? -1 : cpu);
}

int unsock_sockopt_get(struct usock *s, int fd, int level, int name, void *val, socklen_t *len)
{
    if (level == SOL_SOCKET && name == SO_INCOMING_CPU)
        return incoming_cpu(fd, val, len);
    if (level == SOL_SOCKET && name == SO_DOMAIN)
        return int_out(val, len, s->family);
    if (level == SOL_SOCKET && name == SO_PROTOCOL)
        return int_out(val, len, s->type == SOCK_STREAM ? IPPROTO_TCP : s->type == SOCK_DGRAM ? IPPROTO_UDP : 0);
    if (level == SOL_SOCKET && name == SO_ERROR && s->connect_error != 0) {
        int r = int_out(val, len, s->connect_error); /* a connect completed later failed (pending.h) */
        s->connect_error = 0;
        return r;
    }
    if (level == SOL_SOCKET && name == SO_PEERCRED && s->type == SOCK_STREAM)
        return peer_cred(fd, val, len);
    if (unsock_opt_emulated(level, name))
        return unsock_opt_get(s, fd, level, name, val, len);
    return 1;
}
