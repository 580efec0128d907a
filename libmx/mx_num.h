/* Numbers from text: the one parsing helper (scripts/check-src.sh refuses raw strtol/atoi
 * elsewhere).
 *
 * Why: strtol's contract (leading spaces and '+', errno for range, endptr to check, 0 for no
 * digits) is easy to get half right, and atoi has no error at all; numbers here come from
 * configs, the guest, environment variables and files others wrote.  These accept decimal
 * digits with an optional '-' (only when min < 0), nothing else, and check the range. */
#ifndef MX_NUM_H
#define MX_NUM_H

/* s, all of it, as an integer in [min, max] into *out: 0, or -1 (out untouched) when s is not
 * that. */
int mx_parse_int(const char *s, long long min, long long max, long long *out);
/* The number at the start of s (for "10m", "1.2.3", "123 key=value"): 0 with *end just past
 * its digits, or -1 when s does not start with one or it is out of [min, max]. */
int mx_parse_int_prefix(const char *s, long long min, long long max, long long *out,
                        const char **end);
/* s, all of it, as hexadecimal digits (no "0x"; /proc's fields) into *out. */
int mx_parse_hex(const char *s, unsigned long long *out);
/* s, all of it, as a finite floating-point number (C locale syntax). */
int mx_parse_double(const char *s, double *out);

#endif
