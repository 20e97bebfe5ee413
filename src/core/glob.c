#include "glob.h"

#include <string.h>

/* The class starting after '[' at p: *end past its ']', or NULL if it is
 * not terminated (then '[' is an ordinary character). */
static bool class_match(const char *p, char c, const char **end)
{
    bool negate = *p == '!';
    if (negate)
        p++;
    bool found = false;
    const char *first = p;
    while (*p != '\0' && (*p != ']' || p == first)) {
        char lo = *p;
        if (lo == '\\' && p[1] != '\0')
            lo = *++p;
        char hi = lo;
        if (p[1] == '-' && p[2] != '\0' && p[2] != ']') {
            p += 2;
            hi = *p;
            if (hi == '\\' && p[1] != '\0')
                hi = *++p;
        }
        if ((unsigned char)c >= (unsigned char)lo && (unsigned char)c <= (unsigned char)hi)
            found = true;
        p++;
    }
    if (*p != ']') {
        *end = NULL;
        return false;
    }
    *end = p + 1;
    return found != negate;
}

static bool match_at(const char *p, const char *s, const char *end)
{
    while (*p != '\0') {
        if (p[0] == '*' && p[1] == '*') {
            while (*p == '*')
                p++;
            for (const char *t = s;; t++) {
                if (match_at(p, t, end))
                    return true;
                if (t == end)
                    return false;
            }
        }
        if (*p == '*') {
            p++;
            for (const char *t = s;; t++) {
                if (match_at(p, t, end))
                    return true;
                if (t == end || *t == '/')
                    return false;
            }
        }
        if (s == end)
            return false;
        if (*p == '?') {
            if (*s == '/')
                return false;
            p++;
        } else if (*p == '[') {
            const char *after;
            bool ok = class_match(p + 1, *s, &after);
            if (after == NULL) {
                if (*s != '[')
                    return false;
                p++;
            } else {
                if (!ok || *s == '/')
                    return false;
                p = after;
            }
        } else {
            if (*p == '\\' && p[1] != '\0')
                p++;
            if (*p != *s)
                return false;
            p++;
        }
        s++;
    }
    return s == end;
}

bool unsock_glob_match(const char *pattern, const char *s, size_t len)
{
    return match_at(pattern, s, s + len);
}
