/* libunsock.so run as a program: creates control files from UNSOCK_FILE and
 * UNSOCK_VSOCK_PORT / UNSOCK_VSOCK_CID / UNSOCK_FC_SOCK / UNSOCK_TIPC_*, as
 * the original's library does, and prints its usage otherwise. */
#ifndef UNSOCK_TOOL_H
#define UNSOCK_TOOL_H

#include "common.h"

/* True when the process was started by executing libunsock.so itself (its
 * entry point is the process's), rather than having it preloaded. */
bool unsock_executed_directly(void);

#endif
