/* Path globs of from-unix= and from-abstract= rules. */
#ifndef UNSOCK_GLOB_H
#define UNSOCK_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the name s[0..len) matches pattern (NUL-terminated): `?` one
 * character but `/`, `*` any characters but `/`, `**` any characters,
 * `[abc]`, `[a-z]`, `[!abc]` one character of (not of) a class, `\X` the
 * character X. An unterminated `[` and a trailing `\` are themselves. */
bool unsock_glob_match(const char *pattern, const char *s, size_t len);

#endif
