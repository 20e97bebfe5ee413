/* The decision core's rule reader, matcher, glob and plans, run on the
 * shared vectors:
 *   rules_driver glob PATTERN NAME                 -> exit 0 (match) / 1
 *   rules_driver match RULES DIR TYPE FAMILY ADDRESS PORT
 *       -> "INDEX TARGET" ("- -" when no rule matches, "INDEX -" when the
 *          rule has no target; vsock / tipc / firecracker targets as
 *          CID:PORT, TYPE:LOWER:UPPER@SCOPE, UDS:PORT); exit 2 if RULES
 *          is not read.
 *   rules_driver format RULES -> the canonical form of each rule read.
 *   rules_driver plan RULES CALL DOMAIN TYPE CONVERTED ADDRESS [PEER]
 *       (CONVERTED: 0, 1, or "connecting" for a converted socket whose
 *       connect is under way)
 *       -> the plan as the decision log writes it, then its errno (0 unless
 *          it rejects); a control file at a path target refines it. PEER:
 *          the unix address of a sender seen before at ADDRESS. */
#include "../../src/core/addr.c"
#include "../../src/core/config.c"
#include "../../src/core/controlfile.c"
#include "../../src/core/digits.c"
#include "../../src/core/glob.c"
#include "../../src/core/match.c"
#include "../../src/core/names.c"
#include "../../src/core/plan.c"
#include "../../src/core/rules_format.c"
#include "../../src/core/rules_read.c"
#include "../../src/core/template.c"

#include <arpa/inet.h>
#include <stdlib.h>

/* "127.0.0.1:80", "[::1]:80", "/path" or "@name" into ss. */
static socklen_t address(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_un *un = (struct sockaddr_un *)ss;
    size_t n = strlen(text), off = offsetof(struct sockaddr_un, sun_path);
    if (text[0] == '/' || text[0] == '@') {
        if (n >= sizeof(un->sun_path))
            return 0;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, text, n);
        if (text[0] == '@') {
            un->sun_path[0] = '\0';
            return (socklen_t)(off + n);
        }
        return (socklen_t)(off + n + 1);
    }
    const char *colon = strrchr(text, ':');
    char host[INET6_ADDRSTRLEN + 2];
    if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
        return 0;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    uint16_t port = (uint16_t)atoi(colon + 1);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (host[0] == '[') {
        host[strlen(host) - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
            return 0;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return sizeof(*in6);
    }
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
        return 0;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    return sizeof(*in);
}

static int plan(const struct unsock_rules *rs, char **argv)
{
    static const char *const calls[] = {"bind", "connect", "send", "fastopen"};
    static const char *const domains[] = {"inet", "inet6", "unix"};
    static const int domain_values[] = {AF_INET, AF_INET6, AF_UNIX};
    struct unsock_query q = {.type = strcmp(argv[5], "stream") == 0  ? SOCK_STREAM
                                     : strcmp(argv[5], "dgram") == 0 ? SOCK_DGRAM
                                                                     : SOCK_SEQPACKET,
                             .converted = strcmp(argv[6], "0") != 0,
                             .connecting = strcmp(argv[6], "connecting") == 0};
    for (int i = 0; i < 4; i++)
        if (strcmp(argv[3], calls[i]) == 0)
            q.call = (enum unsock_call)i;
    for (int i = 0; i < 3; i++)
        if (strcmp(argv[4], domains[i]) == 0)
            q.domain = domain_values[i];
    if (q.call == CALL_FASTOPEN && (q.converted || q.type != SOCK_STREAM))
        q.call = CALL_SEND; /* as the engine asks (src/preload/query.c) */
    struct sockaddr_storage ss, peer;
    q.addr = (const struct sockaddr *)&ss;
    if ((q.len = address(argv[7], &ss)) == 0)
        return 2;
    if (argv[8] != NULL) {
        if ((q.peer_len = address(argv[8], &peer)) == 0)
            return 2;
        q.peer = (const struct sockaddr_un *)&peer;
    }
    struct unsock_plan p;
    unsock_plan(rs, &q, &p);
    if (p.kind == PLAN_UNIX && p.may_be_control)
        unsock_plan_control_file(&p, &q, q.call == CALL_BIND ? EADDRINUSE : ECONNREFUSED);
    char text[600];
    unsock_plan_describe(rs, &p, text, sizeof(text));
    printf("%s\n%d\n", text, p.kind == PLAN_REJECT ? p.err : 0);
    return 0;
}

static int match(const struct unsock_rules *rs, char **argv)
{
    int dir = strcmp(argv[3], "in") == 0 ? RULE_IN : RULE_OUT;
    int type = strcmp(argv[4], "stream") == 0 ? SOCK_STREAM : SOCK_DGRAM;
    const char *family = argv[5], *address = argv[6];
    uint16_t port = (uint16_t)atoi(argv[7]);
    struct sockaddr_storage ss = {0};
    socklen_t len = 0;
    const struct unsock_rule *r;
    if (strcmp(family, "ip") == 0) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
            in->sin_port = htons(port);
            len = sizeof(*in);
        } else if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(port);
            len = sizeof(*in6);
        } else {
            return 2;
        }
        r = unsock_rules_match_ip(rs, dir, type, (struct sockaddr *)&ss, len);
    } else {
        r = unsock_rules_match_unix(rs, dir, type, strcmp(family, "unix") == 0 ? FROM_UNIX : FROM_ABSTRACT,
                                    address, strlen(address));
    }
    if (r == NULL) {
        printf("- -\n");
        return 0;
    }
    size_t index = unsock_rule_index(rs, r) - 1;
    if (r->action == ACT_VSOCK || r->action == ACT_TIPC || r->action == ACT_FIRECRACKER) {
        struct unsock_control c;
        unsock_rule_control(r, true, port, &c);
        struct sockaddr_vm vm;
        struct sockaddr_tipc t;
        memcpy(&vm, c.dest, sizeof(vm));
        memcpy(&t, c.dest, sizeof(t));
        if (r->action == ACT_VSOCK)
            printf("%zu %u:%u\n", index, vm.svm_cid, vm.svm_port);
        else if (r->action == ACT_TIPC)
            printf("%zu %u:%u:%u@%s\n", index, t.addr.nameseq.type, t.addr.nameseq.lower, t.addr.nameseq.upper,
                   t.scope == TIPC_NODE_SCOPE ? "node" : "cluster");
        else
            printf("%zu %s:%u\n", index, ((struct sockaddr_un *)c.proxy)->sun_path, vm.svm_port);
        return 0;
    }
    struct sockaddr_un un;
    socklen_t ulen;
    if ((r->action != ACT_PATH && r->action != ACT_ABSTRACT) ||
        unsock_rule_sockaddr(r, type, len ? (struct sockaddr *)&ss : NULL, port, &un, &ulen) != 0) {
        printf("%zu -\n", index);
        return 0;
    }
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (r->action == ACT_ABSTRACT)
        printf("%zu %.*s\n", index, (int)(ulen - off - 1), un.sun_path + 1);
    else
        printf("%zu %s\n", index, un.sun_path);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "glob") == 0)
        return unsock_glob_match(argv[2], argv[3], strlen(argv[3])) ? 0 : 1;
    bool format = argc == 3 && strcmp(argv[1], "format") == 0;
    bool planning = (argc == 8 || argc == 9) && strcmp(argv[1], "plan") == 0;
    if (!format && !planning && (argc != 8 || strcmp(argv[1], "match") != 0))
        return 2;
    struct unsock_rules rs;
    char err[512];
    if (unsock_rules_parse(argv[2], &rs, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    int status = 0;
    if (format) {
        char line[1024];
        for (size_t i = 0; i < rs.n; i++) {
            unsock_rule_format(&rs.v[i], line, sizeof(line));
            printf("%s\n", line);
        }
    } else {
        status = planning ? plan(&rs, argv) : match(&rs, argv);
    }
    unsock_rules_free(&rs);
    return status;
}
