/* Under `unsock run --engine auto`, a dynamically linked program (a shell,
 * env, a Python launcher) may start one that LD_PRELOAD cannot reach: a
 * statically linked or Go program. Its exec becomes an exec of the seccomp
 * engine's supervisor running it (UNSOCK_SUPERVISOR names the supervisor;
 * within a supervised tree, UNSOCK_SUPERVISED, nothing is handed over). */
#ifndef UNSOCK_HANDOVER_H
#define UNSOCK_HANDOVER_H

typedef int (*unsock_execve_fn)(const char *, char *const[], char *const[]);

/* exec path (found in PATH if search) with f, through the supervisor if
 * it needs it; returns only on failure, as exec does. */
int unsock_exec(unsock_execve_fn f, const char *path, char *const argv[], char *const envp[], int search);

/* This shim's own file (found with dladdr), or NULL if it cannot be told. */
const char *unsock_shim_file(void);

#endif
