/* execve and the rest of the exec family, and posix_spawn: sockets passed by
 * systemd reach the program that a wrapper process execs or spawns
 * (systemd.h), and a program the preload engine cannot reach goes to the
 * seccomp engine (handover.h). */
#define _GNU_SOURCE /* execvpe, execveat */
#include "early.h"
#include "handover.h"
#include "init.h"
#include "systemd.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                        char *const[], char *const[]);

static struct {
    execve_fn execve, execvpe;
    execveat_fn execveat;
    fexecve_fn fexecve;
    spawn_fn posix_spawn, posix_spawnp;
} real;
static pthread_once_t resolved = PTHREAD_ONCE_INIT;

static void resolve(void)
{
    real.execve = (execve_fn)dlsym(RTLD_NEXT, "execve");
    real.execvpe = (execve_fn)dlsym(RTLD_NEXT, "execvpe");
    real.execveat = (execveat_fn)dlsym(RTLD_NEXT, "execveat"); /* glibc 2.34 on; not musl */
    real.fexecve = (fexecve_fn)dlsym(RTLD_NEXT, "fexecve");
    real.posix_spawn = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawn");
    real.posix_spawnp = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawnp");
}

/* What a call was given besides its file, argv and envp. */
struct exec_args {
    execve_fn exec; /* execve, execvpe */
    int flags;      /* execveat's */
    spawn_fn spawn; /* posix_spawn, posix_spawnp */
    pid_t *pid;
    const posix_spawn_file_actions_t *actions;
    const posix_spawnattr_t *attr;
};

static int unresolved(const struct unsock_exec_call *c)
{
    if (c->spawn)
        return ENOSYS;
    errno = ENOSYS;
    return -1;
}

static int exec_path(const struct unsock_exec_call *c, char *const envp[])
{
    const struct exec_args *a = c->args;
    return a->exec != NULL ? a->exec(c->path, c->argv, envp) : unresolved(c);
}

static int exec_fd(const struct unsock_exec_call *c, char *const envp[])
{
    return real.fexecve != NULL ? real.fexecve(c->dirfd, c->argv, envp) : unresolved(c);
}

static int exec_other(const struct unsock_exec_call *c, const char *file, char *const argv[], char *const envp[])
{
    return real.execve != NULL ? real.execve(file, argv, envp) : unresolved(c);
}

static int spawn_again(const struct unsock_exec_call *c, char *const envp[])
{
    const struct exec_args *a = c->args;
    return a->spawn != NULL ? a->spawn(a->pid, c->path, a->actions, a->attr, c->argv, envp) : unresolved(c);
}

static int spawn_other(const struct unsock_exec_call *c, const char *file, char *const argv[], char *const envp[])
{
    const struct exec_args *a = c->args;
    return real.posix_spawn != NULL ? real.posix_spawn(a->pid, file, a->actions, a->attr, argv, envp)
                                    : unresolved(c);
}

/* What every exec and spawn carries over: early sockets made IP sockets
 * (the program started could not tell what they are), the sockets systemd
 * passed, and the engine and shim build the program needs (handover.h). */
static int carried(const struct unsock_exec_call *c, char *const envp[])
{
    unsock_init();
    unsock_early_materialize_inherited();
    char **env = unsock_systemd_exec_env(envp, c->spawn);
    if (env == NULL)
        return unsock_exec(c, envp);
    int r = unsock_exec(c, env);
    unsock_systemd_exec_failed(env); /* the exec failed, or the spawned child has its copies */
    return r;
}

static int exec_call(const char *path, int dirfd, int search, char *const argv[], char *const envp[],
                     int (*again)(const struct unsock_exec_call *, char *const[]), const struct exec_args *a)
{
    pthread_once(&resolved, resolve);
    struct unsock_exec_call c = {.path = path, .dirfd = dirfd, .search = search, .argv = argv, .again = again,
                                 .other = exec_other, .args = a};
    return carried(&c, envp);
}

UNSOCK_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    pthread_once(&resolved, resolve);
    struct exec_args a = {.exec = real.execve};
    return exec_call(path, AT_FDCWD, 0, argv, envp, exec_path, &a);
}

UNSOCK_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

UNSOCK_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    pthread_once(&resolved, resolve);
    struct exec_args a = {.exec = real.execvpe};
    return exec_call(file, AT_FDCWD, 1, argv, envp, exec_path, &a);
}

UNSOCK_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

#ifdef __GLIBC__ /* musl has no execveat() */
static int exec_at(const struct unsock_exec_call *c, char *const envp[])
{
    const struct exec_args *a = c->args;
    if (real.execveat != NULL)
        return real.execveat(c->dirfd, c->path, c->argv, envp, a->flags);
    return (int)syscall(SYS_execveat, c->dirfd, c->path, c->argv, envp, a->flags); /* glibc before 2.34 */
}

UNSOCK_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    struct exec_args a = {.flags = flags};
    return exec_call(path, dirfd, 0, argv, envp, exec_at, &a);
}
#endif

UNSOCK_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    struct exec_args a = {0};
    return exec_call("", fd, 0, argv, envp, exec_fd, &a);
}

static int spawn_call(spawn_fn f, pid_t *pid, const char *path, int search,
                      const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr, char *const argv[],
                      char *const envp[])
{
    struct exec_args a = {.spawn = f, .pid = pid, .actions = actions, .attr = attr};
    struct unsock_exec_call c = {.path = path, .dirfd = AT_FDCWD, .search = search, .spawn = 1, .argv = argv,
                                 .again = spawn_again, .other = spawn_other, .args = &a};
    return carried(&c, envp);
}

UNSOCK_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                              const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    pthread_once(&resolved, resolve);
    return spawn_call(real.posix_spawn, pid, path, 0, actions, attr, argv, envp);
}

UNSOCK_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                               const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    pthread_once(&resolved, resolve);
    return spawn_call(real.posix_spawnp, pid, file, 1, actions, attr, argv, envp);
}

/* execl, execlp, execle: the arguments up to their NULL as an argv array
 * on the stack (no malloc: these may run in a vfork child), and for execle
 * the envp after it. */
static int exec_list(execve_fn f, const char *path, const char *arg, va_list ap, bool with_env)
{
    va_list count;
    va_copy(count, ap);
    size_t n = 1;
    for (const char *a = arg; a != NULL; a = va_arg(count, const char *))
        n++;
    va_end(count);
    char *argv[n];
    argv[0] = (char *)arg;
    for (size_t i = 1; i < n; i++)
        argv[i] = va_arg(ap, char *);
    char **envp = with_env ? va_arg(ap, char **) : environ;
    return f(path, argv, envp);
}

UNSOCK_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int r = exec_list(execve, path, arg, ap, false);
    va_end(ap);
    return r;
}

UNSOCK_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int r = exec_list(execve, path, arg, ap, true);
    va_end(ap);
    return r;
}

UNSOCK_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int r = exec_list(execvpe, file, arg, ap, false);
    va_end(ap);
    return r;
}
