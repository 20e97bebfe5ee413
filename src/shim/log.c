#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* One write(2) per line so lines of concurrent threads never interleave, and
 * no stdio so logging is safe from inside interposed calls. */
static void vlog(const char *fmt, va_list ap)
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
    const char *p = line;
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        len -= (size_t)w;
    }
}

void unsock_log_line(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
    errno = saved;
}

void unsock_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
    _exit(1);
}
