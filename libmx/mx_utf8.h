/* UTF-8 as the agent protocol carries it (jansson's rules: no overlong forms, no UTF-16
 * surrogates, nothing above U+10FFFF).
 *
 * Why here: JSON strings must be valid UTF-8, but what reaches the protocol need not be (a
 * branch name, a directory name, a -e value, a file name in the guest).  Each field decides:
 * exact values are checked and carried another way or refused; human text is repaired. */
#ifndef MX_UTF8_H
#define MX_UTF8_H

#include "mx_err.h"

#include <stddef.h>

/* mx_utf8_seq's answer when s ends inside what is so far a valid sequence. */
#define MX_UTF8_SHORT ((size_t)-1)

/* The length of the UTF-8 sequence at s[0..len) (1-4), 0 if the bytes there are not valid
 * UTF-8, MX_UTF8_SHORT if len ends a valid beginning.  len must be > 0. */
size_t mx_utf8_seq(const unsigned char *s, size_t len);
/* 1 if s[0..len) is valid UTF-8 throughout. */
int mx_utf8_valid(const char *s, size_t len);
/* A copy of s with every byte that is not part of valid UTF-8 replaced by U+FFFD (the
 * replacement character); caller frees. */
char *mx_utf8_lossy(const char *s);

/* 0, or -1 (MX_USAGE): "WHAT is not valid UTF-8 ...", for values that must reach the guest
 * exactly and cannot (a --branch substituted into commands, a -e name). */
int mx_utf8_require(const char *s, const char *what, mx_err *err);

#endif
