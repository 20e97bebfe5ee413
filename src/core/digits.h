/* The one decimal reader of the C side: exactly the strings that
 * unsock.config and unsock.rules accept for numbers. */
#ifndef UNSOCK_DIGITS_H
#define UNSOCK_DIGITS_H

#include <stdbool.h>
#include <stddef.h>

/* 1..maxdigits decimal digits spanning s[0..len), value <= hi; no sign,
 * space or other character; a leading zero only if leading_zero (or "0"). */
bool unsock_digits(const char *s, size_t len, size_t maxdigits, bool leading_zero, unsigned long long hi,
                   unsigned long long *out);

/* v in decimal and a NUL at out (room for 21 bytes); returns the number of digits.
 * (Names and paths are made per connection: snprintf costs ten times as much.) */
size_t unsock_decimal(unsigned long long v, char *out);

#endif
