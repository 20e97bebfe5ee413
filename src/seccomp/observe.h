/* What a program observes of a converted socket: the IP names of
 * getsockname and getpeername, and TCP- and IP-level socket options. */
#ifndef UNSOCK_OBSERVE_H
#define UNSOCK_OBSERVE_H

#include "call.h"

void on_name(struct call *c, bool peer);
void on_sockopt(struct call *c, bool set);

#endif
