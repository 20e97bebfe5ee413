/* libFuzzer target: the UNSOCK_* variables, read as the shim's set-up reads
 * them (src/core/setup.c): the configuration, then the rules it stands for
 * or the UNSOCK_RULES it names. */
#include "input.h"

#include "config.h"
#include "rules.h"

#include <stdio.h>

static struct fuzz_env env;

static const char *get(const char *name)
{
    return fuzz_env_get(&env, name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_env_read(&env, data, size) != 0)
        return 0;
    struct unsock_config cfg;
    char err[400], line[1200];
    if (unsock_config_parse(&cfg, get, err, sizeof(err)) == 0) {
        unsock_config_format(&cfg, line, sizeof(line));
        struct unsock_rules rs;
        int read = cfg.rules == NULL ? unsock_rules_from_config(&cfg, &rs)
                                     : unsock_rules_parse(cfg.rules, &rs, err, sizeof(err));
        if (read == 0) {
            for (size_t i = 0; i < rs.n; i++)
                unsock_rule_format(&rs.v[i], line, sizeof(line));
            unsock_rules_free(&rs);
        } else if (cfg.rules == NULL) {
            abort(); /* only without memory */
        }
    } else if (err[0] == '\0') {
        abort(); /* a failure says why */
    }
    free(env.copy);
    return 0;
}
