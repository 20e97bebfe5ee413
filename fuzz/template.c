/* libFuzzer target: path= / abstract= templates forward (a socket's port
 * and address to a unix address) and back (a unix address to the port).
 *
 * Input: a header byte (bit 0: abstract, bits 1-2: the type, bit 3: an
 * IPv6 address), the port (2 bytes), an address (16 bytes), then the
 * template. */
#include "input.h"

#include "rules.h"
#include "template.h"

#include <arpa/inet.h>
#include <stdio.h>

enum { HEADER = 1 + 2 + 16 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, 0};
    bool abstract = data[0] & 1, v6 = data[0] & 8;
    int type = types[(data[0] >> 1) & 3];
    uint16_t port = (uint16_t)(data[1] | data[2] << 8);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    memcpy(&in.sin_addr, data + 3, 4);
    memcpy(&in6.sin6_addr, data + 3, 16);
    const struct sockaddr *addr = v6 ? (const struct sockaddr *)&in6 : (const struct sockaddr *)&in;

    /* The template as a rule of the canonical form, so only what the reader takes. */
    size_t n = size - HEADER;
    char *text = malloc(n + 16);
    if (text == NULL)
        return 0;
    int head = sprintf(text, "%s=", abstract ? "abstract" : "path");
    memcpy(text + head, data + HEADER, n);
    text[head + n] = '\0';
    struct unsock_rules rs;
    char err[400];
    if (memchr(data + HEADER, '\0', n) != NULL || unsock_rules_parse(text, &rs, err, sizeof(err)) != 0) {
        free(text);
        return 0;
    }
    struct sockaddr_un un, back;
    socklen_t len, back_len;
    if (unsock_rule_sockaddr(&rs.v[0], type, addr, port, &un, &len) == 0) {
        if (len > sizeof(un))
            abort();
        int found = unsock_rules_port_of(&rs, type, &un, len);
        /* Read back, the name is the one of the port found. */
        if (found >= 0 && (unsock_rule_sockaddr(&rs.v[0], type, addr, (uint16_t)found, &back, &back_len) != 0 ||
                           back_len != len || memcmp(&back, &un, len) != 0)) {
            fprintf(stderr, "port %u reads back as port %d\n", port, found);
            abort();
        }
    }
    unsock_rules_free(&rs);
    free(text);
    return 0;
}
