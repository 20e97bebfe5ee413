/* accept and accept4 on converted listeners: the supervisor accepts and
 * hands the connection over with the peer's IP address. */
#ifndef UNSOCK_ACCEPT_H
#define UNSOCK_ACCEPT_H

#include "call.h"

void on_accept(struct call *c);

#endif
