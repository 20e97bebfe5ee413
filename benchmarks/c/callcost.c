/* Nanoseconds per socket call, run once without and once with the shim.
 *
 *   callcost tcp PORT_A PORT_B ITER   addresses 127.0.0.1:PORT_A (listener) and :PORT_B (bind)
 *   callcost unix DIR ITER            addresses DIR/a.sock and DIR/b.sock
 *
 * Under the shim the tcp form measures calls on converted sockets; the unix
 * form measures the shim's pass-through on sockets it does not convert.
 * Prints {"timer_ns": T, "calls": {"NAME": NS or null, ...}}: for each call
 * the median over batches of 100 of the mean time per call, minus the cost
 * of reading the clock. null: the call does not apply (TCP options on a
 * unix socket). */
#include "bench.h"

#include <fcntl.h>

#define BATCH 100

static struct addr A, B;
static int is_unix;
static int lfd = -1;  /* listener at A, non-blocking */
static int conn = -1; /* a connected client socket (its server end stays open) */
static double timer_ns;

static uint64_t elapsed(uint64_t t0, uint64_t t1)
{
    return t1 - t0;
}

static int new_socket(void)
{
    int fd = socket(A.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    return fd;
}

static int accept_one(void)
{
    struct sockaddr_storage ss;
    for (;;) {
        socklen_t len = sizeof(ss);
        int c = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
        if (c >= 0 || errno != EAGAIN)
            return c;
    }
}

static void drain(void)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int c;
    while ((c = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC)) >= 0) {
        close(c);
        len = sizeof(ss);
    }
}

