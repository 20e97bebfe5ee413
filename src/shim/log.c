#include "log.h"

#include "init.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

/* One write(2) per line so lines of concurrent threads never interleave, and
 * no stdio so logging is safe from inside interposed calls. */
static void vlog(const char *fmt, va_list ap, bool to_file)
{
    char line[1024] = "unsock: ";
    size_t prefix = 8;
    int n = vsnprintf(line + prefix, sizeof(line) - prefix - 1, fmt, ap);
    if (n < 0)
        return;
    size_t len = prefix + (size_t)n;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* Opened for each line: the program may close any descriptor we kept. */
    int fd = to_file ? open(unsock_cfg.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
    int out = fd >= 0 ? fd : STDERR_FILENO;
    const char *p = line;
    while (len > 0) {
        ssize_t w = write(out, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        len -= (size_t)w;
    }
    if (fd >= 0)
        unsock_real.close(fd);
}

void unsock_log_line(const char *fmt, ...)
{
    static atomic_bool setup_logged;
    int saved = errno;
    if (!atomic_exchange(&setup_logged, true))
        unsock_log_setup();
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, unsock_cfg.log_file[0] != '\0');
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
