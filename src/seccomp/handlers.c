#define _GNU_SOURCE
#include "handlers.h"

#include "accept.h"
#include "bindconnect.h"
#include "datagram.h"
#include "epollset.h"
#include "log.h"
#include "notif.h"
#include "observe.h"
#include "sockfiles.h"
#include "target.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

void handle(int listener, const struct seccomp_notif *n)
{
    struct call c = {.listener = listener, .n = *n, .tid = (pid_t)n->pid, .fd = (int)n->data.args[0], .dup = -1};
    target_begin();
    switch (n->data.nr) {
    case __NR_connect:
        on_bind_connect(&c, CALL_CONNECT);
        break;
    case __NR_bind:
        on_bind_connect(&c, CALL_BIND);
        break;
    case __NR_accept:
    case __NR_accept4:
        on_accept(&c);
        break;
    case __NR_getsockname:
    case __NR_getpeername:
        on_name(&c, n->data.nr == __NR_getpeername);
        break;
    case __NR_sendto:
    case __NR_sendmsg:
        on_send(&c, n->data.nr == __NR_sendmsg);
        break;
    case __NR_recvfrom:
    case __NR_recvmsg:
        on_recv(&c, n->data.nr == __NR_recvmsg);
        break;
    case __NR_sendmmsg:
        on_sendmmsg(&c);
        break;
    case __NR_recvmmsg:
        on_recvmmsg(&c);
        break;
    case __NR_socket: /* AF_INET6 under UNSOCK_BLOCK_INET6 (filter.c) */
        unsock_debug("socket AF_INET6: blocked by UNSOCK_BLOCK_INET6 -> EAFNOSUPPORT");
        notif_fail(listener, n->id, EAFNOSUPPORT);
        break;
    case __NR_epoll_ctl:
        on_epoll_ctl(&c);
        break;
    case __NR_setsockopt:
    case __NR_getsockopt:
        on_sockopt(&c, n->data.nr == __NR_setsockopt);
        break;
    default:
        call_pass(&c);
    }
    if (c.dup >= 0)
        close(c.dup);
}

void handlers_exit(void)
{
    sockfiles_exit();
}
