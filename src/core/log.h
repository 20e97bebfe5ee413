/* Messages on stderr (or UNSOCK_LOG_FILE), prefixed "unsock: ": the
 * decision log (UNSOCK_DEBUG / -v) and fatal misconfiguration. */
#ifndef UNSOCK_LOG_H
#define UNSOCK_LOG_H

#include "config.h"
#include "plan.h"

void unsock_log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What the process runs under (the engine and its file: "preload, PATH (musl)"), logged
 * before its configuration; called once at start, before there are threads. */
void unsock_log_engine(const char *engine);

#define unsock_debug(...)                  \
    do {                                   \
        if (unsock_cfg.debug)              \
            unsock_log_line(__VA_ARGS__);  \
    } while (0)

/* One line of the decision log for the plan p of the call q on fd:
 * "CALL fd N ADDR TYPE: rule N -> OUTCOME[NOTE][: strerror(err)]". */
void unsock_log_plan_line(int fd, const struct unsock_query *q, const struct unsock_plan *p, int err,
                          const char *note);

#define unsock_log_plan(fd, q, p, err, note)                  \
    do {                                                     \
        if (unsock_cfg.debug)                                \
            unsock_log_plan_line(fd, q, p, err, note);       \
    } while (0)

/* One line for the user on stderr whether or not the decision log is on: something refused
 * or failing that the program's errno alone would not explain. */
void unsock_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a misconfiguration and end the process with status 1. */
_Noreturn void unsock_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
