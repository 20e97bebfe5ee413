#include "controlfile.h"

#include "log.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/tipc.h>
#include <linux/vm_sockets.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef AF_TIPC
#define AF_TIPC 30
#endif

enum unsock_control_kind unsock_control_read(const char *path, struct unsock_control *out, const char **why)
{
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISSOCK(st.st_mode))
        return CONTROL_NONE;
    if (!S_ISREG(st.st_mode)) {
        *why = "not a socket and not a regular file";
        return CONTROL_BAD;
    }
    if (st.st_size != (off_t)sizeof(*out)) {
        *why = "not 452 bytes long, the size of a control file";
        return CONTROL_BAD;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        *why = "unreadable";
        return CONTROL_BAD;
    }
    ssize_t n;
    do
        n = read(fd, out, sizeof(*out));
    while (n < 0 && errno == EINTR);
    unsock_real.close(fd);
    if (n != (ssize_t)sizeof(*out)) {
        *why = "truncated";
        return CONTROL_BAD;
    }
    if (out->magic != UNSOCK_CONTROL_MAGIC) {
        *why = "no control-file magic";
        return CONTROL_BAD;
    }
    if (out->dest_len < sizeof(sa_family_t) || out->dest_len > sizeof(out->dest) ||
        out->proxy_len > sizeof(out->proxy)) {
        *why = "address lengths out of range";
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
        return CONTROL_FIRECRACKER;
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
    return CONTROL_SOCKET;
}

void unsock_control_apply_params(int fd, const struct unsock_control *c)
{
    for (size_t i = 0; i < 4; i++) {
        const struct unsock_control_param *p = &c->params[i];
        if (p->group == 0 && p->key == 0)
            continue;
        int r;
        if (p->group == SOL_SOCKET && (p->key == SO_RCVTIMEO || p->key == SO_SNDTIMEO))
            r = unsock_real.setsockopt(fd, (int)p->group, (int)p->key, p->value, sizeof(struct timeval));
        else if (p->group == SOL_TIPC && p->key == TIPC_GROUP_JOIN)
            r = unsock_real.setsockopt(fd, (int)p->group, (int)p->key, p->value, sizeof(struct tipc_group_req));
        else
            r = unsock_real.setsockopt(fd, (int)p->group, (int)p->key, p->value, sizeof(int32_t));
        if (r != 0)
            unsock_debug("control file parameter %u:%u not applied: %s", p->group, p->key, strerror(errno));
    }
}
