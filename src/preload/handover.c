#define _GNU_SOURCE
#include "handover.h"

#include "elfinfo.h"
#include "log.h"
#include "sockopts.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *env_of(char *const envp[], const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

/* The file exec would run: path itself, or the first executable file of
 * that name in PATH. */
static const char *located(const char *path, char *const envp[], int search, char *buf, size_t buflen)
{
    if (!search || strchr(path, '/') != NULL)
        return path;
    const char *dirs = env_of(envp, "PATH");
    for (const char *d = dirs ? dirs : "/usr/local/bin:/usr/bin:/bin"; d != NULL; d = strchr(d, ':') ? strchr(d, ':') + 1 : NULL) {
        size_t len = strcspn(d, ":");
        if (snprintf(buf, buflen, "%.*s%s%s", (int)len, d, len ? "/" : "", path) < (int)buflen &&
            access(buf, X_OK) == 0)
            return buf;
    }
    return NULL;
}

/* envp without LD_PRELOAD, which goes to UNSOCK_SUPERVISOR_PRELOAD for the
 * supervisor to give the program (the supervisor runs without the shim). */
static char **supervisor_env(char *const envp[])
{
    size_t n = 0;
    while (envp != NULL && envp[n] != NULL)
        n++;
    char **out = calloc(n + 2, sizeof(*out));
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0) {
            size_t len = strlen(envp[i]) + sizeof("UNSOCK_SUPERVISOR_PRELOAD=") - sizeof("LD_PRELOAD=");
            char *moved = malloc(len + 1);
            if (moved == NULL)
                continue;
            snprintf(moved, len + 1, "UNSOCK_SUPERVISOR_PRELOAD=%s", envp[i] + 11);
            out[o++] = moved;
        } else {
            out[o++] = envp[i];
        }
    }
    return out;
}

/* This shim's file, and the build for the other C library beside it: on a glibc system
 * libunsock.so is the glibc build and libunsock-musl.so the musl one; on a musl system
 * (Alpine) libunsock.so is the musl build and there is no other (other_file stays empty). */
static char shim_file[PATH_MAX], other_file[PATH_MAX];

static void find_shims(void)
{
    Dl_info self;
    if (dladdr((void *)find_shims, &self) == 0 || self.dli_fname == NULL || self.dli_fname[0] != '/')
        return;
    snprintf(shim_file, sizeof(shim_file), "%s", self.dli_fname);
    const char *slash = strrchr(shim_file, '/');
#ifdef __GLIBC__
    const char *other = "libunsock-musl.so";
#else
    const char *other = strcmp(slash + 1, "libunsock-musl.so") == 0 ? "libunsock.so" : NULL;
#endif
    if (other != NULL)
        snprintf(other_file, sizeof(other_file), "%.*s/%s", (int)(slash - shim_file), shim_file, other);
}

/* envp with LD_PRELOAD naming the other build instead of this one; NULL
 * without memory. */
static char **other_build_env(char *const envp[])
{
    size_t n = 0;
    while (envp != NULL && envp[n] != NULL)
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    for (size_t i = 0; out != NULL && i < n; i++) {
        const char *at = strncmp(envp[i], "LD_PRELOAD=", 11) == 0 ? strstr(envp[i], shim_file) : NULL;
        out[i] = envp[i];
        if (at != NULL) {
            size_t len = strlen(envp[i]) - strlen(shim_file) + strlen(other_file);
            char *swapped = malloc(len + 1);
            if (swapped != NULL)
                snprintf(swapped, len + 1, "%.*s%s%s", (int)(at - envp[i]), envp[i], other_file, at + strlen(shim_file));
            out[i] = swapped != NULL ? swapped : envp[i];
        }
    }
    return out;
}

static pthread_once_t shims_found = PTHREAD_ONCE_INIT;

const char *unsock_shim_file(void)
{
    pthread_once(&shims_found, find_shims);
    return shim_file[0] != '\0' ? shim_file : NULL;
}

