#define _GNU_SOURCE /* realpath with a buffer */
#include "tool.h"

#include "names.h"

#include "controlfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/tipc.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

/* The program interpreter and the entry point that make the library
 * executable. The kernel enters with the stack holding argc, argv and envp,
 * 16-byte aligned before a call; the original's entry took them as a C
 * function would and crashed on glibc's aligned SSE code. */
#if defined(__GLIBC__)
#define UNSOCK_LOADER(glibc, musl) glibc
#else
#define UNSOCK_LOADER(glibc, musl) musl
#endif

#if defined(__x86_64__)
const char unsock_interp[] __attribute__((section(".interp"), used)) =
    UNSOCK_LOADER("/lib64/ld-linux-x86-64.so.2", "/lib/ld-musl-x86_64.so.1");
__asm__(".text\n"
        ".globl unsock_tool_entry\n"
        ".hidden unsock_tool_entry\n"
        ".type unsock_tool_entry, @function\n"
        "unsock_tool_entry:\n"
        "    xor %ebp, %ebp\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call unsock_tool_main\n"
        "    hlt\n");
#define UNSOCK_HAVE_TOOL 1
#elif defined(__aarch64__)
const char unsock_interp[] __attribute__((section(".interp"), used)) =
    UNSOCK_LOADER("/lib/ld-linux-aarch64.so.1", "/lib/ld-musl-aarch64.so.1");
__asm__(".text\n"
        ".globl unsock_tool_entry\n"
        ".hidden unsock_tool_entry\n"
        ".type unsock_tool_entry, %function\n"
        "unsock_tool_entry:\n"
        "    mov x29, #0\n"
        "    mov x30, #0\n"
        "    mov x0, sp\n"
        "    bl unsock_tool_main\n"
        "    brk #0\n");
#define UNSOCK_HAVE_TOOL 1
#endif

#ifdef UNSOCK_HAVE_TOOL
void unsock_tool_entry(void);

bool unsock_executed_directly(void)
{
    return getauxval(AT_ENTRY) == (unsigned long)&unsock_tool_entry;
}
#else
bool unsock_executed_directly(void)
{
    return false;
}
#endif

static const char *const usage =
    "unsock: run programs on Unix domain sockets instead of TCP/UDP\n"
    "\n"
    "Usage: UNSOCK_DIR=/path/to/sockets LD_PRELOAD=/path/to/libunsock.so PROGRAM [ARGS...]\n"
    "       (or: unsock run --dir /path/to/sockets -- PROGRAM [ARGS...])\n"
    "\n"
    "Run this library as a program to create control files (or use 'unsock control'):\n"
    "  UNSOCK_FILE=DIR/PORT.sock UNSOCK_VSOCK_PORT=P [UNSOCK_VSOCK_CID=C] libunsock.so\n"
    "      connect or bind to AF_VSOCK port P (CID C, default -1: any)\n"
    "  UNSOCK_FILE=DIR/PORT.sock UNSOCK_FC_SOCK=/path/to/firecracker.vsock UNSOCK_VSOCK_PORT=P libunsock.so\n"
    "      connect to guest port P through a Firecracker-style multiplexing unix socket\n"
    "  UNSOCK_FILE=DIR/PORT.sock UNSOCK_TIPC_TYPE=T UNSOCK_TIPC_LOWER=L [UNSOCK_TIPC_UPPER=U]\n"
    "      [UNSOCK_TIPC_ADDRTYPE=A (default 2)] [UNSOCK_TIPC_SCOPE=S (default 2)] libunsock.so\n"
    "      connect or bind to an AF_TIPC address\n"
    "An existing UNSOCK_FILE is never replaced.\n";

static char **tool_env;

static const char *var(const char *name)
{
    size_t n = strlen(name);
    for (char **e = tool_env; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return (*e)[n + 1] != '\0' ? *e + n + 1 : NULL;
    return NULL;
}

/* A whole decimal number in [lo, hi], or a message and false. */
static bool number(const char *name, const char *text, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || end == text || v < lo || v > hi) {
        fprintf(stderr, "unsock: %s='%s' is not a number from %lld to %lld: give a decimal number\n", name, text, lo,
                hi);
        return false;
    }
    *out = v;
    return true;
}

static int write_file(const char *path, const struct unsock_control *c)
{
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        fprintf(stderr, "unsock: cannot create %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? ": remove it first (it is never replaced)" : "");
        return 1;
    }
    ssize_t w = write(fd, c, sizeof(*c));
    int err = errno;
    if (close(fd) != 0 && w == (ssize_t)sizeof(*c)) {
        w = -1;
        err = errno;
    }
    if (w != (ssize_t)sizeof(*c)) {
        fprintf(stderr, "unsock: cannot write %s: %s\n", path, w < 0 ? strerror(err) : "short write");
        unlink(path);
        return 1;
    }
    fprintf(stderr, "unsock: wrote control file %s\n", path);
    return 0;
}

