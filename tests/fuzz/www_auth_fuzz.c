/* libFuzzer: the WWW-Authenticate parser, which reads what any registry (or anything claiming
 * to be one) answers.  Malformed input is refused and leaves the result untouched. */
#include "mx_buf.h"
#include "mx_www_auth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = mx_xstrndup((const char *)data, size);
    mx_www_auth a;
    mx_www_auth_init(&a);
    mx_err err;
    /* a first header that parses, then the input: a failure must keep the first one whole */
    if (mx_www_auth_parse(&a, "Basic realm=\"r\"", &err) < 0) abort();
    size_t before = a.n;
    if (mx_www_auth_parse(&a, value, &err) < 0 && a.n != before) abort();
    for (size_t i = 0; i < a.n; i++) {
        if (!a.ch[i].scheme || !*a.ch[i].scheme) abort();
        if (mx_www_auth_find(&a, a.ch[i].scheme) == NULL) abort();
    }
    mx_www_auth_free(&a);
    free(value);
    return 0;
}
