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

size_t unsock_decimal(unsigned long long v, char *out)
{
    char rev[20];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    out[n] = '\0';
    return n;
}
