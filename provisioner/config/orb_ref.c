/* Orb references and versions: NS/NAME@VERSION, where VERSION is exact (1.2.3, dev:label),
 * partial (1, 1.2) or volatile (the newest). */
#include "orb_registry.h"
#include "mx_num.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 100 || s[0] == '.') return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i])) return 0;
    return 1;
}

int mx_orb_ref_split(const char *ref, char **id, char **version)
{
    *id = *version = NULL;
    const char *slash = strchr(ref, '/'), *at = strchr(ref, '@');
    if (!slash || (at && at < slash)) return -1;
    size_t nl = at ? (size_t)(at - slash - 1) : strlen(slash + 1);
    if (!name_ok(ref, (size_t)(slash - ref)) || !name_ok(slash + 1, nl)) return -1;
    const char *v = at ? at + 1 : "volatile";
    if (!*v || strlen(v) > 100 || strstr(v, "..") || v[0] == '.') return -1;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.:-", *p)) return -1;
    *id = mx_xstrndup(ref, (size_t)(slash - ref) + 1 + nl);
    *version = mx_xstrdup(v);
    return 0;
}

/* Up to three dot-separated numbers; returns how many, or -1 if s is not that. */
static int numbers(const char *s, long out[3])
{
    int n = 0;
    while (*s) {
        if (n == 3 || !isdigit((unsigned char)*s)) return -1;
        const char *end;
        long long v;
        if (mx_parse_int_prefix(s, 0, LLONG_MAX, &v, &end) < 0 || end - s > 9) return -1;
        out[n++] = (long)v;
        s = end;
        if (*s == '.') {
            s++;
            if (!*s) return -1;
        } else if (*s) {
            return -1;
        }
    }
    return n;
}

int mx_orb_version_exact(const char *v)
{
    long x[3];
    if (strncmp(v, "dev:", 4) == 0) return v[4] != '\0';
    return numbers(v, x) == 3;
}

int mx_orb_version_matches(const char *v, const char *want)
{
    if (strcmp(v, want) == 0) return 1;
    long a[3], b[3];
    if (numbers(v, a) != 3) return 0; /* a dev: label matches only itself */
    if (strcmp(want, "volatile") == 0) return 1;
    int n = numbers(want, b);
    if (n < 1 || n > 2) return 0;
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

int mx_orb_version_cmp(const char *a, const char *b)
{
    long x[3], y[3];
    int nx = numbers(a, x), ny = numbers(b, y);
    if (nx != 3 || ny != 3) return strcmp(a, b);
    for (int i = 0; i < 3; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}
