/* Fork and exec in a supervised tree: the parent listens on IP:PORT1; a forked child
 * connects to it and execs this program again (via /proc/self/exe), which finds its
 * inherited connection still converted, then binds and listens on IP:PORT2 itself.
 *
 * Usage: forkexec parent IP PORT1 PORT2
 *        (forkexec bind IP PORT1 PORT2 FD: the exec'd image; FD the inherited connection)
 *
 * parent prints "listening", "got child", "got exec" (what came over the child's
 * connection, before and after its exec), then "child exited N".
 * bind prints "peer ok" (the inherited descriptor's peer is IP:PORT1), "bound", accepts
 * one connection, answers "binder ok\n" to its first line and prints "served".
 * Any failure: a line starting with FAIL on stderr, exit 1. */
#include "probe.h"

#include <sys/wait.h>

/* A failure, naming the process (parent, child or the exec'd image). */
static void fail(const char *what)
{
    fprintf(stderr, "FAIL %d %s: errno %d %s\n", (int)getpid(), what, errno, strerror(errno));
    exit(1);
}

/* One line (at most 63 bytes) from fd, without its newline; "" at end of stream. */
static void read_line(int fd, char *buf, size_t size)
{
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t r = read(fd, buf + got, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            fail("read");
        if (r == 0 || buf[got] == '\n')
            break;
        got++;
    }
    buf[got] = '\0';
}

static int binder(const char *ip, const char *port1, const char *port2, int fd)
{
    struct sockaddr_in peer, want = inet_addr_port(ip, atoi(port1));
    socklen_t len = sizeof(peer);
    if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0)
        fail("getpeername of the inherited connection");
    if (len != sizeof(peer) || peer.sin_family != AF_INET || peer.sin_port != want.sin_port ||
        peer.sin_addr.s_addr != want.sin_addr.s_addr) {
        fprintf(stderr, "FAIL the inherited connection's peer is family %d port %d\n", peer.sin_family,
                ntohs(peer.sin_port));
        return 1;
    }
    dprintf(1, "peer ok\n");
    write_all(fd, "exec\n", strlen("exec\n"));
    close(fd);
    int l = listener(ip, atoi(port2));
    dprintf(1, "bound\n");
    int c;
    while ((c = accept(l, NULL, NULL)) < 0)
        if (errno != EINTR)
            fail("accept");
    char line[64];
    read_line(c, line, sizeof(line));
    write_all(c, "binder ok\n", strlen("binder ok\n"));
    close(c);
    close(l);
    dprintf(1, "served\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "bind") == 0)
        return binder(argv[2], argv[3], argv[4], atoi(argv[5]));
    if (argc != 5 || strcmp(argv[1], "parent") != 0) {
        fprintf(stderr, "FAIL usage: forkexec parent IP PORT1 PORT2\n");
        return 1;
    }
    const char *ip = argv[2], *port1 = argv[3], *port2 = argv[4];
    int l = listener(ip, atoi(port1));
    dprintf(1, "listening\n");
    pid_t child = fork();
    if (child < 0)
        fail("fork");
    if (child == 0) {
        close(l);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0)
            fail("socket");
        struct sockaddr_in a = inet_addr_port(ip, atoi(port1));
        if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0)
            fail("connect");
        write_all(c, "child\n", strlen("child\n"));
        char fd[16];
        snprintf(fd, sizeof(fd), "%d", c);
        execl("/proc/self/exe", "forkexec", "bind", ip, port1, port2, fd, (char *)NULL);
        fail("exec");
    }
    int a;
    while ((a = accept(l, NULL, NULL)) < 0)
        if (errno != EINTR)
            fail("accept");
    char line[64];
    read_line(a, line, sizeof(line));
    dprintf(1, "got %s\n", line);
    read_line(a, line, sizeof(line));
    dprintf(1, "got %s\n", line);
    close(a);
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR)
            fail("waitpid");
    dprintf(1, "child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
