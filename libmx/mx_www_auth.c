/* RFC 7235 section 2.1 / 4.1:
 *   WWW-Authenticate = 1#challenge
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 * Commas separate both challenges and the parameters inside one, so after a comma the next
 * token is a parameter name when '=' follows it and a new scheme otherwise. */
#include "mx_www_auth.h"

#include "mx_buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_tchar(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_t68char(int c)
{
    return isalnum(c) || (c && strchr("-._~+/", c));
}

static void skip_ows(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

/* Skips whitespace and commas (empty list elements are allowed by RFC 7230 section 7). */
static void skip_sep(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == ',')
        (*p)++;
}

static char *read_token(const char **p)
{
    const char *s = *p;
    while (is_tchar((unsigned char)**p))
        (*p)++;
    return *p > s ? mx_xstrndup(s, (size_t)(*p - s)) : NULL;
}

/* *p is at the opening quote.  Returns the unescaped string or NULL if unterminated. */
static char *read_quoted(const char **p)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_add(&b, "", 0); /* an empty quoted string is a valid, empty value */
    for ((*p)++; **p != '"'; (*p)++) {
        if (**p == '\0') {
            mx_buf_free(&b);
            return NULL;
        }
        if (**p == '\\') {
            (*p)++;
            if (**p == '\0') {
                mx_buf_free(&b);
                return NULL;
            }
        }
        mx_buf_add(&b, *p, 1);
    }
    (*p)++;
    return mx_buf_steal(&b);
}

static void challenge_free(mx_www_challenge *c)
{
    free(c->scheme);
    free(c->token68);
    for (size_t i = 0; i < c->nparams; i++) {
        free(c->params[i].name);
        free(c->params[i].value);
    }
    free(c->params);
}

void mx_www_auth_init(mx_www_auth *a)
{
    a->ch = NULL;
    a->n = 0;
}

void mx_www_auth_free(mx_www_auth *a)
{
    for (size_t i = 0; i < a->n; i++)
        challenge_free(&a->ch[i]);
    free(a->ch);
    mx_www_auth_init(a);
}

static void add_param(mx_www_challenge *c, char *name, char *value)
{
    for (char *s = name; *s; s++)
        *s = (char)tolower((unsigned char)*s);
    c->params = mx_xrealloc(c->params, (c->nparams + 1) * sizeof *c->params);
    c->params[c->nparams++] = (mx_www_param){name, value};
}

/* After the scheme: either a token68 or a (possibly empty) list of auth-params.  A token68
 * ends the challenge; a parameter list ends where a token is not followed by '='. */
static int parse_challenge_body(const char **pp, mx_www_challenge *c, mx_err *err)
{
    const char *p = *pp;
    /* token68 candidate: token68 chars then '='s, then end or comma */
    const char *q = p;
    while (is_t68char((unsigned char)*q))
        q++;
    if (q > p) {
        const char *e = q;
        while (*e == '=')
            e++;
        const char *after = e;
        skip_ows(&after);
        if (*after == '\0' || *after == ',') {
            c->token68 = mx_xstrndup(p, (size_t)(e - p));
            *pp = after;
            return 0;
        }
    }
    for (;;) {
        const char *save = p;
        skip_sep(&p);
        char *name = read_token(&p);
        if (!name) {
            if (*p == '\0') break;
            return mx_fail(err, MX_USAGE, "unexpected character '%c'", *p);
        }
        const char *eq = p;
        skip_ows(&eq);
        if (*eq != '=') {
            /* a new challenge's scheme: leave it for the caller */
            free(name);
            p = save;
            break;
        }
        p = eq + 1;
        skip_ows(&p);
        char *value = *p == '"' ? read_quoted(&p) : read_token(&p);
        if (!value) {
            free(name);
            return mx_fail(err, MX_USAGE, "parameter value missing or unterminated");
        }
        add_param(c, name, value);
        skip_ows(&p);
        if (*p != ',' && *p != '\0')
            return mx_fail(err, MX_USAGE, "expected ',' after parameter, found '%c'", *p);
    }
    *pp = p;
    return 0;
}

int mx_www_auth_parse(mx_www_auth *a, const char *value, mx_err *err)
{
    mx_www_auth tmp;
    mx_www_auth_init(&tmp);
    const char *p = value ? value : "";
    for (;;) {
        skip_sep(&p);
        if (*p == '\0') break;
        char *scheme = read_token(&p);
        if (!scheme) {
            mx_www_auth_free(&tmp);
            return mx_fail(err, MX_USAGE, "WWW-Authenticate: expected an auth scheme at \"%.40s\"",
                           p);
        }
        tmp.ch = mx_xrealloc(tmp.ch, (tmp.n + 1) * sizeof *tmp.ch);
        mx_www_challenge *c = &tmp.ch[tmp.n++];
        *c = (mx_www_challenge){.scheme = scheme};
        if (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t') {
            mx_fail(err, MX_USAGE, "WWW-Authenticate: bad character after scheme \"%s\"", scheme);
            mx_www_auth_free(&tmp);
            return -1;
        }
        skip_ows(&p);
        if (*p == '\0' || *p == ',') continue;
        if (parse_challenge_body(&p, c, err) < 0) {
            mx_wrap(err, "WWW-Authenticate: %s challenge", c->scheme);
            mx_www_auth_free(&tmp);
            return -1;
        }
    }
    if (tmp.n == 0) return mx_fail(err, MX_USAGE, "WWW-Authenticate: no challenge");
    a->ch = mx_xrealloc(a->ch, (a->n + tmp.n) * sizeof *a->ch);
    memcpy(a->ch + a->n, tmp.ch, tmp.n * sizeof *tmp.ch);
    a->n += tmp.n;
    free(tmp.ch);
    return 0;
}

const mx_www_challenge *mx_www_auth_find(const mx_www_auth *a, const char *scheme)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcasecmp(a->ch[i].scheme, scheme) == 0) return &a->ch[i];
    return NULL;
}

const char *mx_www_param_get(const mx_www_challenge *c, const char *name)
{
    for (size_t i = 0; i < c->nparams; i++)
        if (strcasecmp(c->params[i].name, name) == 0) return c->params[i].value;
    return NULL;
}
