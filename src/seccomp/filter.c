#define _GNU_SOURCE
#include "filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "the seccomp engine knows x86_64 and aarch64"
#endif

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define ARG_LOW(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]))
#define IF_EQ(value, yes, no) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (value), (yes), (no))
#define RETURN(what) BPF_STMT(BPF_RET | BPF_K, (what))

/* getsockopt at the levels whose options a converted socket emulates, and
 * at SOL_SOCKET SO_DOMAIN and SO_PROTOCOL, which would say AF_UNIX. */
static struct sock_filter program[] = {
    LOAD(arch),
    IF_EQ(ARCH, 1, 0),
    RETURN(SECCOMP_RET_ALLOW),
    LOAD(nr),
#if defined(__x86_64__)
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1), /* x32 */
    RETURN(SECCOMP_RET_ALLOW),
#endif
    IF_EQ(__NR_io_uring_setup, 0, 1), /* io_uring's socket calls would pass by: runtimes fall back */
    RETURN(SECCOMP_RET_ERRNO | ENOSYS),
    IF_EQ(__NR_connect, 16, 0),
    IF_EQ(__NR_bind, 15, 0),
    IF_EQ(__NR_accept, 14, 0),
    IF_EQ(__NR_accept4, 13, 0),
    IF_EQ(__NR_getsockname, 12, 0),
    IF_EQ(__NR_getpeername, 11, 0),
    IF_EQ(__NR_setsockopt, 10, 0), /* every level: what is set before a conversion is carried over */
    IF_EQ(__NR_getsockopt, 0, 8),
    ARG_LOW(1),
    IF_EQ(0 /* IPPROTO_IP */, 7, 0),
    IF_EQ(6 /* IPPROTO_TCP */, 6, 0),
    IF_EQ(41 /* IPPROTO_IPV6 */, 5, 0),
    IF_EQ(SOL_SOCKET, 0, 3),
    ARG_LOW(2),
    IF_EQ(SO_DOMAIN, 2, 0),
    IF_EQ(SO_PROTOCOL, 1, 0),
    RETURN(SECCOMP_RET_ALLOW),
    RETURN(SECCOMP_RET_USER_NOTIF),
};

int filter_install(const char **missing)
{
    struct sock_fprog prog = {.len = sizeof(program) / sizeof(program[0]), .filter = program};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        *missing = "PR_SET_NO_NEW_PRIVS";
        return -1;
    }
    unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (fd < 0 && errno == EINVAL) /* before Linux 5.19: signals may interrupt a pending call */
        fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd < 0)
        *missing = errno == EBUSY ? "a seccomp listener of its own (the program runs under another supervisor)"
                                  : "seccomp user notification (Linux 5.0)";
    return (int)fd;
}
