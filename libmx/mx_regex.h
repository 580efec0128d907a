/* The one place mexec compiles regular expressions (POSIX ERE, glibc's engine).
 *
 * Why one place: patterns come from configs, which are untrusted, and glibc's engine takes
 * exponential time on stacked quantifiers ("a++++") and huge bounds ("a{1000}{1000}"), so a
 * config could hang mexec.  Every pattern goes through the same guard before regcomp;
 * scripts/check-src.sh refuses regcomp anywhere else.  CircleCI matches patterns against the
 * whole value, so every pattern here is anchored to the whole subject. */
#ifndef MX_REGEX_H
#define MX_REGEX_H

#include "mx_err.h"

#include <regex.h>

typedef struct mx_regex {
    regex_t rx;
    int compiled;
} mx_regex;

/* Longest pattern accepted (after anchoring). */
#define MX_REGEX_MAX_LEN 1024

/* NULL if pattern is safe to hand to glibc's engine, else why not ("has a repetition bound
 * over 100"). */
const char *mx_regex_risky(const char *pattern);
/* Compiles pattern (anchored: it must match the whole subject).  shown names the pattern in
 * messages as the user wrote it ("/re/", "\"re\""): "regular expression SHOWN has ..." for a
 * refused pattern, "bad regular expression SHOWN: REASON" for one regcomp rejects (MX_USAGE). */
int mx_regex_compile(mx_regex *r, const char *pattern, const char *shown, mx_err *err);
/* 1 when s matches the whole pattern, else 0. */
int mx_regex_match(const mx_regex *r, const char *s);
/* Safe on a zeroed or failed mx_regex, and twice. */
void mx_regex_free(mx_regex *r);

#endif
