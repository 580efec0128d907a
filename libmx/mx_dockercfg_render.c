/* config.json bytes exactly as the docker CLI writes them.
 *
 * The docker CLI decodes the file into its ConfigFile struct and writes it back with Go's
 * json.MarshalIndent(cfg, "", "\t").  That fixes everything reproduced here:
 *   - struct fields in declaration order, `omitempty` ones left out when empty ("auths" never);
 *   - map keys sorted bytewise; tab indentation; ": " after keys; "{}"/"[]" when empty;
 *     no trailing newline;
 *   - Go's string escaping: <, > and & as \u003c \u003e \u0026, U+2028/U+2029 escaped,
 *     control characters other than \n \r \t as \u00XX (lower-case hex; Go before 1.22, which
 *     builds the docker.io of Debian 12 — newer Go writes \b and \f);
 *   - each auths entry re-encoded: username/password folded into `auth`, serveraddress dropped;
 *   - a User-Agent in HttpHeaders dropped.
 * Unlike the docker CLI, top-level keys it does not know are kept, after the known ones in
 * sorted order, so that mexec never loses a user's settings. */
#include "mx_b64.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_dockercfg.h"

#include <math.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum kind { K_STRING, K_STRMAP, K_AUTHS, K_PROXIES, K_NESTED_STRMAP, K_ANY };

static const struct field {
    const char *name;
    enum kind kind;
} top_fields[] = {
    {"auths", K_AUTHS},           {"HttpHeaders", K_STRMAP},    {"psFormat", K_STRING},
    {"imagesFormat", K_STRING},   {"networksFormat", K_STRING}, {"pluginsFormat", K_STRING},
    {"volumesFormat", K_STRING},  {"statsFormat", K_STRING},    {"detachKeys", K_STRING},
    {"credsStore", K_STRING},     {"credHelpers", K_STRMAP},    {"serviceInspectFormat", K_STRING},
    {"servicesFormat", K_STRING}, {"tasksFormat", K_STRING},    {"secretFormat", K_STRING},
    {"configFormat", K_STRING},   {"nodesFormat", K_STRING},    {"pruneFilters", K_ANY},
    {"proxies", K_PROXIES},       {"currentContext", K_STRING}, {"cliPluginsExtraDirs", K_ANY},
    {"plugins", K_NESTED_STRMAP}, {"aliases", K_STRMAP},        {"features", K_STRMAP},
    {"experimental", K_STRING},
};

static const char *const proxy_fields[] = {"httpProxy", "httpsProxy", "noProxy", "ftpProxy",
                                           "allProxy"};

static void indent(mx_buf *b, int depth)
{
    mx_buf_add(b, "\n", 1);
    for (int i = 0; i < depth; i++)
        mx_buf_add(b, "\t", 1);
}

static void go_string(mx_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    mx_buf_add(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            mx_buf_add(b, e, 2);
        } else if (c == '\n') {
            mx_buf_adds(b, "\\n");
        } else if (c == '\r') {
            mx_buf_adds(b, "\\r");
        } else if (c == '\t') {
            mx_buf_adds(b, "\\t");
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            mx_buf_add(b, e, 6);
        } else if (c == 0xe2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
            mx_buf_adds(b, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
            i += 2;
        } else {
            mx_buf_add(b, s + i, 1);
        }
    }
    mx_buf_add(b, "\"", 1);
}

static void go_str(mx_buf *b, const char *s)
{
    go_string(b, s, strlen(s));
}

/* Go writes a float64 in its shortest round-trip form, with exponents like "1e+21", "1e-7". */
static void go_real(mx_buf *b, double v)
{
    char out[64];
    if (!isfinite(v)) v = 0; /* Go refuses these; jansson cannot parse them anyway */
    for (int p = 1; p <= 17; p++) {
        snprintf(out, sizeof out, "%.*g", p, v);
        double back;
        if (mx_parse_double(out, &back) == 0 && back == v) break;
    }
    char *e = strchr(out, 'e');
    if (e && (e[1] == '-' || e[1] == '+') && e[2] == '0' && e[3])
        memmove(e + 2, e + 3, strlen(e + 3) + 1);
    mx_buf_adds(b, out);
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The object's keys, sorted bytewise as Go sorts map keys; caller frees the array. */
static const char **sorted_keys(json_t *o, size_t *n)
{
    *n = json_object_size(o);
    const char **keys = mx_xcalloc(*n ? *n : 1, sizeof *keys);
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) keys[i++] = k;
    qsort(keys, *n, sizeof *keys, cmp_keys);
    return keys;
}

