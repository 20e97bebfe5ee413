/* Reading control files, and the record a vsock= / tipc= / firecracker=
 * rule stands for. */
#include "controlfile.h"

#include "names.h"
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/tipc.h>
#include <linux/vm_sockets.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

#ifndef SOL_TIPC
#define SOL_TIPC 271
#endif
#ifndef SOL_VSOCK
#define SOL_VSOCK 287
#endif

/* A parameter's value: a valid timeval for the timeouts, a tipc_group_req
 * for TIPC_GROUP_JOIN, else an integer of 8 bytes at most, zeros after it. */
static const char *check_value(const struct unsock_control_param *p)
{
    bool vsock = p->group == AF_VSOCK || p->group == SOL_VSOCK;
    if ((p->group == SOL_SOCKET && (p->key == SO_RCVTIMEO || p->key == SO_SNDTIMEO)) ||
        (vsock && p->key == 6 /* SO_VM_SOCKETS_CONNECT_TIMEOUT(_OLD) */)) {
        struct timeval tv;
        memcpy(&tv, p->value, sizeof(tv));
        if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec > 999999 ||
            !all_zero(p->value + sizeof(tv), sizeof(p->value) - sizeof(tv)))
            return "a timeout parameter is not a valid time";
        return NULL;
    }
    size_t size = p->group == SOL_TIPC && p->key == TIPC_GROUP_JOIN ? sizeof(struct tipc_group_req) : 8;
    return all_zero(p->value + size, sizeof(p->value) - size) ? NULL : "a parameter's value is longer than its option's";
}

/* The parameters: used slots first, each with a level and an option,
 * optionsCount 0 (as the original writes) or their number, values valid. */
static const char *check_params(const struct unsock_control *c)
{
    size_t used = 0;
    bool gap = false;
    for (size_t i = 0; i < 4; i++) {
        const struct unsock_control_param *p = &c->params[i];
        if (all_zero((const unsigned char *)p, sizeof(*p))) {
            gap = true;
            continue;
        }
        if (gap)
            return "a parameter follows an empty parameter slot";
        if (p->group == 0 || p->key == 0)
            return "a parameter has no level or no option";
        const char *why = check_value(p);
        if (why != NULL)
            return why;
        used++;
    }
    if (c->options_count != 0 && c->options_count != used)
        return "optionsCount does not match the parameters";
    return NULL;
}

/* The destination: AF_VSOCK (reserved bytes zero, no flag but
 * VMADDR_FLAG_TO_HOST) or AF_TIPC (a known address type and scope, a
 * service range not empty), nothing after the address. */
static const char *check_dest(const struct unsock_control *c, sa_family_t fam)
{
    const unsigned char *d = c->dest;
    if (c->dest_len < 16) /* both addresses are 16 bytes */
        return "the destination is shorter than an AF_VSOCK or AF_TIPC address";
    if (!all_zero(d + 16, sizeof(c->dest) - 16))
        return "bytes after the end of an address";
    if (fam == AF_VSOCK) { /* offsets as in unsock.controlfile: svm_reserved1, svm_flags, svm_zero */
        if (d[2] != 0 || d[3] != 0 || (d[12] & ~1) != 0 || !all_zero(d + 13, 3))
            return "the VSOCK address has reserved bytes or unknown flags set";
        return NULL;
    }
    struct sockaddr_tipc t;
    memcpy(&t, d, sizeof(t));
    if (t.addrtype < 1 || t.addrtype > 3 || t.scope < 1 || t.scope > 3)
        return "unknown TIPC address type or scope";
    if (t.addrtype == TIPC_ADDR_NAMESEQ && t.addr.nameseq.lower > t.addr.nameseq.upper)
        return "an empty TIPC service range";
    return NULL;
}

/* A Firecracker file's proxy: a unix address whose path (not empty) ends
 * within proxyLen, nothing after it, proxyLen at most a sockaddr_un. */
static const char *check_proxy(const struct unsock_control *c)
{
    sa_family_t pfam;
    memcpy(&pfam, c->proxy, sizeof(pfam));
    size_t off = offsetof(struct sockaddr_un, sun_path), end = sizeof(struct sockaddr_un);
    size_t plen = strnlen((const char *)c->proxy + off, end - off);
    if (pfam != AF_UNIX || plen == 0)
        return "a Firecracker file needs a unix proxy and a VSOCK destination";
    /* The whole path must be inside proxyLen, or a shorter one is used. */
    if (c->proxy_len < off + plen || c->proxy_len > end)
        return "the proxy's unix socket path does not fit in proxyLen";
    if (!all_zero(c->proxy + off + plen, sizeof(c->proxy) - off - plen))
        return "bytes after the end of an address";
    return NULL;
}

