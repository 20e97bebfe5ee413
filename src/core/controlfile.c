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

/* The parameters: used slots first, each with a level and an option,
 * optionsCount 0 (as the original writes) or their number, timeouts valid. */
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
        if (p->group == SOL_SOCKET && (p->key == SO_RCVTIMEO || p->key == SO_SNDTIMEO)) {
            struct timeval tv;
            memcpy(&tv, p->value, sizeof(tv));
            if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec > 999999)
                return "a timeout parameter is not a valid time";
        }
        used++;
    }
    if (c->options_count != 0 && c->options_count != used)
        return "optionsCount does not match the parameters";
    return NULL;
}

/* What is left once the addresses are known good: nothing after their ends,
 * and the parameters. */
static const char *check_tail(const struct unsock_control *c)
{
    if (!all_zero(c->dest + c->dest_len, sizeof(c->dest) - c->dest_len) ||
        !all_zero(c->proxy + c->proxy_len, sizeof(c->proxy) - c->proxy_len))
        return "bytes after the end of an address";
    return check_params(c);
}

/* Everything unsock.controlfile.validate() checks, so that the shim and
 * the Python side accept exactly the same files (tests/vectors/controlfiles). */
static enum unsock_control_kind check_record(const struct unsock_control *out, const char **why)
{
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
    if (out->options == UNSOCK_CONTROL_FIRECRACKER) {
        sa_family_t pfam = AF_UNSPEC;
        if (out->proxy_len >= sizeof(pfam))
            memcpy(&pfam, out->proxy, sizeof(pfam));
        if (pfam != AF_UNIX || fam != AF_VSOCK || out->dest_len < sizeof(struct sockaddr_vm)) {
            *why = "a Firecracker file needs a unix proxy and a VSOCK destination";
            return CONTROL_BAD;
        }
        /* The whole path must be inside proxyLen, or a shorter one is used. */
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t plen = strnlen((const char *)out->proxy + off, sizeof(out->proxy) - off);
        if (plen == 0 || out->proxy_len < off + plen) {
            *why = "the proxy's unix socket path does not fit in proxyLen";
            return CONTROL_BAD;
        }
        *why = check_tail(out);
        return *why ? CONTROL_BAD : CONTROL_FIRECRACKER;
    }
    if (out->options != 0 || out->proxy_len != 0) {
        *why = "unknown options";
        return CONTROL_BAD;
    }
    if (!((fam == AF_VSOCK && out->dest_len >= sizeof(struct sockaddr_vm)) ||
          (fam == AF_TIPC && out->dest_len >= sizeof(struct sockaddr_tipc)))) {
        *why = "the destination is neither AF_VSOCK nor AF_TIPC";
        return CONTROL_BAD;
    }
    if (fam == AF_TIPC) {
        struct sockaddr_tipc t;
        memcpy(&t, out->dest, sizeof(t));
        if (t.addrtype < 1 || t.addrtype > 3 || t.scope < 1 || t.scope > 3) {
            *why = "unknown TIPC address type or scope";
            return CONTROL_BAD;
        }
    }
    *why = check_tail(out);
    return *why ? CONTROL_BAD : CONTROL_SOCKET;
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