static void any_value(mx_buf *b, json_t *v, int depth);

static void open_member(mx_buf *b, int *first, int depth, const char *key)
{
    mx_buf_adds(b, *first ? "{" : ",");
    *first = 0;
    indent(b, depth + 1);
    go_str(b, key);
    mx_buf_adds(b, ": ");
}

static void close_object(mx_buf *b, int first, int depth)
{
    if (first) {
        mx_buf_adds(b, "{}");
        return;
    }
    indent(b, depth);
    mx_buf_adds(b, "}");
}

static void any_object(mx_buf *b, json_t *o, int depth)
{
    size_t n;
    const char **keys = sorted_keys(o, &n);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        open_member(b, &first, depth, keys[i]);
        any_value(b, json_object_get(o, keys[i]), depth + 1);
    }
    close_object(b, first, depth);
    free(keys);
}

static void any_value(mx_buf *b, json_t *v, int depth)
{
    if (!v) {
        mx_buf_adds(b, "null");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        any_object(b, v, depth);
        break;
    case JSON_ARRAY:
        if (json_array_size(v) == 0) {
            mx_buf_adds(b, "[]");
            break;
        }
        mx_buf_adds(b, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) mx_buf_adds(b, ",");
            indent(b, depth + 1);
            any_value(b, json_array_get(v, i), depth + 1);
        }
        indent(b, depth);
        mx_buf_adds(b, "]");
        break;
    case JSON_STRING:
        go_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        mx_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        go_real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        mx_buf_adds(b, "true");
        break;
    case JSON_FALSE:
        mx_buf_adds(b, "false");
        break;
    case JSON_NULL:
        mx_buf_adds(b, "null");
        break;
    }
}

static const char *nonempty(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/* The `auth` value docker writes back: base64("user:password") from the decoded `auth`, or from
 * username/password when there is no `auth`.  NULL when both are empty.  Caller frees. */
static char *entry_auth(json_t *e)
{
    const char *auth = nonempty(e, "auth");
    char *plain = NULL;
    if (auth) {
        size_t n;
        unsigned char *raw = mx_b64_decode(auth, &n);
        if (!raw) return mx_xstrdup(auth); /* refused at parse; keep what is there */
        while (n > 0 && raw[n - 1] == '\0')
            n--;
        plain = mx_xstrndup((char *)raw, n);
        OPENSSL_cleanse(raw, n);
        free(raw);
        if (strcmp(plain, ":") == 0) plain[0] = '\0';
    } else {
        const char *u = nonempty(e, "username"), *p = nonempty(e, "password");
        if (u || p) plain = mx_xasprintf("%s:%s", u ? u : "", p ? p : "");
    }
    if (!plain || !*plain) {
        free(plain);
        return NULL;
    }
    char *out = mx_b64_encode(plain, strlen(plain));
    OPENSSL_cleanse(plain, strlen(plain));
    free(plain);
    return out;
}

static void auth_entry(mx_buf *b, json_t *e, int depth)
{
    int first = 1;
    char *auth = json_is_object(e) ? entry_auth(e) : NULL;
    if (auth) {
        open_member(b, &first, depth, "auth");
        go_str(b, auth);
        OPENSSL_cleanse(auth, strlen(auth));
        free(auth);
    }
    static const char *const rest[] = {"email", "identitytoken", "registrytoken"};
    for (size_t i = 0; json_is_object(e) && i < sizeof rest / sizeof *rest; i++) {
        const char *v = nonempty(e, rest[i]);
        if (!v) continue;
        open_member(b, &first, depth, rest[i]);
        go_str(b, v);
    }
    close_object(b, first, depth);
}

static void proxy_entry(mx_buf *b, json_t *e, int depth)
{
    int first = 1;
    for (size_t i = 0; json_is_object(e) && i < sizeof proxy_fields / sizeof *proxy_fields; i++) {
        const char *v = nonempty(e, proxy_fields[i]);
        if (!v) continue;
        open_member(b, &first, depth, proxy_fields[i]);
        go_str(b, v);
    }
    close_object(b, first, depth);
}

/* A map whose values are rendered by `value`; drop_user_agent for HttpHeaders. */
static void map_of(mx_buf *b, json_t *o, int depth, void (*value)(mx_buf *, json_t *, int),
                   int drop_user_agent)
{
    size_t n;
    const char **keys = sorted_keys(o, &n);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (drop_user_agent && strcasecmp(keys[i], "User-Agent") == 0) continue;
        open_member(b, &first, depth, keys[i]);
        value(b, json_object_get(o, keys[i]), depth + 1);
    }
    close_object(b, first, depth);
    free(keys);
}

