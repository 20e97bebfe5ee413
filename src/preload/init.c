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
    if (unsock_cfg.rules == NULL) {
        if (unsock_rules_from_config(&unsock_cfg, &unsock_ruleset) != 0)
            unsock_fatal("no memory for the rules of the UNSOCK_* settings");
    } else if (unsock_rules_parse(unsock_cfg.rules, &unsock_ruleset, err, sizeof(err)) != 0) {
        unsock_fatal("%s: pass rules with 'unsock run -r' or see 'unsock rules --compiled'", err);
    }
    if (unsock_cfg.rules != NULL)
        unsock_cfg.rules = ""; /* only whether there were rules matters from now on */
    unsock_fdtable_init();
    if (unsock_ruleset.has_systemd)
        unsock_systemd_init();
    unsock_adopt_inherited();
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
