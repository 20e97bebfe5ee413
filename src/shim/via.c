#include "via.h"

#include "fdswap.h"
#include "log.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void close_keep_errno(int fd)
{
    int saved = errno;
    unsock_real.close(fd);
    errno = saved;
}

/* Connect through a Firecracker multiplexer: a unix stream socket for fd
 * (its options and O_NONBLOCK carried) does the whole handshake before it
 * is installed, so the program never sees a byte of it. The handshake is
 * synchronous even on a non-blocking socket, bounded by the socket's send
 * and receive timeouts (10 s each if unset); a non-blocking connect then
 * reports EINPROGRESS and the socket is at once writable with SO_ERROR 0.
 * On failure fd is untouched (ECONNREFUSED, ETIMEDOUT or EACCES). */
static int via_firecracker(int fd, struct usock *s, const struct unsock_control *c, const char *label, int *out)
{
    int tmp = unsock_swap_prepare(fd, s, AF_UNIX);
    if (tmp < 0)
        return -1;
    unsock_control_apply_params(tmp, c);
    if (unsock_control_firecracker(tmp, c, label) != 0) {
        close_keep_errno(tmp);
        return -1;
    }
    int fl = unsock_real.fcntl(tmp, F_GETFL);
    if (fl < 0) {
        close_keep_errno(tmp);
        return -1;
    }
    *out = tmp;
    unsock_debug("connect fd %d via Firecracker multiplexer (%s)", fd, label);
    return (fl & O_NONBLOCK) != 0 ? VIA_IN_PROGRESS : VIA_DONE;
}

int unsock_via_record(int fd, struct usock *s, const struct unsock_control *c, bool firecracker, bool binding,
                      const char *label, int *out)
{
    const char *call = binding ? "bind" : "connect";
    if (firecracker) {
        if (binding) {
            unsock_debug("bind: %s is a Firecracker multiplexer, which only connects", label);
            errno = EINVAL;
            return -1;
        }
        return via_firecracker(fd, s, c, label, out);
    }
    sa_family_t family;
    memcpy(&family, c->dest, sizeof(family));
    int tmp = unsock_swap_prepare(fd, s, family);
    if (tmp < 0) {
        unsock_debug("%s via %s: no socket of family %d: %s", call, label, family, strerror(errno));
        return -1;
    }
    unsock_control_apply_params(tmp, c);
    const struct sockaddr *dest = (const struct sockaddr *)c->dest;
    int r = binding ? unsock_real.bind(tmp, dest, c->dest_len) : unsock_real.connect(tmp, dest, c->dest_len);
    if (r != 0 && !(errno == EINPROGRESS && !binding)) {
        unsock_debug("%s via %s (family %d): %s", call, label, family, strerror(errno));
        close_keep_errno(tmp);
        return -1;
    }
    *out = tmp;
    unsock_debug("%s fd %d via %s: family %d", call, fd, label, family);
    return r == 0 ? VIA_DONE : VIA_IN_PROGRESS;
}

int unsock_via_control_file(int fd, struct usock *s, const char *path, bool binding, int *out)
{
    int saved = errno;
    struct unsock_control c;
    const char *why = NULL;
    enum unsock_control_kind kind = unsock_control_read(path, &c, &why);
    if (kind == CONTROL_NONE) {
        errno = saved;
        return VIA_NOT_CONTROL;
    }
    if (kind == CONTROL_BAD) {
        unsock_debug("%s: %s is not a usable control file: %s", binding ? "bind" : "connect", path, why);
        errno = saved;
        return -1;
    }
    char label[UNSOCK_SUN_PATH_MAX + 16];
    snprintf(label, sizeof(label), "control file %s", path);
    return unsock_via_record(fd, s, &c, kind == CONTROL_FIRECRACKER, binding, label, out);
}
