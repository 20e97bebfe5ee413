/* A launcher that systemd (systemd-socket-activate) starts in place of the
 * program: it runs PROG, with its arguments, by HOW, and for a spawn waits
 * for it and exits as it did.
 * Usage: sdlaunch HOW PROG [ARG...]
 * HOW: execveat (the path), execveat-fd (an O_PATH descriptor, AT_EMPTY_PATH;
 *      both glibc only: musl has no execveat()), fexecve, posix_spawn,
 *      posix_spawnp (PROG's name, found in PATH) */
#include "probe.h"

#include <libgen.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static int wait_for(pid_t pid)
{
    int status;
    MUST(waitpid(pid, &status, 0));
    CHECK(WIFEXITED(status), "the child did not exit normally (status %d)", status);
    return WEXITSTATUS(status);
}

static int spawn(const char *how, char **argv)
{
    pid_t pid;
    int err;
    if (strcmp(how, "posix_spawnp") == 0) {
        char dir[4096], name[4096];
        snprintf(dir, sizeof(dir), "%s", argv[0]);
        snprintf(name, sizeof(name), "%s", argv[0]);
        char path[8192];
        snprintf(path, sizeof(path), "PATH=%s", dirname(dir));
        MUST(putenv(path));
        err = posix_spawnp(&pid, basename(name), NULL, NULL, argv, environ);
    } else {
        err = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
    }
    errno = err;
    CHECK(err == 0, "%s %s", how, argv[0]);
    return wait_for(pid);
}

int main(int argc, char **argv)
{
    CHECK(argc >= 3, "usage: sdlaunch HOW PROG [ARG...]");
    const char *how = argv[1];
    char **prog = argv + 2;
    if (strncmp(how, "posix_spawn", 11) == 0)
        return spawn(how, prog);
    if (strcmp(how, "fexecve") == 0) {
        int fd = open(prog[0], O_RDONLY | O_CLOEXEC);
        MUST(fd);
        fexecve(fd, prog, environ);
#ifdef __GLIBC__
    } else if (strcmp(how, "execveat") == 0) {
        execveat(AT_FDCWD, prog[0], prog, environ, 0);
    } else if (strcmp(how, "execveat-fd") == 0) {
        int fd = open(prog[0], O_PATH | O_CLOEXEC);
        MUST(fd);
        execveat(fd, "", prog, environ, AT_EMPTY_PATH);
#endif
    } else {
        CHECK(0, "unknown HOW %s", how);
    }
    CHECK(0, "%s %s", how, prog[0]);
}