static void init_record(struct unsock_control *c)
{
    memset(c, 0, sizeof(*c));
    c->magic = UNSOCK_CONTROL_MAGIC;
}

static int vsock_file(const char *path, const char *port_s, const char *fc)
{
    long long port, cid = -1;
    if (!number("UNSOCK_VSOCK_PORT", port_s, 0, 0xffffffffLL, &port))
        return 2;
    const char *cid_s = var("UNSOCK_VSOCK_CID");
    if (cid_s != NULL && !number("UNSOCK_VSOCK_CID", cid_s, -1, 0xffffffffLL, &cid))
        return 2;
    struct unsock_control c;
    init_record(&c);
    struct sockaddr_vm vm = {.svm_family = AF_VSOCK, .svm_port = (unsigned)port, .svm_cid = (unsigned)cid};
    memcpy(c.dest, &vm, sizeof(vm));
    c.dest_len = sizeof(vm);
    if (fc != NULL) {
        /* As the original: a relative path must exist and is stored absolute. */
        char abs[PATH_MAX];
        if (realpath(fc, abs) != NULL) {
            fc = abs;
        } else if (fc[0] != '/') {
            fprintf(stderr, "unsock: UNSOCK_FC_SOCK '%s' does not exist: give an existing or absolute path\n", fc);
            return 1;
        } else {
            fprintf(stderr, "unsock: warning: UNSOCK_FC_SOCK %s does not exist (yet)\n", fc);
        }
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        if (strlen(fc) >= sizeof(un.sun_path)) {
            fprintf(stderr, "unsock: UNSOCK_FC_SOCK is too long for a unix socket path: %s\n", fc);
            return 1;
        }
        memcpy(un.sun_path, fc, strlen(fc));
        memcpy(c.proxy, &un, sizeof(un));
        c.proxy_len = sizeof(un);
        c.options = UNSOCK_CONTROL_FIRECRACKER;
    }
    return write_file(path, &c);
}

static int tipc_file(const char *path)
{
    long long addrtype = 2, scope = 2, type, lower, upper = 0;
    const char *s;
    if (((s = var("UNSOCK_TIPC_ADDRTYPE")) != NULL && !number("UNSOCK_TIPC_ADDRTYPE", s, 1, 3, &addrtype)) ||
        ((s = var("UNSOCK_TIPC_SCOPE")) != NULL && !number("UNSOCK_TIPC_SCOPE", s, 1, 3, &scope)) ||
        !number("UNSOCK_TIPC_TYPE", var("UNSOCK_TIPC_TYPE"), 0, 0xffffffffLL, &type) ||
        (s = var("UNSOCK_TIPC_LOWER")) == NULL || !number("UNSOCK_TIPC_LOWER", s, 0, 0xffffffffLL, &lower) ||
        ((s = var("UNSOCK_TIPC_UPPER")) != NULL && !number("UNSOCK_TIPC_UPPER", s, 0, 0xffffffffLL, &upper))) {
        if (var("UNSOCK_TIPC_LOWER") == NULL)
            fprintf(stderr, "unsock: UNSOCK_TIPC_LOWER is not set: a TIPC control file needs it\n");
        return 2;
    }
    struct unsock_control c;
    init_record(&c);
    /* As the original: the three numbers fill the address in order,
     * whatever the address type. */
    struct sockaddr_tipc t = {.family = AF_TIPC, .addrtype = (unsigned char)addrtype, .scope = (signed char)scope};
    t.addr.nameseq.type = (unsigned)type;
    t.addr.nameseq.lower = (unsigned)lower;
    t.addr.nameseq.upper = (unsigned)upper;
    memcpy(c.dest, &t, sizeof(t));
    c.dest_len = sizeof(t);
    return write_file(path, &c);
}

__attribute__((used, visibility("hidden"), noreturn)) void unsock_tool_main(long *sp);

void unsock_tool_main(long *sp)
{
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    tool_env = argv + argc + 1;
    const char *file = var("UNSOCK_FILE"), *port = var("UNSOCK_VSOCK_PORT");
    int status = 0;
    if (file != NULL && port != NULL)
        status = vsock_file(file, port, var("UNSOCK_FC_SOCK"));
    else if (file != NULL && var("UNSOCK_TIPC_TYPE") != NULL)
        status = tipc_file(file);
    else
        fputs(usage, stderr);
    exit(status);
}
