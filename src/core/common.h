/* Shared definitions for every translation unit of libunsock.so. */
#ifndef UNSOCK_COMMON_H
#define UNSOCK_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* Everything is hidden unless it is one of the libc functions we interpose. */
#define UNSOCK_EXPORT __attribute__((visibility("default")))

/* A few bytes of thread-local state read on every converted call: in the
 * static TLS block (the shim is preloaded, so there is one), which costs a
 * load where the default model costs a call to __tls_get_addr. */
#define UNSOCK_TLS_HOT __attribute__((tls_model("initial-exec")))

/* In the sixth argument of a socket call the shim makes under the seccomp
 * engine (which no such call uses): the supervisor's filter lets it pass. */
#define UNSOCK_SHIM_MARK 0x756e736f636b2121ULL /* "unsock!!" */

#define UNSOCK_SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

#endif
