/* config.json model: parsing with shape checks, auth entry access and changes (see
 * mx_dockercfg.h).  Rendering is in mx_dockercfg_render.c, saving in mx_dockercfg_save.c. */
#include "mx_dockercfg.h"
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cred_ref.h"
#include "mx_fs.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mx_dockercfg_init(mx_dockercfg *cfg)
{
    cfg->root = json_object();
    json_t *auths = json_object();
    if (!cfg->root || !auths || json_object_set_new(cfg->root, "auths", auths) < 0) mx_oom();
}

void mx_dockercfg_free(mx_dockercfg *cfg)
{
    json_decref(cfg->root);
    cfg->root = NULL;
}

/* jansson's own error text quotes the input near the fault ("near 'hunter2'"), which may be a
 * secret: describe the fault from its code and position only. */
static const char *json_fault(const json_error_t *je)
{
    switch (json_error_code(je)) {
    case json_error_premature_end_of_input:
        return "unexpected end of input";
    case json_error_end_of_input_expected:
        return "extra data after the JSON value";
    case json_error_invalid_utf8:
        return "invalid UTF-8";
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return "NUL character";
    case json_error_numeric_overflow:
        return "number out of range";
    case json_error_stack_overflow:
        return "nesting too deep";
    case json_error_duplicate_key:
        return "duplicate key";
    default:
        return "syntax error";
    }
}

static int all_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i])) return 0;
    return 1;
}

/* Decodes docker's `auth` (base64 of "user:password"); 0 on success.  Like the docker CLI, a
 * missing ':' or an empty user name is an error and NULs trailing the password are dropped. */
static int decode_auth(const char *auth, char **user, char **pass)
{
    size_t n;
    unsigned char *raw = mx_b64_decode(auth, &n);
    if (!raw) return -1;
    const char *s = (const char *)raw;
    while (n > 0 && s[n - 1] == '\0')
        n--;
    const char *colon = memchr(s, ':', n);
    int ok = colon && colon > s && !memchr(s, '\0', n);
    if (ok) {
        *user = mx_xstrndup(s, (size_t)(colon - s));
        *pass = mx_xstrndup(colon + 1, n - (size_t)(colon + 1 - s));
    }
    OPENSSL_cleanse(raw, n);
    free(raw);
    return ok ? 0 : -1;
}

static const char *str_field(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int check_auths(json_t *auths, const char *source, mx_err *err)
{
    static const char *const fields[] = {"username",      "password",      "auth",         "email",
                                         "serveraddress", "identitytoken", "registrytoken"};
    const char *key;
    json_t *e;
    json_object_foreach(auths, key, e)
    {
        if (json_is_null(e)) continue;
        if (!json_is_object(e))
            return mx_fail(err, MX_USAGE, "%s: auths[\"%s\"] must be an object", source, key);
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
            json_t *v = json_object_get(e, fields[i]);
            if (v && !json_is_string(v) && !json_is_null(v))
                return mx_fail(err, MX_USAGE, "%s: auths[\"%s\"].%s must be a string", source, key,
                               fields[i]);
        }
        const char *auth = str_field(e, "auth");
        if (auth && *auth) {
            char *u, *p;
            if (decode_auth(auth, &u, &p) < 0)
                return mx_fail(err, MX_USAGE,
                               "%s: auths[\"%s\"].auth is not base64 of \"user:password\"", source,
                               key);
            free(u);
            free(p);
        }
    }
    return 0;
}

static int check_shapes(json_t *root, const char *source, mx_err *err)
{
    if (!json_is_object(root))
        return mx_fail(err, MX_USAGE, "%s: a docker config must be a JSON object", source);
    json_t *auths = json_object_get(root, "auths");
    if (auths && !json_is_object(auths) && !json_is_null(auths))
        return mx_fail(err, MX_USAGE, "%s: \"auths\" must be an object", source);
    if (json_is_object(auths) && check_auths(auths, source, err) < 0) return -1;
    json_t *store = json_object_get(root, "credsStore");
    if (store && !json_is_string(store) && !json_is_null(store))
        return mx_fail(err, MX_USAGE, "%s: \"credsStore\" must be a string", source);
    json_t *helpers = json_object_get(root, "credHelpers");
    if (helpers && !json_is_object(helpers) && !json_is_null(helpers))
        return mx_fail(err, MX_USAGE, "%s: \"credHelpers\" must be an object", source);
    const char *key;
    json_t *v;
    if (json_is_object(helpers)) {
        json_object_foreach(helpers, key, v)
        {
            if (!json_is_string(v))
                return mx_fail(err, MX_USAGE, "%s: credHelpers[\"%s\"] must be a string", source,
                               key);
        }
    }
    return 0;
}

