#include "adopt.h"

#include "fdtable.h"
#include "log.h"
#include "peer.h"
#include "real.h"
#include "template.h"
#include "sockaddr.h"
#include "sockopts.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The address of port that a socket of family reports as its own. */
static socklen_t named(int family, uint16_t port, struct sockaddr_storage *out)
{
    return family == AF_INET6 ? unsock_fake_addr6(port, out) : unsock_fake_addr(port, out);
}

/* A client's own name, or an accepted connection's peer's, may carry the
 * client's address (core/peer.h). */
static void describe_client(struct usock *s, uint16_t port, const struct sockaddr_un *own, socklen_t own_len)
{
    s->peer_len = named(s->family, port, &s->peer);
    struct sockaddr_storage got;
    socklen_t got_len;
    if (unsock_client_name_parse(own, own_len, &got, &got_len) &&
        (s->local_len = unsock_address_as(s->family, &got, &s->local)) != 0)
        return;
    s->local_len = unsock_other_end(&s->peer, unsock_pseudo_port(), &s->local);
}

static void describe_accepted(struct usock *s, int fd, uint16_t port)
{
    s->local_len = named(s->family, port, &s->local);
    unsock_read_peer(s, fd, "adopt");
}

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
    struct usock *s = unsock_sock_new(unsock_marked_family(fd), type);
    if (s == NULL)
        return;
    if (client)
        describe_client(s, (uint16_t)port, &own, own_len);
    else
        describe_accepted(s, fd, (uint16_t)port);
    unsock_fd_set(fd, s);
    unsock_debug("fd %d adopted: %s of port %d (%s)", fd, client ? "client" : "socket", port,
                 s->family == AF_INET6 ? "IPv6" : "IPv4");
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
