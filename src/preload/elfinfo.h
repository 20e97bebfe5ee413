/* Programs the preload engine cannot reach, told from their ELF file. */
#ifndef UNSOCK_ELFINFO_H
#define UNSOCK_ELFINFO_H

#include <stdbool.h>

/* Whether the ELF file at path is statically linked (no PT_INTERP) or a
 * Go program (Go's build-info sections): its socket calls bypass libc.
 * False for anything else (scripts, unreadable files). */
bool unsock_elf_bypasses_libc(const char *path);

/* The C library whose loader (PT_INTERP) the ELF file at path names. */
enum unsock_libc { UNSOCK_LIBC_UNKNOWN, UNSOCK_LIBC_GLIBC, UNSOCK_LIBC_MUSL };
enum unsock_libc unsock_elf_libc(const char *path);

#endif
