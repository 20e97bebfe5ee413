/* Datagrams with addresses: sendto and sendmsg to covered addresses (a
 * datagram socket sending first is converted on the way, as with UDP's
 * implicit bind), recvfrom and recvmsg with a sender on converted sockets.
 * The kernel would take or give unix addresses, so the supervisor does
 * these on the caller's socket itself: such a datagram is copied through
 * it. Stream data never is, but for recvfrom/recvmsg asking a converted
 * stream socket for a sender, which TCP reports as none. */
#ifndef UNSOCK_DATAGRAM_H
#define UNSOCK_DATAGRAM_H

#include "call.h"

void on_send(struct call *c, bool msg);
void on_recv(struct call *c, bool msg);

/* The same, message by message, for sendmmsg and recvmmsg (which waits
 * for the first message only, as with MSG_WAITFORONE). */
void on_sendmmsg(struct call *c);
void on_recvmmsg(struct call *c);

#endif
