/* libFuzzer target: the address arguments of bind, connect, sendto and
 * sendmsg (any family, any length, truncated, NULL) planned under a rule
 * list as the engines plan them (src/preload/query.c, src/seccomp/call.c).
 *
 * Input: the rules (UNSOCK_RULES text) and a NUL, then the call, the
 * socket's domain and type, flags (bit 0: converted, bit 1: its connect is
 * under way, bit 2: a NULL address, bit 3: a sender seen before), the
 * address length (2 bytes, little-endian), the sender's length, then the
 * address's bytes (zeros where the input ends before the length) and the
 * sender's. */
#include "input.h"

#include "addr.h"
#include "plan.h"
#include "template.h"

#include <errno.h>
#include <stdio.h>

enum { HEADER = 7 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    if (nul == NULL || (size_t)(data + size - nul - 1) < HEADER)
        return 0;
    char *text = fuzz_text(data, (size_t)(nul - data));
    struct unsock_rules rs;
    char err[400];
    if (text == NULL || unsock_rules_parse(text, &rs, err, sizeof(err)) != 0) {
        free(text);
        return 0;
    }
    static const int domains[] = {AF_INET, AF_INET6, AF_UNIX, AF_VSOCK, AF_TIPC, AF_UNSPEC, AF_NETLINK, AF_PACKET};
    static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW};
    const uint8_t *h = nul + 1, *rest = h + HEADER;
    size_t left = (size_t)(data + size - rest);
    struct unsock_query q = {
        .call = (enum unsock_call)(h[0] % 4),
        .domain = domains[h[1] % 8],
        .type = types[h[2] % 4],
        .converted = h[3] & 1,
        .connecting = (h[3] & 3) == 3,
        .len = (socklen_t)(h[4] | h[5] << 8),
    };
    if (q.call == CALL_FASTOPEN && (q.converted || q.type != SOCK_STREAM))
        q.call = CALL_SEND; /* as the engines ask */
    /* Exactly len bytes, so that reading past what the program handed over is caught. */
    uint8_t *addr = malloc(q.len ? q.len : 1);
    size_t given = q.len < left ? q.len : left;
    memset(addr, 0, q.len);
    memcpy(addr, rest, given);
    rest += given;
    left -= given;
    q.addr = (h[3] & 4) ? NULL : (const struct sockaddr *)addr;
    struct sockaddr_un peer = {0};
    if (h[3] & 8) {
        q.peer_len = (socklen_t)(h[6] % (sizeof(peer) + 1));
        memcpy(&peer, rest, q.peer_len < left ? q.peer_len : left);
        q.peer = &peer;
    }

    char line[700];
    unsock_addr_describe(q.addr, q.len, line, sizeof(line));
    if (unsock_plan_may_match(&rs, q.addr, q.len)) {
        struct unsock_plan p;
        unsock_plan(&rs, &q, &p);
        if (p.kind == PLAN_UNIX && p.free_port)
            unsock_plan_at_port(&p, &q, 40000);
        if (p.kind == PLAN_UNIX && p.may_be_control)
            unsock_plan_control_file(&p, &q, q.call == CALL_BIND ? EADDRINUSE : ECONNREFUSED);
        if (p.kind == PLAN_UNIX && p.un_len > sizeof(p.un))
            abort();
        unsock_plan_describe(&rs, &p, line, sizeof(line));
    }
    /* A unix address read back to the port it stands for (a peer, a local name). */
    struct sockaddr_un un = {0};
    socklen_t ulen = q.len < sizeof(un) ? q.len : sizeof(un);
    memcpy(&un, addr, ulen);
    unsock_rules_port_of(&rs, q.type, &un, ulen);
    free(addr);
    unsock_rules_free(&rs);
    free(text);
    return 0;
}