int mx_dockercfg_parse(mx_dockercfg *cfg, const char *text, size_t len, const char *source,
                       mx_err *err)
{
    cfg->root = NULL;
    if (all_space(text, len)) {
        mx_dockercfg_init(cfg);
        return 0;
    }
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root)
        return mx_fail(err, MX_USAGE, "%s: invalid JSON at line %d, column %d: %s", source, je.line,
                       je.column, json_fault(&je));
    if (check_shapes(root, source, err) < 0) {
        json_decref(root);
        return -1;
    }
    if (!json_is_object(json_object_get(root, "auths"))) {
        json_t *auths = json_object();
        if (!auths || json_object_set_new(root, "auths", auths) < 0) mx_oom();
    }
    cfg->root = root;
    return 0;
}

int mx_dockercfg_load(mx_dockercfg *cfg, const char *path, int *found, mx_err *err)
{
    mx_buf b;
    mx_buf_init(&b);
    if (found) *found = 1;
    if (mx_read_file(path, &b, err) < 0) {
        mx_buf_free(&b);
        if (errno == ENOENT) {
            if (found) *found = 0;
            mx_dockercfg_init(cfg);
            return 0;
        }
        return -1;
    }
    int r = mx_dockercfg_parse(cfg, b.data, b.len, path, err);
    OPENSSL_cleanse(b.data, b.len);
    mx_buf_free(&b);
    return r;
}

int mx_dockercfg_each_auth(const mx_dockercfg *cfg, mx_dockercfg_auth_fn fn, void *ctx)
{
    json_t *auths = json_object_get(cfg->root, "auths");
    const char *key;
    json_t *e;
    json_object_foreach(auths, key, e)
    {
        if (!json_is_object(e)) continue;
        mx_cred c = {0};
        const char *auth = str_field(e, "auth");
        if (auth && *auth) {
            if (decode_auth(auth, &c.username, &c.password) < 0) continue; /* checked at parse */
        } else {
            const char *u = str_field(e, "username"), *p = str_field(e, "password");
            c.username = u && *u ? mx_xstrdup(u) : NULL;
            c.password = p && *p ? mx_xstrdup(p) : NULL;
        }
        const char *tok = str_field(e, "identitytoken");
        c.identity_token = tok && *tok ? mx_xstrdup(tok) : NULL;
        int r = 0;
        if (c.username || c.password || c.identity_token) {
            c.server = mx_xstrdup(key);
            r = fn(ctx, key, &c);
        }
        mx_cred_clear(&c);
        if (r) return r;
    }
    return 0;
}

int mx_dockercfg_each_helper(const mx_dockercfg *cfg, mx_dockercfg_helper_fn fn, void *ctx)
{
    json_t *helpers = json_object_get(cfg->root, "credHelpers");
    const char *key;
    json_t *v;
    json_object_foreach(helpers, key, v)
    {
        int r = fn(ctx, key, json_string_value(v));
        if (r) return r;
    }
    return 0;
}

const char *mx_dockercfg_creds_store(const mx_dockercfg *cfg)
{
    const char *s = str_field(cfg->root, "credsStore");
    return s && *s ? s : NULL;
}

int mx_dockercfg_remove_auth(mx_dockercfg *cfg, const char *server)
{
    json_t *auths = json_object_get(cfg->root, "auths");
    char *want = mx_cred_key_path(server);
    int removed = 0;
    if (!want) return 0;
    const char *key;
    json_t *e;
    void *tmp;
    json_object_foreach_safe(auths, tmp, key, e)
    {
        char *have = mx_cred_key_path(key);
        if (have && strcmp(have, want) == 0) {
            json_object_del(auths, key);
            removed++;
        }
        free(have);
    }
    free(want);
    return removed;
}

static void set_entry(mx_dockercfg *cfg, const char *server, json_t *entry)
{
    if (!entry) mx_oom();
    mx_dockercfg_remove_auth(cfg, server);
    if (json_object_set_new(json_object_get(cfg->root, "auths"), server, entry) < 0) mx_oom();
}

void mx_dockercfg_set_auth(mx_dockercfg *cfg, const char *server, const char *username,
                           const char *password, const char *identity_token)
{
    json_t *entry = json_object();
    if (!entry) mx_oom();
    if ((username && *username) || (password && *password)) {
        char *plain = mx_xasprintf("%s:%s", username ? username : "", password ? password : "");
        char *b64 = mx_b64_encode(plain, strlen(plain));
        OPENSSL_cleanse(plain, strlen(plain));
        free(plain);
        if (json_object_set_new(entry, "auth", json_string(b64)) < 0) mx_oom();
        free(b64);
    }
    if (identity_token && *identity_token &&
        json_object_set_new(entry, "identitytoken", json_string(identity_token)) < 0)
        mx_oom();
    set_entry(cfg, server, entry);
}

void mx_dockercfg_set_placeholder(mx_dockercfg *cfg, const char *server)
{
    set_entry(cfg, server, json_object());
}

void mx_dockercfg_set_creds_store(mx_dockercfg *cfg, const char *helper)
{
    if (!helper) {
        json_object_del(cfg->root, "credsStore");
        return;
    }
    if (json_object_set_new(cfg->root, "credsStore", json_string(helper)) < 0) mx_oom();
}
