#include "mx_num.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int mx_parse_int_prefix(const char *s, long long min, long long max, long long *out,
                        const char **end)
{
    if (!s) return -1;
    const char *d = s[0] == '-' && min < 0 ? s + 1 : s;
    if (*d < '0' || *d > '9') return -1; /* no spaces, no '+', at least one digit */
    char *e;
    errno = 0;
    long long v = strtoll(s, &e, 10);
    if (errno == ERANGE || v < min || v > max) return -1;
    *out = v;
    if (end) *end = e;
    return 0;
}

int mx_parse_int(const char *s, long long min, long long max, long long *out)
{
    const char *end;
    long long v;
    if (mx_parse_int_prefix(s, min, max, &v, &end) < 0 || *end) return -1;
    *out = v;
    return 0;
}

int mx_parse_hex(const char *s, unsigned long long *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 16 || strspn(s, "0123456789abcdefABCDEF") != n) return -1;
    *out = strtoull(s, NULL, 16);
    return 0;
}

int mx_parse_double(const char *s, double *out)
{
    if (!s || !*s || (*s != '-' && *s != '.' && (*s < '0' || *s > '9'))) return -1;
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (*e || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 0;
}
