/* A covered IPv4 address given to a socket of another family is the
 * kernel's business (EINVAL and the like), not a conversion.
 * Usage: wrongfamily COVERED_IP REAL_IP */
#include "probe.h"

static int attempt(int domain, int (*call)(int, const struct sockaddr *, socklen_t), const char *ip)
{
    int fd = socket(domain, SOCK_STREAM, 0);
    MUST(fd);
    struct sockaddr_in a = inet_addr_port(ip, 7600);
    int r = call(fd, (struct sockaddr *)&a, sizeof(a));
    int e = r == 0 ? 0 : errno;
    close(fd);
    return e;
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: wrongfamily COVERED_IP REAL_IP");
    int domains[] = {AF_UNIX, AF_INET6};
    for (size_t i = 0; i < 2; i++) {
        CHECK(attempt(domains[i], bind, argv[1]) == attempt(domains[i], bind, argv[2]), "bind, domain %d",
              domains[i]);
        CHECK(attempt(domains[i], connect, argv[1]) == attempt(domains[i], connect, argv[2]), "connect, domain %d",
              domains[i]);
    }
    puts("ok");
    return 0;
}
