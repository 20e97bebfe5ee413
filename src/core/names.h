/* Numbers and names of the kernel's ABI used across unsock, defined once. */
#ifndef UNSOCK_NAMES_H
#define UNSOCK_NAMES_H

#include <sys/socket.h>

#ifndef AF_TIPC
#define AF_TIPC 30
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* "stream", "dgram" or "other", as the decision log writes a socket type. */
const char *unsock_type_log_name(int type);

/* "tcp", "udp" or "seqpacket", as %t expands. */
const char *unsock_type_template_name(int type);

#endif
