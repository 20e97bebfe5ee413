#include "setup.h"

#include "log.h"
#include "rules.h"

void unsock_setup(unsock_getenv_fn get)
{
    char err[400];
    if (unsock_config_parse(&unsock_cfg, get, err, sizeof(err)) != 0)
        unsock_fatal("%s", err);
    if (unsock_cfg.rules == NULL) {
        if (unsock_rules_from_config(&unsock_cfg, &unsock_ruleset) != 0)
            unsock_fatal("no memory for the rules of the UNSOCK_* settings");
    } else if (unsock_rules_parse(unsock_cfg.rules, &unsock_ruleset, err, sizeof(err)) != 0) {
        unsock_fatal("%s: pass rules with 'unsock run -r' or see 'unsock rules --compiled'", err);
    }
    if (unsock_cfg.rules != NULL)
        unsock_cfg.rules = ""; /* only whether there were rules matters from now on */
}
