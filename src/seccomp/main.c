/* unsock-supervisor: runs a program under the seccomp engine.
 *
 *   unsock-supervisor -- PROGRAM [ARGS...]   run it, converting its sockets
 *   unsock-supervisor --check                 say what the kernel lacks, if anything
 *
 * The rules and settings come from the environment (UNSOCK_RULES, as
 * `unsock run` sets them). The program's whole tree is supervised; the
 * supervisor ends when the last process of the tree is gone and exits as
 * the program did. */
#define _GNU_SOURCE
#include "filter.h"
#include "handlers.h"
#include "log.h"
#include "notif.h"
#include "setup.h"
#include "systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;

static const char *env(const char *name)
{
    return getenv(name);
}

/* The child's listener, taken from it by its number (the child's own
 * sendmsg would already be trapped by the filter, with nobody to answer). */
static int take_fd(int sock, pid_t from)
{
    int number;
    if (read(sock, &number, sizeof(number)) != (ssize_t)sizeof(number))
        return -1;
    long pidfd = syscall(SYS_pidfd_open, from, 0);
    if (pidfd < 0)
        return -1;
    long fd = syscall(SYS_pidfd_getfd, (int)pidfd, number, 0);
    close((int)pidfd);
    return (int)fd;
}

/* The child: the filter, its listener's number to the parent, then the program (or,
 * for --check, nothing). Exits 126 when the filter cannot be had. */
static _Noreturn void run_child(int sock, char **argv)
{
    const char *missing = NULL;
    int listener = filter_install(unsock_cfg.block_inet6, &missing);
    if (listener < 0) {
        dprintf(STDERR_FILENO, "unsock: the seccomp engine cannot run here: this kernel or container lacks %s: %s\n",
                missing, argv ? "use --engine preload" : strerror(errno));
        _exit(126);
    }
    char go;
    if (write(sock, &listener, sizeof(listener)) != (ssize_t)sizeof(listener) || read(sock, &go, 1) != 1)
        _exit(126);
    close(listener);
    close(sock);
    if (argv == NULL)
        _exit(0);
    /* The program gets the shim the supervisor ran without (handover.h), and
     * nothing in its tree hands over to a supervisor again. */
    const char *preload = getenv("UNSOCK_SUPERVISOR_PRELOAD");
    if (preload != NULL && (setenv("LD_PRELOAD", preload, 1) != 0 || unsetenv("UNSOCK_SUPERVISOR_PRELOAD") != 0))
        _exit(126);
    if (setenv("UNSOCK_SUPERVISED", "1", 1) != 0)
        _exit(126);
    systemd_pass_on();
    execvp(argv[0], argv);
    dprintf(STDERR_FILENO, "unsock: cannot run '%s': %s: check the name or give its path\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
}

/* What --check needs beyond the filter and pidfd_getfd: ADDFD. */
static const char *lacking(int listener)
{
    struct seccomp_notif_addfd add = {.id = 0};
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0 && (errno == EINVAL || errno == ENOTTY))
        return "SECCOMP_IOCTL_NOTIF_ADDFD (Linux 5.9)";
    return NULL;
}

/* Signals for the supervisor go to the program; but the terminal's ^C and
 * ^\ (sent by the kernel) reach the program itself, with its process
 * group: those are not sent twice. */
