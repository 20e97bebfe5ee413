#include "log.h"

#include "addr.h"
#include "names.h"
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One write(2) per line so lines of concurrent threads never interleave, and
 * no stdio so logging is safe from inside wrapped calls. */
static void vlog(const char *fmt, va_list ap, bool to_file)
{
    int saved = errno; /* a log file that cannot be written changes nothing for the program */
    char line[1024] = "unsock: ";
    size_t prefix = 8;
    int n = vsnprintf(line + prefix, sizeof(line) - prefix - 1, fmt, ap);
    if (n < 0) {
        errno = saved;
        return;
    }
    size_t len = prefix + (size_t)n;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* Opened for each line: the program may close any descriptor we kept. */
    int fd = to_file ? open(unsock_cfg.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
    int out = fd >= 0 ? fd : STDERR_FILENO;
    const char *p = line;
    while (len > 0) {
        ssize_t w = syscall(SYS_write, out, p, len); /* not the program's write(): the engine may wrap it */
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        len -= (size_t)w;
    }
    if (fd >= 0)
        syscall(SYS_close, fd); /* not the program's close(): the engine may wrap it */
    errno = saved;
}

static void log_raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_raw(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, unsock_cfg.log_file[0] != '\0');
    va_end(ap);
}

/* Written once by unsock_log_engine() before the process has threads; read-only after. */
static char engine_line[PATH_MAX + 64];

void unsock_log_engine(const char *engine)
{
    snprintf(engine_line, sizeof(engine_line), "%s", engine);
}

/* Before a process's first line: its engine, configuration and rules. */
static void log_setup(void)
{
    char line[1024];
    if (engine_line[0] != '\0')
        log_raw("engine: %s", engine_line);
    unsock_config_format(&unsock_cfg, line, sizeof(line));
    log_raw("config: %s", line);
    for (size_t i = 0; i < unsock_ruleset.n; i++) {
        unsock_rule_format(&unsock_ruleset.v[i], line, sizeof(line));
        log_raw("rule %zu: %s", i + 1, line);
    }
}

void unsock_log_line(const char *fmt, ...)
{
    static atomic_bool setup_logged;
    int saved = errno;
    if (!atomic_exchange(&setup_logged, true))
        log_setup();
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, unsock_cfg.log_file[0] != '\0');
    va_end(ap);
    errno = saved;
}

void unsock_log_plan_line(int fd, const struct unsock_query *q, const struct unsock_plan *p, int err,
                          const char *note)
{
    static const char *const calls[] = {[CALL_BIND] = "bind", [CALL_CONNECT] = "connect", [CALL_SEND] = "send",
                                        [CALL_FASTOPEN] = "send (TCP Fast Open)"};
    char where[160], plan[500];
    unsock_addr_describe(q->addr, q->len, where, sizeof(where));
    unsock_plan_describe(&unsock_ruleset, p, plan, sizeof(plan));
    unsock_log_line("%s fd %d %s %s: %s%s%s%s", calls[q->call], fd, where, unsock_type_log_name(q->type), plan,
                    note ? note : "", err ? ": " : "", err ? strerror(err) : "");
}

void unsock_warn(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, false);
    va_end(ap);
    errno = saved;
}

void unsock_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, false);
    va_end(ap);
    _exit(1);
}
