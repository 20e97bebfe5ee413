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

/* The file c runs: its path, the first executable file of that name in
 * PATH, or the file that its descriptor names (buf holds PATH_MAX). */
static const char *located(const struct unsock_exec_call *c, char *const envp[], char *buf, size_t buflen)
{
    const char *path = c->path;
    if (c->dirfd != AT_FDCWD && path[0] != '/') {
        char at[PATH_MAX];
        if (snprintf(at, sizeof(at), "/proc/self/fd/%d%s%s", c->dirfd, path[0] ? "/" : "", path) >= (int)sizeof(at))
            return NULL;
        return realpath(at, buf);
    }
    if (!c->search || strchr(path, '/') != NULL)
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

/* An environment made from envp, entry for entry (supervisor_env,
 * other_build_env), freed with the entries that are its own. */
static void free_env(char **env, char *const envp[])
{
    for (size_t i = 0; env[i] != NULL; i++)
        if (env[i] != envp[i])
            free(env[i]);
    free(env);
}

/* envp without LD_PRELOAD, which goes to UNSOCK_SUPERVISOR_PRELOAD for the
 * supervisor to give the program (the supervisor runs without the shim);
 * NULL without memory. */
static char **supervisor_env(char *const envp[])
{
    size_t n = 0;
    while (envp != NULL && envp[n] != NULL)
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    for (size_t i = 0; out != NULL && i < n; i++) {
        out[i] = envp[i];
        if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0) {
            size_t len = strlen(envp[i]) + sizeof("UNSOCK_SUPERVISOR_PRELOAD=") - sizeof("LD_PRELOAD=");
            if ((out[i] = malloc(len + 1)) == NULL) {
                free_env(out, envp);
                return NULL;
            }
            snprintf(out[i], len + 1, "UNSOCK_SUPERVISOR_PRELOAD=%s", envp[i] + 11);
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

/* c failed with err, as c reports it. */
static int refused(const struct unsock_exec_call *c, int err)
{
    if (c->spawn)
        return err;
    errno = err;
    return -1;
}


/* A program of the other C library: it gets the other build of the shim,
 * if there is one; refused with one line if not (the loader would fail on
 * this one, or the program would run unconverted). */
static int exec_other_libc(const struct unsock_exec_call *c, const char *file, char *const envp[])
{
    pthread_once(&shims_found, find_shims);
    const char *preload = env_of(envp, "LD_PRELOAD");
    if (shim_file[0] == '\0' || preload == NULL || strstr(preload, shim_file) == NULL)
        return c->again(c, envp); /* not preloaded there: none of unsock's business */
    if (other_file[0] == '\0' || access(other_file, R_OK) != 0) {
#ifdef __GLIBC__
        unsock_warn("exec %s: a musl program, and there is no musl build of the shim (%s): install musl-tools "
                    "(apt-get install musl-tools) and reinstall unsock, or run it with --engine seccomp",
                    file, other_file);
#else
        unsock_warn("exec %s: a glibc program, and unsock has no glibc build of its shim on this musl system: "
                    "run it with --engine seccomp", file);
#endif
        return refused(c, ENOEXEC);
    }
    char **env = other_build_env(envp);
    if (env == NULL)
        return c->again(c, envp);
    unsock_debug("exec %s: another C library, with %s", file, other_file);
    int r = c->again(c, env);
    int saved = errno;
    free_env(env, envp);
    errno = saved;
    return r;
}

int unsock_exec(const struct unsock_exec_call *c, char *const envp[])
{
    const char *supervisor = env_of(envp, "UNSOCK_SUPERVISOR");
    char found[PATH_MAX];
    const char *file = located(c, envp, found, sizeof(found));
#ifdef __GLIBC__
    const enum unsock_libc own = UNSOCK_LIBC_GLIBC;
#else
    const enum unsock_libc own = UNSOCK_LIBC_MUSL;
#endif
    enum unsock_libc libc = file != NULL ? unsock_elf_libc(file) : UNSOCK_LIBC_UNKNOWN;
    if (libc != UNSOCK_LIBC_UNKNOWN && libc != own)
        return exec_other_libc(c, file, envp);
    if (file == NULL || supervisor == NULL || env_of(envp, "UNSOCK_SUPERVISED") != NULL ||
        !unsock_elf_bypasses_libc(file))
        return c->again(c, envp);
    size_t n = 0;
    while (c->argv[n] != NULL)
        n++;
    char **args = calloc(n + 3, sizeof(*args)), **env = supervisor_env(envp);
    if (args == NULL || env == NULL) {
        free(args);
        if (env != NULL)
            free_env(env, envp);
        return c->again(c, envp);
    }
    args[0] = (char *)supervisor;
    args[1] = "--";
    args[2] = (char *)file;
    for (size_t i = 1; i < n; i++)
        args[i + 2] = c->argv[i];
    unsock_debug("exec %s: it bypasses libc, handed to the seccomp engine", file);
    int r = c->other(c, supervisor, args, env);
    int saved = errno;
    free(args);
    free_env(env, envp);
    errno = saved;
    return r;
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
