#include "elfinfo.h"

#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool at(int fd, off_t off, void *out, size_t n)
{
    return pread(fd, out, n, off) == (ssize_t)n;
}

/* 64-bit little-endian ELF only (x86_64, aarch64): anything else goes to
 * the preload engine as before. */
static bool bypasses(int fd)
{
    Elf64_Ehdr eh;
    if (!at(fd, 0, &eh, sizeof(eh)) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_phentsize != sizeof(Elf64_Phdr))
        return false;
    bool interp = false;
    for (unsigned i = 0; i < eh.e_phnum && i < 256; i++) {
        Elf64_Phdr ph;
        if (!at(fd, (off_t)(eh.e_phoff + i * sizeof(ph)), &ph, sizeof(ph)))
            return false;
        interp |= ph.p_type == PT_INTERP;
    }
    if (!interp)
        return true;
    Elf64_Shdr names;
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum ||
        !at(fd, (off_t)(eh.e_shoff + eh.e_shstrndx * sizeof(names)), &names, sizeof(names)))
        return false;
    for (unsigned i = 0; i < eh.e_shnum && i < 4096; i++) {
        Elf64_Shdr sh;
        char name[24] = "";
        if (!at(fd, (off_t)(eh.e_shoff + i * sizeof(sh)), &sh, sizeof(sh)) || sh.sh_name >= names.sh_size)
            continue;
        if (pread(fd, name, sizeof(name) - 1, (off_t)(names.sh_offset + sh.sh_name)) <= 0)
            continue;
        if (strcmp(name, ".go.buildinfo") == 0 || strcmp(name, ".note.go.buildid") == 0)
            return true;
    }
    return false;
}

static enum unsock_libc libc_of(int fd)
{
    Elf64_Ehdr eh;
    if (!at(fd, 0, &eh, sizeof(eh)) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr))
        return UNSOCK_LIBC_UNKNOWN;
    for (unsigned i = 0; i < eh.e_phnum && i < 256; i++) {
        Elf64_Phdr ph;
        char interp[64] = "";
        if (!at(fd, (off_t)(eh.e_phoff + i * sizeof(ph)), &ph, sizeof(ph)))
            return UNSOCK_LIBC_UNKNOWN;
        if (ph.p_type != PT_INTERP)
            continue;
        if (pread(fd, interp, sizeof(interp) - 1, (off_t)ph.p_offset) <= 0)
            return UNSOCK_LIBC_UNKNOWN;
        return strstr(interp, "/ld-musl-") ? UNSOCK_LIBC_MUSL
               : strstr(interp, "/ld-linux") ? UNSOCK_LIBC_GLIBC
                                             : UNSOCK_LIBC_UNKNOWN;
    }
    return UNSOCK_LIBC_UNKNOWN;
}

enum unsock_libc unsock_elf_libc(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return UNSOCK_LIBC_UNKNOWN;
    enum unsock_libc r = libc_of(fd);
    syscall(SYS_close, fd);
    return r;
}

bool unsock_elf_bypasses_libc(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool r = bypasses(fd);
    syscall(SYS_close, fd); /* not the program's close(): this library wraps it */
    return r;
}