static double connect_close(int opt)
{
    uint64_t sum = 0;
    for (int i = 0; i < BATCH; i++) {
        uint64_t t0 = now_ns();
        int fd = new_socket();
        int one = 1;
        if (opt && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
            die("setsockopt TCP_NODELAY before connect");
        if (connect(fd, (struct sockaddr *)&A.ss, A.len) != 0)
            die("connect");
        close(fd);
        sum += elapsed(t0, now_ns());
    }
    drain();
    return (double)sum;
}

static double t_connect_close(void)
{
    return connect_close(0);
}

static double t_connect_close_nodelay(void)
{
    return connect_close(1);
}

static double bind_once(int reuse)
{
    uint64_t sum = 0;
    for (int i = 0; i < BATCH; i++) {
        int fd = new_socket();
        int one = 1;
        if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
            die("setsockopt SO_REUSEADDR");
        uint64_t t0 = now_ns();
        if (bind(fd, (struct sockaddr *)&B.ss, B.len) != 0)
            die("bind");
        sum += elapsed(t0, now_ns());
        close(fd);
        if (is_unix)
            unlink(B.path);
    }
    return (double)sum;
}

static double t_bind(void)
{
    return bind_once(0);
}

static double t_bind_reuse(void)
{
    return bind_once(1);
}

static double t_accept(void)
{
    int clients[BATCH];
    for (int i = 0; i < BATCH; i++)
        clients[i] = connect_to(&A);
    int accepted[BATCH];
    uint64_t sum = 0;
    for (int i = 0; i < BATCH; i++) {
        uint64_t t0 = now_ns();
        accepted[i] = accept_one();
        sum += elapsed(t0, now_ns());
        if (accepted[i] < 0)
            die("accept");
    }
    for (int i = 0; i < BATCH; i++) {
        close(clients[i]);
        close(accepted[i]);
    }
    return (double)sum;
}

static double t_getsockname(void)
{
    struct sockaddr_storage ss;
    uint64_t t0 = now_ns();
    for (int i = 0; i < BATCH; i++) {
        socklen_t len = sizeof(ss);
        if (getsockname(conn, (struct sockaddr *)&ss, &len) != 0)
            die("getsockname");
    }
    /* one clock pair for the whole batch: spread its cost like the others */
    return (double)elapsed(t0, now_ns()) + timer_ns * (BATCH - 1);
}

static double setsockopt_batch(int name, int value)
{
    uint64_t t0 = now_ns();
    for (int i = 0; i < BATCH; i++)
        if (setsockopt(conn, IPPROTO_TCP, name, &value, sizeof(value)) != 0)
            die("setsockopt %d", name);
    return (double)elapsed(t0, now_ns()) + timer_ns * (BATCH - 1);
}

static double t_nodelay(void)
{
    return setsockopt_batch(TCP_NODELAY, 1);
}

static double t_keepidle(void)
{
    return setsockopt_batch(TCP_KEEPIDLE, 60);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Median over batches of (batch time / BATCH - clock cost). */
static double measure(double (*f)(void), long iter)
{
    long nb = iter / BATCH < 5 ? 5 : iter / BATCH;
    double *m = malloc((size_t)nb * sizeof(*m));
    if (m == NULL)
        die("malloc");
    f(); /* warm-up */
    for (long b = 0; b < nb; b++)
        m[b] = f() / BATCH - timer_ns;
    qsort(m, (size_t)nb, sizeof(*m), cmp_double);
    double r = m[nb / 2];
    free(m);
    return r;
}

static double clock_cost(void)
{
    double m[101];
    for (int b = 0; b < 101; b++) {
        uint64_t sum = 0;
        for (int i = 0; i < 1000; i++) {
            uint64_t t0 = now_ns();
            sum += elapsed(t0, now_ns());
        }
        m[b] = (double)sum / 1000;
    }
    qsort(m, 101, sizeof(m[0]), cmp_double);
    return m[50];
}

int main(int argc, char **argv)
{
    long iter;
    char spec[160];
    signal(SIGPIPE, SIG_IGN);
    if (argc == 5 && strcmp(argv[1], "tcp") == 0) {
        snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%s", argv[2]);
        parse_addr(spec, &A);
        snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%s", argv[3]);
        parse_addr(spec, &B);
        iter = atol(argv[4]);
    } else if (argc == 4 && strcmp(argv[1], "unix") == 0) {
        snprintf(spec, sizeof(spec), "unix:%s/a.sock", argv[2]);
        parse_addr(spec, &A);
        snprintf(spec, sizeof(spec), "unix:%s/b.sock", argv[2]);
        parse_addr(spec, &B);
        is_unix = 1;
        iter = atol(argv[3]);
    } else {
        fprintf(stderr, "usage: callcost tcp PORT_A PORT_B ITER | callcost unix DIR ITER\n");
        return 2;
    }
    timer_ns = clock_cost();
    lfd = listen_on(&A);
    if (fcntl(lfd, F_SETFL, O_NONBLOCK) != 0)
        die("fcntl O_NONBLOCK");
    conn = connect_to(&A);
    int server_end = accept_one();
    if (server_end < 0)
        die("accept");

    struct {
        const char *name;
        double (*f)(void);
        int tcp_only;
    } tests[] = {
        {"socket+connect+close", t_connect_close, 0},
        {"socket+setsockopt(TCP_NODELAY)+connect+close", t_connect_close_nodelay, 1},
        {"bind", t_bind, 0},
        {"bind after setsockopt(SO_REUSEADDR)", t_bind_reuse, 0},
        {"accept", t_accept, 0},
        {"getsockname", t_getsockname, 0},
        {"setsockopt TCP_NODELAY", t_nodelay, 1},
        {"setsockopt TCP_KEEPIDLE", t_keepidle, 1},
    };
    printf("{\"timer_ns\": %.1f, \"calls\": {", timer_ns);
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        printf("%s\"%s\": ", i ? ", " : "", tests[i].name);
        if (is_unix && tests[i].tcp_only)
            printf("null");
        else
            printf("%.1f", measure(tests[i].f, iter));
        fflush(stdout);
    }
    printf("}}\n");
    close(server_end);
    close(conn);
    close(lfd);
    if (is_unix)
        unlink(A.path);
    return 0;
}
