#include "adopt.h"

#include "fdtable.h"
#include "log.h"
#include "peer.h"
#include "real.h"
#include "template.h"
#include "sockaddr.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void unsock_adopt(int fd)
{
    struct stat st;
    if (unsock_fd_converted(fd) || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        return;
    /* A listener, or a connection accepted from one, is named after the
     * socket file; a client is not named but its peer is. */
    int type = 0;
    socklen_t tl = sizeof(type);
    if (unsock_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0)
        return;
    struct sockaddr_un un, own = {0};
    socklen_t len = sizeof(un), own_len = 0;
    int port = -1;
    bool client = false;
    if (unsock_real.getsockname(fd, (struct sockaddr *)&un, &len) == 0) {
        port = unsock_rules_port_of(&unsock_ruleset, type, &un, len);
        own = un;
        own_len = len;
    }
    if (port < 0) {
        len = sizeof(un);
        if (unsock_real.getpeername(fd, (struct sockaddr *)&un, &len) == 0)
            port = unsock_rules_port_of(&unsock_ruleset, type, &un, len);
        client = true;
    }
    if (port < 0)
        return;
    struct usock *s = unsock_sock_new(AF_INET, type);
    if (s == NULL)
        return;
    struct sockaddr_storage named;
    socklen_t named_len = unsock_fake_addr((uint16_t)port, &named);
    /* A client's own name, or an accepted connection's peer's, may carry
     * the client's address (core/peer.h). */
    if (client) {
        s->peer = named;
        s->peer_len = named_len;
        if (unsock_client_name_parse(&own, own_len, &s->local, &s->local_len))
            s->family = s->local.ss_family;
        else
            s->local_len = unsock_other_end(&s->peer, unsock_pseudo_port(), &s->local);
    } else {
        s->local = named;
        s->local_len = named_len;
        len = sizeof(un);
        if (unsock_real.getpeername(fd, (struct sockaddr *)&un, &len) == 0 &&
            !unsock_client_name_parse(&un, len, &s->peer, &s->peer_len))
            s->peer_len = unsock_other_end(&s->local, unsock_pseudo_port(), &s->peer);
    }
    unsock_fd_set(fd, s);
    unsock_debug("fd %d adopted: %s of port %d", fd, client ? "client" : "socket", port);
}

void unsock_adopt_inherited(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end == '\0' && end != e->d_name && fd != dirfd(d))
            unsock_adopt((int)fd);
    }
    closedir(d);
}

void unsock_adopt_rights(const struct msghdr *msg)
{
    if (msg->msg_control == NULL || msg->msg_controllen < sizeof(struct cmsghdr))
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *data = CMSG_DATA(c);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, data + i * sizeof(int), sizeof(fd));
            unsock_adopt(fd);
        }
    }
}
