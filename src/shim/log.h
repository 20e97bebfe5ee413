/* Messages on stderr, prefixed "unsock: ". Debug lines only with UNSOCK_DEBUG=1. */
#ifndef UNSOCK_LOG_H
#define UNSOCK_LOG_H

#include "config.h"

void unsock_log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define unsock_debug(...)                  \
    do {                                   \
        if (unsock_cfg.debug)              \
            unsock_log_line(__VA_ARGS__);  \
    } while (0)

/* Report a misconfiguration and end the process with status 1. */
_Noreturn void unsock_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
