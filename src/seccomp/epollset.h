/* epoll_ctl: the epoll sets an IP socket is in are remembered, so that the
 * unix socket that replaces it is added to them again (the kernel keys a
 * registration by file and descriptor number: the replacement would drop
 * out silently). */
#ifndef UNSOCK_EPOLLSET_H
#define UNSOCK_EPOLLSET_H

#include "call.h"

void on_epoll_ctl(struct call *c);

#endif
