#define _GNU_SOURCE
#include "filter.h"

#include "common.h"

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
#define X32_LINES 2
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#define X32_LINES 0
#else
#error "the seccomp engine knows x86_64 and aarch64"
#endif

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define ARG_LOW(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]))
#define IF_EQ(value, yes, no) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (value), (yes), (no))
#define RETURN(what) BPF_STMT(BPF_RET | BPF_K, (what))

#define ARG_HIGH(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]) + 4)

/* Offsets of jumps are counted from the next instruction: TO(here, there). */
#define TO(here, there) ((there) - (here) - 1)

/* Trapped, but for the shim's own calls (marked): the calls that take or
 * give addresses; accept and accept4 only with a buffer for the peer's
 * address (without, the kernel's accept on a converted listener is exact,
 * and the connection is recognised later by its listener's address);
 * sendto and recvfrom only with an address; setsockopt at every level and
 * epoll_ctl (what is set or registered before a conversion is carried
 * over); getsockopt at the levels whose options a converted socket
 * emulates, and at SOL_SOCKET for SO_DOMAIN and SO_PROTOCOL, which would
 * say AF_UNIX, and SO_PEERCRED, which would name a supervisor;
 * socket(AF_INET6) under UNSOCK_BLOCK_INET6. AT(n) is the place of the
 * n-th instruction not counting the two of x32, which the jumps name. */
enum {
    HAS_ADDRESS = 36 + X32_LINES,
    HAS_PEER_BUFFER = 40 + X32_LINES,
    INET6_SOCKET = 44 + X32_LINES,
    BLOCK_INET6 = 46 + X32_LINES,
    ALLOW = 47 + X32_LINES,
    NOTIFY = 48 + X32_LINES,
};
#define AT(n) ((n) + X32_LINES)

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
    ARG_LOW(5), /* the shim's own calls (marked.c): the rules are applied */
    IF_EQ((uint32_t)UNSOCK_SHIM_MARK, 0, 2),
    ARG_HIGH(5),
    IF_EQ((uint32_t)(UNSOCK_SHIM_MARK >> 32), TO(AT(9), ALLOW), 0),
    LOAD(nr),
    IF_EQ(__NR_connect, TO(AT(11), NOTIFY), 0),
    IF_EQ(__NR_bind, TO(AT(12), NOTIFY), 0),
    IF_EQ(__NR_accept, TO(AT(13), HAS_PEER_BUFFER), 0),
    IF_EQ(__NR_accept4, TO(AT(14), HAS_PEER_BUFFER), 0),
    IF_EQ(__NR_getsockname, TO(AT(15), NOTIFY), 0),
    IF_EQ(__NR_getpeername, TO(AT(16), NOTIFY), 0),
    IF_EQ(__NR_setsockopt, TO(AT(17), NOTIFY), 0),
    IF_EQ(__NR_sendmsg, TO(AT(18), NOTIFY), 0),
    IF_EQ(__NR_recvmsg, TO(AT(19), NOTIFY), 0),
    IF_EQ(__NR_sendmmsg, TO(AT(20), NOTIFY), 0),
    IF_EQ(__NR_recvmmsg, TO(AT(21), NOTIFY), 0),
    IF_EQ(__NR_epoll_ctl, TO(AT(22), NOTIFY), 0),
    IF_EQ(__NR_socket, TO(AT(23), INET6_SOCKET), 0),
    IF_EQ(__NR_sendto, TO(AT(24), HAS_ADDRESS), 0),
    IF_EQ(__NR_recvfrom, TO(AT(25), HAS_ADDRESS), 0),
    IF_EQ(__NR_getsockopt, 0, TO(AT(26), ALLOW)),
    ARG_LOW(1),
    IF_EQ(0 /* IPPROTO_IP */, TO(AT(28), NOTIFY), 0),
    IF_EQ(6 /* IPPROTO_TCP */, TO(AT(29), NOTIFY), 0),
    IF_EQ(41 /* IPPROTO_IPV6 */, TO(AT(30), NOTIFY), 0),
    IF_EQ(SOL_SOCKET, 0, TO(AT(31), ALLOW)),
    ARG_LOW(2),
    IF_EQ(SO_DOMAIN, TO(AT(33), NOTIFY), 0),
    IF_EQ(SO_PROTOCOL, TO(AT(34), NOTIFY), 0),
    IF_EQ(SO_PEERCRED, TO(AT(35), NOTIFY), TO(AT(35), ALLOW)),
    ARG_LOW(4), /* HAS_ADDRESS: sendto's or recvfrom's address */
    IF_EQ(0, 0, TO(AT(37), NOTIFY)),
    ARG_HIGH(4),
    IF_EQ(0, TO(AT(39), ALLOW), TO(AT(39), NOTIFY)),
    ARG_LOW(1), /* HAS_PEER_BUFFER: accept's */
    IF_EQ(0, 0, TO(AT(41), NOTIFY)),
    ARG_HIGH(1),
    IF_EQ(0, TO(AT(43), ALLOW), TO(AT(43), NOTIFY)),
    ARG_LOW(0), /* INET6_SOCKET: socket(AF_INET6), which UNSOCK_BLOCK_INET6 fails */
    IF_EQ(AF_INET6, 0, TO(AT(45), ALLOW)),
    RETURN(SECCOMP_RET_ALLOW), /* BLOCK_INET6: made SECCOMP_RET_USER_NOTIF by filter_install */
    RETURN(SECCOMP_RET_ALLOW),
    RETURN(SECCOMP_RET_USER_NOTIF),
};
_Static_assert(sizeof(program) / sizeof(program[0]) == NOTIFY + 1, "the places of the instructions");

int filter_install(bool block_inet6, const char **missing)
{
    program[BLOCK_INET6].k = block_inet6 ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW;
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
