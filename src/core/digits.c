#include "digits.h"

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
