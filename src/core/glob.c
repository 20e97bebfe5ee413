/* A glob is matched on two levels, each the classic wildcard walk that only
 * remembers its last star: the pattern's components against the name's (a
 * `**` component is the star there), and within a component its bytes (`*`
 * is the star). Each walk takes at most about (pattern length x name length)
 * steps and no memory, so no input makes it recurse or run long. */
#include "glob.h"

#include <string.h>

struct span {
    const char *at, *end;
};

/* The class whose body starts at p (after '['), up to end: whether c is in
 * it; *next is past its ']', or NULL if none closes it (then '[' is itself). */
static bool class_match(const char *p, const char *end, unsigned char c, const char **next)
{
    bool negate = p < end && *p == '!';
    if (negate)
        p++;
    bool found = false;
    const char *first = p;
    while (p < end && (*p != ']' || p == first)) {
        unsigned char lo = (unsigned char)*p;
        if (lo == '\\' && p + 1 < end)
            lo = (unsigned char)*++p;
        unsigned char hi = lo;
        if (p + 2 < end && p[1] == '-' && p[2] != ']') {
            p += 2;
            hi = (unsigned char)*p;
            if (hi == '\\' && p + 1 < end)
                hi = (unsigned char)*++p;
        }
        if (c >= lo && c <= hi)
            found = true;
        p++;
    }
    if (p >= end) {
        *next = NULL;
        return false;
    }
    *next = p + 1;
    return found != negate;
}

/* Whether the token at *p (not a '*') matches the byte c; *p moves past it. */
static bool token_match(const char **p, const char *end, unsigned char c)
{
    const char *t = *p;
    if (*t == '?') {
        *p = t + 1;
        return true;
    }
    if (*t == '[') {
        const char *next;
        bool in = class_match(t + 1, end, c, &next);
        if (next != NULL) {
            *p = next;
            return in;
        }
    } else if (*t == '\\' && t + 1 < end) {
        t++;
    }
    *p = t + 1;
    return (unsigned char)*t == c;
}

/* One pattern component against one name component (neither holds a '/'). */
static bool component_match(struct span pat, struct span name)
{
    const char *p = pat.at, *t = name.at;
    const char *star_p = NULL, *star_t = NULL;
    while (t < name.end) {
        if (p < pat.end && *p == '*') {
            while (p < pat.end && *p == '*')
                p++;
            star_p = p;
            star_t = t;
            continue;
        }
        const char *after = p;
        if (p < pat.end && token_match(&after, pat.end, (unsigned char)*t)) {
            p = after;
            t++;
            continue;
        }
        if (star_p == NULL)
            return false;
        p = star_p;
        t = ++star_t;
    }
    while (p < pat.end && *p == '*')
        p++;
    return p == pat.end;
}

/* The pattern component at p, up to a '/' or an escaped one; *next is where
 * the following component starts, NULL after the last. */
static struct span pattern_component(const char *p, const char **next)
{
    const char *q = p;
    for (;;) {
        if (*q == '\0') {
            *next = NULL;
            return (struct span){p, q};
        }
        if (*q == '/' || (*q == '\\' && q[1] == '/')) {
            *next = q + (*q == '/' ? 1 : 2);
            return (struct span){p, q};
        }
        q += *q == '\\' && q[1] != '\0' ? 2 : 1;
    }
}

static struct span name_component(const char *t, const char *end, const char **next)
{
    const char *slash = memchr(t, '/', (size_t)(end - t));
    *next = slash == NULL ? NULL : slash + 1;
    return (struct span){t, slash == NULL ? end : slash};
}

static bool is_globstar(struct span c)
{
    return c.end - c.at == 2 && c.at[0] == '*' && c.at[1] == '*';
}

bool unsock_glob_match(const char *pattern, const char *s, size_t len)
{
    const char *end = s + len;
    if (strchr(pattern, '/') == NULL) {
        for (const char *q = end; q > s; q--) {
            if (q[-1] == '/') {
                s = q;
                break;
            }
        }
    }
    /* p, t: the components at hand (NULL: none left); star_p, star_t: after
     * the last `**` seen, and the name component it would take next. */
    const char *p = pattern, *t = s;
    const char *star_p = NULL, *star_t = NULL;
    while (t != NULL) {
        if (p != NULL) {
            const char *p_next, *t_next;
            struct span pc = pattern_component(p, &p_next);
            if (is_globstar(pc)) {
                if (p_next == NULL)
                    return true; /* a last `**` takes all the (one or more) components left */
                star_p = p = p_next;
                star_t = t;
                continue;
            }
            if (component_match(pc, name_component(t, end, &t_next))) {
                p = p_next;
                t = t_next;
                continue;
            }
        }
        if (star_p == NULL)
            return false;
        name_component(star_t, end, &star_t);
        t = star_t;
        p = star_p;
    }
    while (p != NULL) {
        const char *p_next;
        if (!is_globstar(pattern_component(p, &p_next)) || p_next == NULL)
            return false;
        p = p_next;
    }
    return true;
}