/* Everything unsock.controlfile's ControlFile.unpack() checks, so that the
 * shim and the Python side accept exactly the same files (tests/vectors/controlfiles,
 * fuzz/differential.py). */
static enum unsock_control_kind check_record(const struct unsock_control *out, const char **why)
{
    *why = NULL;
    if (out->magic != UNSOCK_CONTROL_MAGIC) {
        *why = "no control-file magic";
        return CONTROL_BAD;
    }
    if (out->dest_len < sizeof(sa_family_t) || out->dest_len > sizeof(out->dest) ||
        out->proxy_len > sizeof(out->proxy)) {
        *why = "address lengths out of range";
        return CONTROL_BAD;
    }
    if (out->reserved0 != 0 || out->reserved1 != 0) {
        *why = "reserved fields are not zero";
        return CONTROL_BAD;
    }
    sa_family_t fam;
    memcpy(&fam, out->dest, sizeof(fam));
    bool firecracker = out->options == UNSOCK_CONTROL_FIRECRACKER;
    if (firecracker) {
        if (fam != AF_VSOCK) {
            *why = "a Firecracker file needs a unix proxy and a VSOCK destination";
            return CONTROL_BAD;
        }
        struct sockaddr_vm vm;
        memcpy(&vm, out->dest, sizeof(vm));
        *why = check_proxy(out);
        if (*why == NULL && vm.svm_port == VMADDR_PORT_ANY)
            *why = "a Firecracker file needs a definite VSOCK port";
    } else if (out->options != 0 || out->proxy_len != 0 || !all_zero(out->proxy, sizeof(out->proxy))) {
        *why = "unknown options";
    } else if (fam != AF_VSOCK && fam != AF_TIPC) {
        *why = "the destination is neither AF_VSOCK nor AF_TIPC";
    }
    if (*why == NULL)
        *why = check_dest(out, fam);
    if (*why == NULL)
        *why = check_params(out);
    return *why ? CONTROL_BAD : firecracker ? CONTROL_FIRECRACKER : CONTROL_SOCKET;
}

enum unsock_control_kind unsock_control_read(const char *path, struct unsock_control *out, const char **why)
{
    struct stat st;
    /* Followed through symlinks, as the original and unsock.controlfile do. */
    if (stat(path, &st) != 0 || S_ISSOCK(st.st_mode))
        return CONTROL_NONE;
    if (!S_ISREG(st.st_mode)) {
        *why = "not a socket and not a regular file";
        return CONTROL_BAD;
    }
    if (st.st_size != (off_t)sizeof(*out)) {
        *why = "not 452 bytes long, the size of a control file";
        return CONTROL_BAD;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *why = "unreadable";
        return CONTROL_BAD;
    }
    ssize_t n;
    do
        n = syscall(SYS_read, fd, out, sizeof(*out)); /* not the program's read(): the engine may wrap it */
    while (n < 0 && errno == EINTR);
    syscall(SYS_close, fd); /* not the program's close(): the engine may wrap it */
    if (n != (ssize_t)sizeof(*out)) {
        *why = "truncated";
        return CONTROL_BAD;
    }
    return check_record(out, why);
}


static unsigned num_or_port(long long v, uint16_t port)
{
    return v == RULE_PORT_PLACEHOLDER ? port : (unsigned)v;
}

void unsock_rule_control(const struct unsock_rule *r, bool binding, uint16_t port, struct unsock_control *out)
{
    memset(out, 0, sizeof(*out));
    out->magic = UNSOCK_CONTROL_MAGIC;
    if (r->action == ACT_TIPC) {
        struct sockaddr_tipc t = {.family = AF_TIPC, .scope = (signed char)r->tipc_scope};
        t.addrtype = binding ? TIPC_ADDR_NAMESEQ : TIPC_ADDR_NAME;
        t.addr.nameseq.type = (unsigned)r->num[0];
        t.addr.nameseq.lower = num_or_port(r->num[1], port);
        t.addr.nameseq.upper = binding ? num_or_port(r->num[2], port) : 0;
        memcpy(out->dest, &t, sizeof(t));
        out->dest_len = sizeof(t);
        return;
    }
    struct sockaddr_vm vm = {.svm_family = AF_VSOCK};
    if (r->action == ACT_VSOCK) {
        vm.svm_cid = (unsigned)r->num[0];
        vm.svm_port = num_or_port(r->num[1], port);
    } else {
        vm.svm_cid = VMADDR_CID_ANY;
        vm.svm_port = num_or_port(r->num[0], port);
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        memcpy(un.sun_path, r->target, strlen(r->target));
        memcpy(out->proxy, &un, sizeof(un));
        out->proxy_len = sizeof(un);
        out->options = UNSOCK_CONTROL_FIRECRACKER;
    }
    memcpy(out->dest, &vm, sizeof(vm));
    out->dest_len = sizeof(vm);
}

