/* libFuzzer target: the bytes of a control file (any length), read as a
 * connect or bind to a path= target reads it (unsock_control_read), and a
 * record it accepts described as the decision log writes it. */
#define _GNU_SOURCE /* memfd_create */

#include "input.h"

#include "controlfile.h"
#include "plan.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) { /* a file in memory, read through its /proc path as any file */
        if ((fd = memfd_create("control", MFD_CLOEXEC)) < 0)
            abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    struct unsock_control c;
    const char *why = NULL;
    enum unsock_control_kind kind = unsock_control_read(path, &c, &why);
    if ((kind == CONTROL_BAD) != (why != NULL) || kind == CONTROL_NONE)
        abort();
    if (kind == CONTROL_BAD)
        return 0;
    if (c.dest_len > sizeof(c.dest) || c.proxy_len > sizeof(c.proxy))
        abort();
    struct unsock_rules none = {0};
    struct unsock_plan p = {.kind = PLAN_RECORD, .record = c, .firecracker = kind == CONTROL_FIRECRACKER,
                            .control_file = path};
    char text[600];
    unsock_plan_describe(&none, &p, text, sizeof(text));
    return 0;
}
