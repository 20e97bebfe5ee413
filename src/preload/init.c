#include "init.h"

#include "adopt.h"
#include "config.h"
#include "early.h"
#include "fdtable.h"
#include "handover.h"
#include "log.h"
#include "real.h"
#include "setup.h"
#include "rules.h"
#include "systemd.h"
#include "tool.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
atomic_bool unsock_ready;

static const char *env(const char *name)
{
    return getenv(name);
}

#ifdef __GLIBC__
#define LIBC_NAME "glibc"
#else
#define LIBC_NAME "musl"
#endif

/* The decision log's first line of this process: which build of the shim it loaded. */
static void name_engine(void)
{
    const char *file = unsock_shim_file();
    char line[PATH_MAX + 64];
    snprintf(line, sizeof(line), "preload%s, %s (%s)", getenv("UNSOCK_SUPERVISED") != NULL ? " under seccomp" : "",
             file != NULL ? file : "libunsock", LIBC_NAME);
    unsock_log_engine(line);
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
    if (unsock_cfg.debug)
        name_engine();
    unsock_fdtable_init();
    unsock_early_init();
    unsock_systemd_spawned();
    if (unsock_ruleset.has_systemd)
        unsock_systemd_init();
    unsock_adopt_inherited();
}

void unsock_init_slow(void)
{
    pthread_once(&once, init_once);
    atomic_store_explicit(&unsock_ready, true, memory_order_release);
}

__attribute__((constructor)) static void unsock_constructor(void)
{
    unsock_init();
}

__attribute__((destructor)) static void unsock_destructor(void)
{
    unsock_fdtable_exit();
}
