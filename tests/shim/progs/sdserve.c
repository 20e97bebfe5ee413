/* A small HTTP server started by systemd-socket-activate, as daemons are:
 * it first does what MODE says to the descriptors it inherited, then
 * binds IP:PORT itself (which a `systemd` rule turns into a passed socket)
 * and answers CONNS requests. Each answer names the listener's address, the
 * peer accept() reported, and the LISTEN_* variables the server and a child
 * it runs (env) see.
 * Usage: sdserve MODE IP PORT CONNS [nonblock]
 * MODE: none, closefrom, close_range (glibc: musl has neither function, and the system call
 *       made directly is out of any preload shim's sight), closeloop (close 3..1023 one by one),
 *       dup2, dup3 (/dev/null onto fd 3, which must then be /dev/null),
 *       dup2bad (a dup2 onto fd 3 that fails),
 *       rebind (bind, close, bind again). */
#include "probe.h"

#include <limits.h>
#ifdef __GLIBC__
#include <linux/close_range.h>
#endif
#include <poll.h>
#include <sys/wait.h>

extern char **environ;

static void close_everything(const char *mode)
{
#ifdef __GLIBC__
    if (strcmp(mode, "closefrom") == 0) {
        closefrom(3);
        return;
    }
    if (strcmp(mode, "close_range") == 0) {
        MUST(close_range(3, ~0u, 0));
        return;
    }
#endif
    if (strcmp(mode, "closeloop") == 0) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
    } else if (strcmp(mode, "dup2") == 0 || strcmp(mode, "dup3") == 0) {
        int n = open("/dev/null", O_RDONLY | O_CLOEXEC);
        MUST(n);
        MUST(mode[3] == '2' ? dup2(n, 3) : dup3(n, 3, O_CLOEXEC));
        MUST(close(n));
        char target[PATH_MAX];
        ssize_t len = readlink("/proc/self/fd/3", target, sizeof(target) - 1);
        MUST(len);
        target[len] = '\0';
        CHECK(strcmp(target, "/dev/null") == 0, "fd 3 is %s after dup2 of /dev/null onto it", target);
        printf("fd3 %s\n", target);
    } else if (strcmp(mode, "dup2bad") == 0) {
        /* A failed dup2 leaves nothing of the passed socket on fd 3. */
        CHECK(dup2(1000, 3) < 0 && errno == EBADF, "dup2 of a closed fd onto 3");
        CHECK(fcntl(3, F_GETFD) < 0, "fd 3 still open after a failed dup2 onto it");
    } else {
        CHECK(strcmp(mode, "none") == 0 || strcmp(mode, "rebind") == 0, "unknown mode %s", mode);
    }
}

static int bound_socket(const char *ip, int port, int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    MUST(fd);
    int one = 1;
    MUST(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
    struct sockaddr_in a = inet_addr_port(ip, port);
    MUST(bind(fd, (struct sockaddr *)&a, sizeof(a)));
    return fd;
}

/* The LISTEN_* lines a child run with execve(environ) prints, or "none". */
static void child_listen_env(char *out, size_t outlen)
{
    int p[2];
    MUST(pipe(p));
    pid_t pid = fork();
    MUST(pid);
    if (pid == 0) {
        MUST(dup2(p[1], 1));
        char *argv[] = {"env", NULL};
        execve("/usr/bin/env", argv, environ);
        _exit(127);
    }
    MUST(close(p[1]));
    char all[65536];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof(all) - 1 && (r = read(p[0], all + got, sizeof(all) - 1 - got)) > 0)
        got += (size_t)r;
    all[got] = '\0';
    MUST(close(p[0]));
    int status;
    MUST(waitpid(pid, &status, 0));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "env exited with status %d", status);
    out[0] = '\0';
    for (char *line = strtok(all, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, "LISTEN_", 7) == 0 && strlen(out) + strlen(line) + 2 < outlen) {
            strcat(out, line);
            strcat(out, " ");
        }
    }
    if (out[0] == '\0')
        snprintf(out, outlen, "none");
}

static void serve_one(int l, int nonblock, const char *name)
{
    if (nonblock) {
        struct pollfd pfd = {.fd = l, .events = POLLIN};
        CHECK(poll(&pfd, 1, 30000) == 1, "no connection within 30 s");
    }
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    int c = accept(l, (struct sockaddr *)&peer, &plen);
    MUST(c);
    char peer_s[INET6_ADDRSTRLEN + 16] = "?";
    if (peer.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&peer;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(peer_s, sizeof(peer_s), "inet %s %d", ip, ntohs(in->sin_port));
    } else {
        snprintf(peer_s, sizeof(peer_s), "family %d", peer.ss_family);
    }
    if (nonblock)
        MUST(fcntl(c, F_SETFL, 0));
    char req[8192];
    size_t got = 0;
    while (got < sizeof(req) - 1) {
        ssize_t r = read(c, req + got, sizeof(req) - 1 - got);
        MUST(r);
        if (r == 0)
            break;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL)
            break;
    }
    char child[1024];
    child_listen_env(child, sizeof(child));
    const char *self = getenv("LISTEN_PID");
    char body[2048], resp[3072];
    int blen = snprintf(body, sizeof(body), "hello from sdserve\nlistener %s\npeer %s\nself-env %s\nchild-env %s\n",
                        name, peer_s, self ? self : "none", child);
    int rlen = snprintf(resp, sizeof(resp),
                        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                        blen, body);
    write_all(c, resp, (size_t)rlen);
    MUST(close(c));
}

int main(int argc, char **argv)
{
    CHECK(argc == 5 || argc == 6, "usage: sdserve MODE IP PORT CONNS [nonblock]");
    const char *mode = argv[1], *ip = argv[2];
    int port = atoi(argv[3]), conns = atoi(argv[4]);
    int nonblock = argc == 6 && strcmp(argv[5], "nonblock") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);

    close_everything(mode);
    int l = bound_socket(ip, port, nonblock);
    if (strcmp(mode, "rebind") == 0) {
        MUST(close(l));
        l = bound_socket(ip, port, nonblock);
    }
    MUST(listen(l, 64));
    int fl = fcntl(l, F_GETFL), fdfl = fcntl(l, F_GETFD);
    MUST(fl);
    MUST(fdfl);
    CHECK(((fl & O_NONBLOCK) != 0) == nonblock, "O_NONBLOCK %d, wanted %d", fl & O_NONBLOCK, nonblock);
    CHECK((fdfl & FD_CLOEXEC) != 0, "FD_CLOEXEC lost");

    struct sockaddr_storage a;
    socklen_t alen = sizeof(a);
    MUST(getsockname(l, (struct sockaddr *)&a, &alen));
    char name[INET6_ADDRSTRLEN + 16] = "?";
    if (a.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&a;
        char s[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, s, sizeof(s));
        snprintf(name, sizeof(name), "inet %s %d", s, ntohs(in->sin_port));
    } else {
        snprintf(name, sizeof(name), "family %d", a.ss_family);
    }
    printf("listening fd %d %s\n", l, name);
    for (int i = 0; i < conns; i++)
        serve_one(l, nonblock, name);
    puts("done");
    return 0;
}
