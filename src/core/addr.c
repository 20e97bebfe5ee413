#include "addr.h"

#include "digits.h"
#include "rules.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

size_t unsock_ip_text(const struct sockaddr *addr, char *out)
{
    if (addr->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, out, INET6_ADDRSTRLEN);
        return strlen(out);
    }
    const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        n += unsock_decimal(a[i], out + n);
        out[n++] = '.';
    }
    out[--n] = '\0';
    return n;
}

bool unsock_unix_name(const struct sockaddr *addr, socklen_t len, int *from, const char **name, size_t *n)
{
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (unsock_addr_family(addr, len) != AF_UNIX || len <= off || len > sizeof(struct sockaddr_un))
        return false;
    const char *path = ((const struct sockaddr_un *)addr)->sun_path;
    if (path[0] == '\0') {
        if (len == off + 1)
            return false; /* autobind */
        *from = FROM_ABSTRACT;
        *name = path + 1;
        *n = len - off - 1;
    } else {
        *from = FROM_UNIX;
        *name = path;
        *n = strnlen(path, len - off);
    }
    return true;
}

void unsock_addr_describe(const struct sockaddr *addr, socklen_t len, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int from;
    const char *name;
    size_t n;
    if (unsock_is_ip(addr, len)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        bool v6 = addr->sa_family == AF_INET6;
        inet_ntop(addr->sa_family, v6 ? (const void *)&in6->sin6_addr : (const void *)&in->sin_addr, ip, sizeof(ip));
        snprintf(out, outlen, v6 ? "[%s]:%u" : "%s:%u", ip, unsock_ip_port(addr));
    } else if (unsock_unix_name(addr, len, &from, &name, &n)) {
        snprintf(out, outlen, "%s%.*s", from == FROM_ABSTRACT ? "@" : "", (int)n, name);
    } else {
        snprintf(out, outlen, "(family %d)", unsock_addr_family(addr, len));
    }
}
