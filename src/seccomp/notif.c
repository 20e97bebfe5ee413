#include "notif.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>

int notif_recv(int listener, struct seccomp_notif *req)
{
    memset(req, 0, sizeof(*req)); /* the kernel refuses a request that is not zeroed */
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
        return 1;
    return errno == ENOENT || errno == EINTR ? 0 : -1;
}

bool notif_valid(int listener, uint64_t id)
{
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static void send_resp(int listener, uint64_t id, int64_t val, int err, uint32_t flags)
{
    struct seccomp_notif_resp resp = {.id = id, .val = val, .error = err, .flags = flags};
    /* ENOENT: the caller is gone or was interrupted; nothing to answer. */
    (void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

void notif_return(int listener, uint64_t id, int64_t val)
{
    send_resp(listener, id, val, 0, 0);
}

void notif_fail(int listener, uint64_t id, int err)
{
    send_resp(listener, id, 0, -err, 0);
}

void notif_continue(int listener, uint64_t id)
{
    send_resp(listener, id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

int notif_install(int listener, uint64_t id, int fd, int at, bool cloexec)
{
    struct seccomp_notif_addfd add = {
        .id = id,
        .flags = at >= 0 ? SECCOMP_ADDFD_FLAG_SETFD : SECCOMP_ADDFD_FLAG_SEND,
        .srcfd = (uint32_t)fd,
        .newfd = at >= 0 ? (uint32_t)at : 0,
        .newfd_flags = cloexec ? O_CLOEXEC : 0,
    };
    int r = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
    return r < 0 ? -1 : r;
}
