/* execve and the rest of the exec family: sockets passed by systemd reach
 * the program that a wrapper process execs (systemd.h), and a program the
 * preload engine cannot reach goes to the seccomp engine (handover.h). */
#define _GNU_SOURCE /* execvpe */
#include "early.h"
#include "handover.h"
#include "init.h"
#include "systemd.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <unistd.h>

extern char **environ;

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

static struct {
    execve_fn execve, execvpe;
    fexecve_fn fexecve;
} real;
static pthread_once_t resolved = PTHREAD_ONCE_INIT;

static void resolve(void)
{
    real.execve = (execve_fn)dlsym(RTLD_NEXT, "execve");
    real.execvpe = (execve_fn)dlsym(RTLD_NEXT, "execvpe");
    real.fexecve = (fexecve_fn)dlsym(RTLD_NEXT, "fexecve");
}

/* One exec with the environment unsock_systemd_exec_env() gives, if any;
 * f is resolved (or NULL if the C library lacks it). */
static int exec_with(execve_fn f, const char *path, char *const argv[], char *const envp[], int search)
{
    unsock_init();
    if (f == NULL) {
        errno = ENOSYS;
        return -1;
    }
    unsock_early_materialize_inherited(); /* the program exec'd could not tell what they are */
    char **env = unsock_systemd_exec_env(envp);
    if (env == NULL)
        return unsock_exec(f, path, argv, envp, search);
    unsock_exec(f, path, argv, env, search);
    unsock_systemd_exec_failed(env);
    return -1;
}

UNSOCK_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    pthread_once(&resolved, resolve);
    return exec_with(real.execve, path, argv, envp, 0);
}

UNSOCK_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

UNSOCK_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    pthread_once(&resolved, resolve);
    return exec_with(real.execvpe, file, argv, envp, 1);
}

UNSOCK_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

UNSOCK_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    unsock_init();
    pthread_once(&resolved, resolve);
    if (real.fexecve == NULL) {
        errno = ENOSYS;
        return -1;
    }
    unsock_early_materialize_inherited(); /* the program exec'd could not tell what they are */
    char **env = unsock_systemd_exec_env(envp);
    if (env == NULL)
        return real.fexecve(fd, argv, envp);
    real.fexecve(fd, argv, env);
    unsock_systemd_exec_failed(env);
    return -1;
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
