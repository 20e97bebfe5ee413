/* Control files: a regular file at DIR/PORT.sock holding the original
 * unsock's 452-byte `struct unsock_socket_info` says where a converted
 * socket really goes (AF_VSOCK, AF_TIPC, or a Firecracker-style multiplexing
 * unix socket). Byte-compatible with the original and unsock.controlfile. */
#ifndef UNSOCK_CONTROLFILE_H
#define UNSOCK_CONTROLFILE_H

#include "common.h"

#define UNSOCK_CONTROL_MAGIC 0x4b534e55u
#define UNSOCK_CONTROL_FIRECRACKER 1u

struct __attribute__((packed, aligned(4))) unsock_control_param {
    uint32_t group;
    uint32_t key;
    unsigned char value[32];
};

struct __attribute__((packed, aligned(4))) unsock_control {
    uint64_t magic;
    uint64_t options;
    uint32_t proxy_len;
    uint32_t dest_len;
    uint32_t options_count;
    uint32_t reserved0;
    unsigned char proxy[128];
    unsigned char dest[128];
    struct unsock_control_param params[4];
    uint32_t reserved1;
};

_Static_assert(sizeof(struct unsock_control) == 452, "the original's record is 452 bytes");

enum unsock_control_kind { CONTROL_NONE, CONTROL_SOCKET, CONTROL_FIRECRACKER, CONTROL_BAD };

/* Read the control file at path: CONTROL_NONE if nothing there is one (a
 * socket, nothing at all); CONTROL_BAD with a reason in *why if a file is
 * there that is not a valid control file; else the record's kind. The file
 * is opened without following it into a FIFO or blocking. */
enum unsock_control_kind unsock_control_read(const char *path, struct unsock_control *out, const char **why);

/* The record a vsock= / tipc= / firecracker= rule stands for, for a bind
 * (binding) or a connect of a socket with IP port `port` (%p). */
struct unsock_rule;
void unsock_rule_control(const struct unsock_rule *r, bool binding, uint16_t port, struct unsock_control *out);

#endif
