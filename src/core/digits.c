#include "digits.h"

#include <string.h>

bool unsock_digits(const char *s, size_t len, size_t maxdigits, bool leading_zero, unsigned long long hi,
                   unsigned long long *out)
{
    if (len == 0 || len > maxdigits || (!leading_zero && len > 1 && s[0] == '0'))
        return false;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long long)(s[i] - '0');
    }
    if (v > hi)
        return false;
    *out = v;
    return true;
}

static const char PAIRS[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                           "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                           "8081828384858687888990919293949596979899";

size_t unsock_decimal(unsigned long long v, char *out)
{
    char buf[20], *p = buf + sizeof(buf);
    for (; v >= 100; v /= 100) {
        p -= 2;
        memcpy(p, PAIRS + 2 * (v % 100), 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, PAIRS + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(buf + sizeof(buf) - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}
