/* Compiled into the sanitizer builds of the shim only (tests/helpers/sanitizers.py): a finding
 * that ends a program leaves an empty file named died.PID in $UNSOCK_SANITIZER_DIR, so that the
 * harness sees it even where a test does not check that program's exit status. ASan and TSan
 * write their reports there too (log_path); gcc's UBSan is a runtime of its own (libubsan),
 * which prints to stderr whatever log_path says. So the callback is set in every sanitizer
 * runtime loaded, each having its own. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[3800];

static void died(void)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/died.%d", dir, (int)getpid());
    /* Not closed: the program ends now, and close() would go through the shim. */
    (void)open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
}

typedef void (*set_death_callback)(void (*)(void));

static int each_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    const char *name = strrchr(info->dlpi_name, '/');
    name = name ? name + 1 : info->dlpi_name;
    if (strstr(name, "san.so") == NULL)
        return 0;
    void *h = dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD);
    if (h == NULL)
        return 0;
    set_death_callback set;
    *(void **)&set = dlsym(h, "__sanitizer_set_death_callback");
    if (set != NULL)
        set(died);
    dlclose(h);
    return 0;
}

__attribute__((constructor)) static void unsock_sanitizer_death_setup(void)
{
    const char *d = getenv("UNSOCK_SANITIZER_DIR");
    if (d == NULL || d[0] == '\0')
        return;
    snprintf(dir, sizeof(dir), "%s", d);
    dl_iterate_phdr(each_object, NULL);
}
