/* The shim's configuration, read once from UNSOCK_* environment variables. */
#ifndef UNSOCK_CONFIG_H
#define UNSOCK_CONFIG_H

#include "common.h"

#include <netinet/in.h>

/* Longest socket file name below the directory: "/65535.sock". */
#define UNSOCK_FILE_NAME_MAX 11
#define UNSOCK_DIR_MAX (UNSOCK_SUN_PATH_MAX - 1 - UNSOCK_FILE_NAME_MAX)

#define UNSOCK_MAX_RANGES 16

struct unsock_range {
    sa_family_t family;   /* AF_INET or AF_INET6 */
    uint8_t addr[16];     /* network byte order, first 4 bytes for AF_INET */
    unsigned prefix;      /* 0..32 or 0..128 */
};

struct unsock_config {
    char dir[UNSOCK_DIR_MAX + 1];   /* absolute, no trailing slash ("" = "/") */
    size_t dir_len;
    struct unsock_range ranges[UNSOCK_MAX_RANGES]; /* UNSOCK_ADDR, default 127.175.0.0/32 */
    size_t nranges;
    int32_t port;                   /* UNSOCK_PORT, -1 = any */
    int32_t mode;                   /* UNSOCK_MODE, -1 = leave to umask */
    bool block_inet;
    bool block_inet6;
    bool accept_convert_all;
    bool accept_convert_vsock;
    bool peer_loopback;             /* UNSOCK_PEER_LOOPBACK: every client is 127.0.0.1 / ::1, as on TCP */
    bool ip_at_socket;              /* UNSOCK_IP_AT_SOCKET: socket() makes the IP socket, swapped at bind/connect */
    bool debug;
    const char *rules;              /* UNSOCK_RULES, NULL if unset (valid during set-up only) */
    char log_file[4096];            /* UNSOCK_LOG_FILE, "" = stderr */
};

/* ADDRESS[/PREFIX] of s[0..len); 0 or -1. */
int unsock_range_parse(const char *s, size_t len, struct unsock_range *r);

/* The canonical text of r (IPv6 in full); its length. */
size_t unsock_range_format(const struct unsock_range *r, char *out, size_t outlen);

/* Whether the first prefix bits of a and b agree. */
bool unsock_prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix);

/* Read-only after unsock_init(). */
extern struct unsock_config unsock_cfg;

typedef const char *(*unsock_getenv_fn)(const char *name);

/* Parse the configuration. On error returns -1 and writes one line (without
 * the "unsock: " prefix) describing the problem and its fix into err. */
int unsock_config_parse(struct unsock_config *cfg, unsock_getenv_fn get,
                        char *err, size_t errlen);

/* The canonical one-line form shared with the Python side (tests/vectors). */
int unsock_config_format(const struct unsock_config *cfg, char *out, size_t outlen);

#endif