static void forward(int sig, siginfo_t *info, void *context)
{
    (void)context;
    if (child > 0 && !((sig == SIGINT || sig == SIGQUIT) && info->si_code == SI_KERNEL))
        kill(child, sig);
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS /* Linux 6.6; older headers */
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

/* RECV waits for ever once no process of the tree is left: a watcher sees
 * that (POLLHUP), and interrupts the serving thread until it has seen it.
 * It also reaps the program when it ends: before Linux 6.2 (or so) a
 * zombie still counts as a user of the filter, and the tree would never
 * be seen to end. */
static atomic_bool ended, served, reaped;
static int child_status;
static pthread_t server_thread;

static void wake(int sig)
{
    (void)sig;
}

static void *watch(void *arg)
{
    struct pollfd p = {*(int *)arg, 0, 0};
    int r;
    while ((r = poll(&p, 1, atomic_load(&reaped) ? -1 : 100)) == 0 || (r < 0 && errno == EINTR))
        if (!atomic_load(&reaped) && waitpid(child, &child_status, WNOHANG) == child)
            atomic_store(&reaped, true);
    atomic_store(&ended, true);
    for (struct timespec tick = {0, 10 * 1000 * 1000}; !atomic_load(&served); nanosleep(&tick, NULL))
        pthread_kill(server_thread, SIGRTMIN);
    return NULL;
}

static void serve(int listener)
{
    /* The caller waits for each answer: wake it on this CPU, and this
     * supervisor when it calls (ignored before Linux 6.6). */
    (void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
    struct sigaction interrupt = {.sa_handler = wake}; /* no SA_RESTART: RECV returns EINTR */
    pthread_t watcher;
    server_thread = pthread_self();
    if (sigaction(SIGRTMIN, &interrupt, NULL) != 0 || pthread_create(&watcher, NULL, watch, &listener) != 0) {
        unsock_warn("the supervisor cannot start: %s: the program's socket calls fail", strerror(errno));
        return;
    }
    while (!atomic_load(&ended)) {
        struct seccomp_notif req;
        int r = notif_recv(listener, &req);
        if (r > 0) {
            handle(listener, &req);
        } else if (r < 0) {
            unsock_warn("the seccomp listener failed: %s: the program's socket calls fail from now on",
                        strerror(errno));
            break;
        }
    }
    atomic_store(&served, true);
    pthread_detach(watcher); /* after a failed RECV the tree may live on, and the watcher with it */
}

/* The decision log's first line of the supervisor: its file. */
static void name_engine(void)
{
    char self[PATH_MAX], line[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(line, sizeof(line), "seccomp, %s", n > 0 ? self : "unsock-supervisor");
    unsock_log_engine(line);
}

int main(int argc, char **argv)
{
    bool check = argc == 2 && strcmp(argv[1], "--check") == 0;
    if (!check && (argc < 3 || strcmp(argv[1], "--") != 0)) {
        fprintf(stderr, "unsock: usage: unsock-supervisor -- PROGRAM [ARGS...] | --check: start it with 'unsock run --engine seccomp'\n");
        return 2;
    }
    if (!check) {
        unsock_setup(env);
        name_engine();
        systemd_take();
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        perror("unsock: socketpair");
        return 126;
    }
    child = fork();
    if (child < 0) {
        perror("unsock: fork");
        return 126;
    }
    if (child == 0) {
        close(sv[0]);
        run_child(sv[1], check ? NULL : argv + 2);
    }
    close(sv[1]);
    /* The supervisor holds descriptors for the tree (epoll sets of sockets
     * not converted yet, sockets in conversion): as many as it may. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile); /* best effort: the default serves most programs */
    }
    errno = 0;
    int listener = take_fd(sv[0], child);
    const char *missing = listener < 0 && errno == ENOSYS ? "pidfd_getfd (Linux 5.6)"
                          : listener >= 0 && check  ? lacking(listener)
                                                    : NULL;
    if (missing != NULL)
        fprintf(stderr, "unsock: the seccomp engine cannot run here: this kernel lacks %s: use --engine preload\n",
                missing);
    if (listener >= 0 && write(sv[0], "", 1) != 1)
        listener = -1;
    close(sv[0]);
    struct sigaction fw = {.sa_sigaction = forward, .sa_flags = SA_RESTART | SA_SIGINFO};
    for (int sig = 1; sig < NSIG && listener >= 0 && !check; sig++)
        if (sig != SIGCHLD && sig != SIGKILL && sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN &&
            sig != SIGTTOU && sig != SIGWINCH && sig != SIGPIPE && sig < SIGRTMIN &&
            sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE && sig != SIGTRAP && sig != SIGSYS &&
            sig != SIGABRT) /* the supervisor's own faults end it */
            sigaction(sig, &fw, NULL);
    if (listener >= 0 && !check)
        serve(listener);
    int status = 0;
    while (!atomic_load(&reaped) && waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (atomic_load(&reaped))
        status = child_status;
    handlers_exit();
    if (check)
        return listener >= 0 && missing == NULL && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        raise(WTERMSIG(status));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 126;
}