/* A program of the other C library: it gets the other build of the shim,
 * if there is one; refused with one line if not (the loader would fail on
 * this one, or the program would run unconverted). */
static int exec_other_libc(unsock_execve_fn f, const char *path, const char *file, char *const argv[],
                           char *const envp[])
{
    pthread_once(&shims_found, find_shims);
    const char *preload = env_of(envp, "LD_PRELOAD");
    if (shim_file[0] == '\0' || preload == NULL || strstr(preload, shim_file) == NULL)
        return f(path, argv, envp); /* not preloaded there: none of unsock's business */
    if (other_file[0] == '\0' || access(other_file, R_OK) != 0) {
#ifdef __GLIBC__
        unsock_warn("exec %s: a musl program, and there is no musl build of the shim (%s): install musl-tools "
                    "(apt-get install musl-tools) and reinstall unsock, or run it with --engine seccomp",
                    file, other_file);
#else
        unsock_warn("exec %s: a glibc program, and unsock has no glibc build of its shim on this musl system: "
                    "run it with --engine seccomp", file);
#endif
        errno = ENOEXEC;
        return -1;
    }
    char **env = other_build_env(envp);
    if (env == NULL)
        return f(path, argv, envp);
    unsock_debug("exec %s: another C library, with %s", file, other_file);
    f(path, argv, env);
    int saved = errno;
    free(env); /* the swapped LD_PRELOAD string leaks on this failure path only */
    errno = saved;
    return -1;
}

int unsock_exec(unsock_execve_fn f, const char *path, char *const argv[], char *const envp[], int search)
{
    const char *supervisor = env_of(envp, "UNSOCK_SUPERVISOR");
    char found[PATH_MAX];
    const char *file = located(path, envp, search, found, sizeof(found));
#ifdef __GLIBC__
    const enum unsock_libc own = UNSOCK_LIBC_GLIBC;
#else
    const enum unsock_libc own = UNSOCK_LIBC_MUSL;
#endif
    enum unsock_libc libc = file != NULL ? unsock_elf_libc(file) : UNSOCK_LIBC_UNKNOWN;
    if (libc != UNSOCK_LIBC_UNKNOWN && libc != own)
        return exec_other_libc(f, path, file, argv, envp);
    if (file == NULL || supervisor == NULL || env_of(envp, "UNSOCK_SUPERVISED") != NULL ||
        !unsock_elf_bypasses_libc(file))
        return f(path, argv, envp);
    size_t n = 0;
    while (argv[n] != NULL)
        n++;
    char **args = calloc(n + 3, sizeof(*args)), **env = supervisor_env(envp);
    if (args == NULL || env == NULL) {
        free(args);
        free(env);
        return f(path, argv, envp);
    }
    args[0] = (char *)supervisor;
    args[1] = "--";
    args[2] = (char *)file;
    for (size_t i = 1; i < n; i++)
        args[i + 2] = argv[i];
    unsock_debug("exec %s: it bypasses libc, handed to the seccomp engine", file);
    f(supervisor, args, env);
    int saved = errno;
    free(args);
    free(env); /* the moved LD_PRELOAD string leaks on this failure path only */
    errno = saved;
    return -1;
}

/* The supervisor is installed beside the shim. */
static char supervisor_binary[PATH_MAX];

static void find_supervisor(void)
{
    Dl_info self;
    if (dladdr((void *)find_supervisor, &self) == 0 || self.dli_fname == NULL)
        return;
    const char *slash = strrchr(self.dli_fname, '/');
    int dir = slash != NULL ? (int)(slash - self.dli_fname) : 1;
    if (snprintf(supervisor_binary, sizeof(supervisor_binary), "%.*s/unsock-supervisor", dir,
                 slash != NULL ? self.dli_fname : ".") >= (int)sizeof(supervisor_binary))
        supervisor_binary[0] = '\0';
}

const char *unsock_supervisor_binary(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_supervisor);
    return supervisor_binary[0] != '\0' ? supervisor_binary : NULL;
}
