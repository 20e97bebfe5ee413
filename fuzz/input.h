/* How the fuzz targets and the differential replay (replay.c) cut one input
 * into the values they hand the readers. */
#ifndef UNSOCK_FUZZ_INPUT_H
#define UNSOCK_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The variables the env target sets, in the order of the selector byte. */
static const char *const fuzz_env_names[] = {
    "UNSOCK_DIR", "UNSOCK_ADDR", "UNSOCK_PORT", "UNSOCK_MODE", "UNSOCK_BLOCK_INET", "UNSOCK_BLOCK_INET6",
    "UNSOCK_ACCEPT_CONVERT_ALL", "UNSOCK_ACCEPT_CONVERT_VSOCK", "UNSOCK_PEER_LOOPBACK", "UNSOCK_IP_AT_SOCKET",
    "UNSOCK_DEBUG", "UNSOCK_RULES", "UNSOCK_LOG_FILE",
};
#define FUZZ_ENV_COUNT (sizeof(fuzz_env_names) / sizeof(fuzz_env_names[0]))

/* The environment of an input: NUL-separated segments, each a selector
 * byte (the variable, modulo FUZZ_ENV_COUNT) and its value; a later segment
 * for the same variable replaces an earlier one. */
struct fuzz_env {
    char *copy;                        /* the input, NUL-terminated */
    const char *value[FUZZ_ENV_COUNT]; /* NULL: not set */
};

static inline int fuzz_env_read(struct fuzz_env *e, const uint8_t *data, size_t size)
{
    memset(e, 0, sizeof(*e));
    if ((e->copy = malloc(size + 1)) == NULL)
        return -1;
    memcpy(e->copy, data, size);
    e->copy[size] = '\0';
    for (char *seg = e->copy; seg < e->copy + size; seg += strlen(seg) + 1)
        if (seg[0] != '\0')
            e->value[(unsigned char)seg[0] % FUZZ_ENV_COUNT] = seg + 1;
    return 0;
}

static inline const char *fuzz_env_get(const struct fuzz_env *e, const char *name)
{
    for (size_t i = 0; i < FUZZ_ENV_COUNT; i++)
        if (strcmp(name, fuzz_env_names[i]) == 0)
            return e->value[i];
    return NULL;
}

/* NUL-terminated copy of data (text readers take C strings): NULL without memory. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s != NULL) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif
