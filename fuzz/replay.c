/* The C half of the differential check (fuzz/differential.py): reads each
 * file as the env, rules or controlfile target does and prints one line per
 * file, "ok HEX" or "error HEX", HEX being what Python must give too:
 *   env          the configuration line and its rules, one a line (UNSOCK_RULES
 *                and UNSOCK_LOG_FILE, which unsock.config does not read, unset);
 *                or the error
 *   rules        the rules read, formatted back, one a line; or nothing
 *   controlfile  "socket" or "firecracker"; or nothing
 * Usage: replay KIND FILE... */
#include "input.h"

#include "config.h"
#include "controlfile.h"
#include "rules.h"

#include <stdio.h>

static struct fuzz_env env;

static const char *get(const char *name)
{
    if (strcmp(name, "UNSOCK_RULES") == 0 || strcmp(name, "UNSOCK_LOG_FILE") == 0)
        return NULL;
    return fuzz_env_get(&env, name);
}

static void print(bool ok, const char *text)
{
    printf("%s ", ok ? "ok" : "error");
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        printf("%02x", *p);
    printf("\n");
}

/* The rules, formatted, one a line, into out (NUL-terminated). */
static void format_rules(const struct unsock_rules *rs, char *out, size_t outlen)
{
    size_t used = strlen(out);
    for (size_t i = 0; i < rs->n && used + 1 < outlen; i++) {
        if (used > 0)
            out[used++] = '\n';
        used += unsock_rule_format(&rs->v[i], out + used, outlen - used);
    }
    out[used] = '\0';
}

static void replay_env(const uint8_t *data, size_t size, char *out, size_t outlen)
{
    struct unsock_config cfg;
    struct unsock_rules rs;
    if (fuzz_env_read(&env, data, size) != 0)
        abort();
    if (unsock_config_parse(&cfg, get, out, outlen) != 0) {
        print(false, out);
    } else if (unsock_config_format(&cfg, out, outlen) < 0 || unsock_rules_from_config(&cfg, &rs) != 0) {
        abort();
    } else {
        format_rules(&rs, out, outlen);
        print(true, out);
        unsock_rules_free(&rs);
    }
    free(env.copy);
}

static void replay_rules(const uint8_t *data, size_t size, char *out, size_t outlen)
{
    char *text = fuzz_text(data, size), err[400];
    struct unsock_rules rs;
    if (text == NULL)
        abort();
    out[0] = '\0';
    if (unsock_rules_parse(text, &rs, err, sizeof(err)) != 0) {
        print(false, "");
    } else {
        format_rules(&rs, out, outlen);
        print(true, out);
        unsock_rules_free(&rs);
    }
    free(text);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    static char out[1 << 20];
    static uint8_t data[1 << 20];
    for (int i = 2; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 2;
        }
        size_t size = fread(data, 1, sizeof(data), f);
        fclose(f);
        if (strcmp(argv[1], "env") == 0) {
            replay_env(data, size, out, sizeof(out));
        } else if (strcmp(argv[1], "rules") == 0) {
            replay_rules(data, size, out, sizeof(out));
        } else if (strcmp(argv[1], "controlfile") == 0) {
            struct unsock_control c;
            const char *why = NULL;
            enum unsock_control_kind kind = unsock_control_read(argv[i], &c, &why);
            print(kind == CONTROL_SOCKET || kind == CONTROL_FIRECRACKER,
                  kind == CONTROL_SOCKET ? "socket" : kind == CONTROL_FIRECRACKER ? "firecracker" : "");
        } else {
            return 2;
        }
    }
    return 0;
}
