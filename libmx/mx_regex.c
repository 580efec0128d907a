#include "mx_regex.h"
#include "mx_buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The bound of a{lo,hi} starting at c (just after '{'); 0 when it is not a number. */
static long bound(const char *c, const char **end)
{
    long v = 0;
    while (isdigit((unsigned char)*c)) {
        if (v <= 100000) v = v * 10 + (*c - '0');
        c++;
    }
    *end = c;
    return v;
}

const char *mx_regex_risky(const char *re)
{
    if (strlen(re) > MX_REGEX_MAX_LEN) return "longer than 1024 characters";
    int prev_quant = 0, in_bracket = 0;
    for (const char *c = re; *c; c++) {
        if (*c == '\\' && c[1]) {
            c++;
            prev_quant = 0;
            continue;
        }
        if (in_bracket) {
            if (*c == ']') in_bracket = 0;
            continue;
        }
        if (*c == '[') {
            in_bracket = 1;
            if (c[1] == ']') c++; /* "[]...]": the first ] is literal */
            prev_quant = 0;
            continue;
        }
        int quant = *c == '*' || *c == '+' || *c == '?' || *c == '{';
        if (quant && prev_quant) return "has a quantifier applied to a quantifier (e.g. \"a++\")";
        if (*c == '{') {
            const char *end;
            long lo = bound(c + 1, &end);
            long hi = lo;
            if (*end == ',')
                hi = isdigit((unsigned char)end[1]) ? bound(end + 1, &end) : 0;
            else if (*end != '}')
                hi = 0;
            if (lo > 100 || hi > 100) return "has a repetition bound over 100";
            const char *close = strchr(c, '}');
            if (close) c = close;
        }
        prev_quant = quant;
    }
    return NULL;
}

int mx_regex_compile(mx_regex *r, const char *pattern, const char *shown, mx_err *err)
{
    memset(r, 0, sizeof *r);
    char *re = mx_xasprintf("^(%s)$", pattern);
    const char *why = mx_regex_risky(re);
    if (why) {
        free(re);
        return mx_fail(err, MX_USAGE, "regular expression %s %s", shown, why);
    }
    int rc = regcomp(&r->rx, re, REG_EXTENDED | REG_NOSUB);
    free(re);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &r->rx, msg, sizeof msg);
        return mx_fail(err, MX_USAGE, "bad regular expression %s: %s", shown, msg);
    }
    r->compiled = 1;
    return 0;
}

int mx_regex_match(const mx_regex *r, const char *s)
{
    return r->compiled && regexec(&r->rx, s, 0, NULL, 0) == 0;
}

void mx_regex_free(mx_regex *r)
{
    if (r->compiled) regfree(&r->rx);
    r->compiled = 0;
}