static void string_value(mx_buf *b, json_t *v, int depth)
{
    (void)depth;
    if (json_is_string(v))
        go_string(b, json_string_value(v), json_string_length(v));
    else
        go_str(b, ""); /* docker would have refused the file; keep the map's shape */
}

static void strmap_value(mx_buf *b, json_t *v, int depth)
{
    if (json_is_object(v))
        map_of(b, v, depth, string_value, 0);
    else
        mx_buf_adds(b, "null");
}

/* 1 if a Go `omitempty` field holding v would be left out. */
static int is_empty(json_t *v, enum kind kind)
{
    if (!v || json_is_null(v)) return 1;
    if (json_is_string(v)) return json_string_length(v) == 0;
    if (json_is_object(v)) {
        if (kind == K_STRMAP) {
            /* HttpHeaders with only a User-Agent is empty once that is dropped */
            size_t n = 0;
            const char *k;
            json_t *x;
            json_object_foreach(v, k, x) if (strcasecmp(k, "User-Agent") != 0) n++;
            return n == 0;
        }
        return json_object_size(v) == 0;
    }
    if (json_is_array(v)) return json_array_size(v) == 0;
    return 0;
}

static int known_key(const char *k)
{
    for (size_t i = 0; i < sizeof top_fields / sizeof *top_fields; i++)
        if (strcmp(top_fields[i].name, k) == 0) return 1;
    return 0;
}

char *mx_dockercfg_render(const mx_dockercfg *cfg, size_t *len)
{
    mx_buf b;
    mx_buf_init(&b);
    int first = 1;
    for (size_t i = 0; i < sizeof top_fields / sizeof *top_fields; i++) {
        const struct field *f = &top_fields[i];
        json_t *v = json_object_get(cfg->root, f->name);
        if (f->kind != K_AUTHS && is_empty(v, f->kind)) continue;
        open_member(&b, &first, 0, f->name);
        switch (f->kind) {
        case K_AUTHS:
            if (json_is_object(v))
                map_of(&b, v, 1, auth_entry, 0);
            else
                mx_buf_adds(&b, "{}");
            break;
        case K_STRMAP:
            if (json_is_object(v))
                map_of(&b, v, 1, string_value, strcmp(f->name, "HttpHeaders") == 0);
            else
                any_value(&b, v, 1);
            break;
        case K_PROXIES:
            if (json_is_object(v))
                map_of(&b, v, 1, proxy_entry, 0);
            else
                any_value(&b, v, 1);
            break;
        case K_NESTED_STRMAP:
            if (json_is_object(v))
                map_of(&b, v, 1, strmap_value, 0);
            else
                any_value(&b, v, 1);
            break;
        case K_STRING:
        case K_ANY:
            any_value(&b, v, 1);
            break;
        }
    }
    size_t n;
    const char **keys = sorted_keys(cfg->root, &n);
    for (size_t i = 0; i < n; i++) {
        if (known_key(keys[i])) continue;
        open_member(&b, &first, 0, keys[i]);
        any_value(&b, json_object_get(cfg->root, keys[i]), 1);
    }
    free(keys);
    close_object(&b, first, 0);
    if (len) *len = b.len;
    return mx_buf_steal(&b);
}
