/* Path globs of from-unix= and from-abstract= rules, with ip2unix's meaning. */
#ifndef UNSOCK_GLOB_H
#define UNSOCK_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the name s[0..len) matches pattern (NUL-terminated), byte by byte.
 * `?` is one byte but `/`, `*` any bytes but `/`, `[abc]`, `[a-z]`, `[!abc]`
 * one byte (not) of a class, `\X` the byte X. `**` alone between slashes (or
 * the pattern's ends) is zero or more whole components, at the end one or
 * more; any other run of `*` is `*`. A `[` whose `]` does not come before the
 * next `/` is itself, as is a trailing `\`. A pattern without `/` is matched
 * against the name's last component. Work is bounded by about
 * strlen(pattern) * len steps, without recursion or allocation. */
bool unsock_glob_match(const char *pattern, const char *s, size_t len);

#endif
