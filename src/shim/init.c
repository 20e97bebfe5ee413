#include "init.h"

#include "adopt.h"
#include "config.h"
#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "rules.h"
#include "systemd.h"
#include "tool.h"

#include <pthread.h>
#include <stdlib.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *env(const char *name)
{
    return getenv(name);
}

static void init_once(void)
{
    const char *missing = unsock_real_resolve();
    if (missing != NULL)
        unsock_fatal("the C library has no '%s': libunsock.so supports glibc and musl on Linux", missing);
    if (unsock_executed_directly())
        return; /* the control-file tool (tool.c): nothing to convert */
    char err[400];
    if (unsock_config_parse(&unsock_cfg, env, err, sizeof(err)) != 0)
        unsock_fatal("%s", err);
    static char compiled[UNSOCK_MAX_RANGES * 2 * 300];
    const char *rules = unsock_cfg.rules;
    if (rules == NULL) {
        if (unsock_rules_from_config(&unsock_cfg, compiled, sizeof(compiled)) != 0)
            unsock_fatal("the UNSOCK_* settings do not fit in the rule buffer: use fewer UNSOCK_ADDR ranges");
        rules = compiled;
    }
    if (unsock_rules_parse(rules, &unsock_ruleset, err, sizeof(err)) != 0)
        unsock_fatal("%s: pass rules with 'unsock run -r' or see 'unsock rules --compiled'", err);
    if (unsock_cfg.rules != NULL)
        unsock_cfg.rules = ""; /* only whether there were rules matters from now on */
    unsock_fdtable_init();
    if (unsock_ruleset.has_systemd)
        unsock_systemd_init();
    unsock_adopt_inherited();
}

void unsock_log_setup(void)
{
    char line[1024];
    unsock_config_format(&unsock_cfg, line, sizeof(line));
    unsock_log_line("config: %s", line);
    for (size_t i = 0; i < unsock_ruleset.n; i++) {
        unsock_rule_format(&unsock_ruleset.v[i], line, sizeof(line));
        unsock_log_line("rule %zu: %s", i + 1, line);
    }
}

void unsock_init(void)
{
    pthread_once(&once, init_once);
}

__attribute__((constructor)) static void unsock_constructor(void)
{
    unsock_init();
}

__attribute__((destructor)) static void unsock_destructor(void)
{
    unsock_fdtable_exit();
}
