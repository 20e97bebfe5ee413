#include "init.h"

#include "adopt.h"
#include "config.h"
#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "setup.h"
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
    unsock_real_mark();
    if (unsock_executed_directly())
        return; /* the control-file tool (tool.c): nothing to convert */
    unsock_setup(env);
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
