/* Under `unsock run --engine auto`, a dynamically linked program (a shell,
 * env, a Python launcher) may start one that LD_PRELOAD cannot reach: a
 * statically linked or Go program. Its exec becomes an exec of the seccomp
 * engine's supervisor running it (UNSOCK_SUPERVISOR names the supervisor;
 * within a supervised tree, UNSOCK_SUPERVISED, nothing is handed over). */
#ifndef UNSOCK_HANDOVER_H
#define UNSOCK_HANDOVER_H

/* One exec as the program asked for it (execve, execvpe, execveat,
 * fexecve) or one spawn (posix_spawn, posix_spawnp): the call again with
 * another environment, or the same kind of call of another file. */
struct unsock_exec_call {
    const char *path; /* as named: found in PATH if search, relative to dirfd, or "" for dirfd itself */
    int dirfd;        /* AT_FDCWD, or the directory (or the file) of execveat and fexecve */
    int search;
    int spawn; /* a spawn: returns an error number, 0 on success, rather than -1 with errno */
    char *const *argv;
    int (*again)(const struct unsock_exec_call *c, char *const envp[]);
    int (*other)(const struct unsock_exec_call *c, const char *file, char *const argv[], char *const envp[]);
    const void *args; /* what again and other need besides the above */
};

/* Make call c with envp, through the supervisor if the file needs it, or
 * with the other C library's build of the shim; returns what the call
 * returns (an exec only on failure). */
int unsock_exec(const struct unsock_exec_call *c, char *const envp[]);

/* This shim's own file (found with dladdr), or NULL if it cannot be told. */
const char *unsock_shim_file(void);

#endif
