/* Applying a control record to the socket that replaces the program's:
 * its socket options, and the Firecracker multiplexer's handshake. */
#ifndef UNSOCK_FIRECRACKER_H
#define UNSOCK_FIRECRACKER_H

#include "controlfile.h"

/* Apply the record's socket options to fd (before bind or connect). */
void unsock_control_apply_params(int fd, const struct unsock_control *c);

/* Default bound of a Firecracker handshake, in milliseconds, when the
 * socket has no SO_SNDTIMEO / SO_RCVTIMEO of its own. */
#define UNSOCK_FC_DEFAULT_TIMEOUT_MS 10000

/* Connect the unix stream socket `sock` to the Firecracker multiplexer of a
 * CONTROL_FIRECRACKER record and do its host-side handshake: send
 * "CONNECT <port>\n", read "OK <digits>\n" byte by byte (nothing after the
 * newline is consumed). Done synchronously whatever sock's O_NONBLOCK (kept
 * as it was), bounded by sock's SO_SNDTIMEO (connect and send) and
 * SO_RCVTIMEO (reply), each UNSOCK_FC_DEFAULT_TIMEOUT_MS if unset. 0 once
 * sock is a connected stream to the guest port; -1 with errno: ETIMEDOUT
 * when the bound expires, EACCES/EPERM if the multiplexer's socket may not
 * be connected to, ECONNREFUSED for everything else (nothing listens, the
 * multiplexer closes, answers anything but OK). */
int unsock_control_firecracker(int sock, const struct unsock_control *c, const char *path);

#endif
