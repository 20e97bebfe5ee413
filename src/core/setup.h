/* An engine's start: this process's configuration and rules, read from its
 * environment into unsock_cfg and unsock_ruleset. */
#ifndef UNSOCK_SETUP_H
#define UNSOCK_SETUP_H

#include "config.h"

/* Read them; anything wrong ends the process with one line (unsock_fatal). */
void unsock_setup(unsock_getenv_fn get);

#endif
