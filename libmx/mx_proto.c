#include "mx_proto.h"
#include "mx_proto_int.h"
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cleanup.h"

#include "mx_utf8.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    [MX_MSG_HELLO] = "hello", [MX_MSG_STEP] = "step",     [MX_MSG_CANCEL] = "cancel",
    [MX_MSG_BYE] = "bye",     [MX_MSG_OUTPUT] = "output", [MX_MSG_STEP_END] = "step-end",
    [MX_MSG_ERROR] = "error",
};

static const char *const reason_names[] = {
    [MX_END_EXITED] = "exited",   [MX_END_SIGNALED] = "signaled",
    [MX_END_TIMEOUT] = "timeout", [MX_END_CANCELLED] = "cancelled",
    [MX_END_FAILED] = "failed",   [MX_END_BACKGROUND] = "background",
};

static const char *const kind_names[] = {
    [MX_STEP_RUN] = "run",
    [MX_STEP_CHECKOUT] = "checkout",
    [MX_STEP_DOCKER_CHECK] = "docker-check",
    [MX_STEP_DOCKER_PULL] = "docker-pull",
    [MX_STEP_PERSIST] = "persist",
    [MX_STEP_ATTACH] = "attach",
    [MX_STEP_CHECKSUM] = "checksum",
    [MX_STEP_PACK] = "pack",
    [MX_STEP_COLLECT] = "collect",
    [MX_STEP_UNPACK] = "unpack",
    [MX_STEP_SSH_KEYS] = "ssh-keys",
    [MX_STEP_CONTAINERS] = "containers",
};

/* The kinds whose "paths" list means something. */
static int has_paths(enum mx_step_kind k)
{
    return k == MX_STEP_PERSIST || k == MX_STEP_CHECKSUM || k == MX_STEP_PACK ||
           k == MX_STEP_COLLECT;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *mx_msg_type_name(enum mx_msg_type t)
{
    return (size_t)t < NELEM(type_names) ? type_names[t] : "?";
}

const char *mx_end_reason_name(enum mx_end_reason r)
{
    return (size_t)r < NELEM(reason_names) ? reason_names[r] : "?";
}

static int lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0) return (int)i;
    return -1;
}

/* jansson fails to build a value only when memory runs out (every string reaching it here
 * is valid UTF-8, see text()): the same verdict as mx_xmalloc's. */
static json_t *must(json_t *v)
{
    if (!v) mx_oom();
    return v;
}

/* Keys are repaired like text() values: jansson refuses keys that are not UTF-8. */
static void set(json_t *o, const char *k, json_t *v)
{
    if (!v) mx_oom();
    mx_autofree char *fixed = mx_utf8_valid(k, strlen(k)) ? NULL : mx_utf8_lossy(k);
    if (json_object_set_new(o, fixed ? fixed : k, v) != 0) mx_oom();
}

void mx_proto_set(json_t *o, const char *k, json_t *v)
{
    set(o, k, v);
}

/* A JSON string of s: as it is when it is valid UTF-8, else with each stray byte replaced by
 * U+FFFD.  Never fails on input: a message built from a guest's file name or a user's branch
 * must not abort either binary.  Fields that must arrive exactly are checked beforehand
 * (mx_msg_check) or carried another way (env_b64). */
static json_t *text(const char *s)
{
    if (mx_utf8_valid(s, strlen(s))) return must(json_string(s));
    mx_autofree char *fixed = mx_utf8_lossy(s);
    return must(json_string(fixed));
}

json_t *mx_proto_text(const char *s)
{
    return text(s);
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v) set(o, k, text(v));
}

static json_t *json_strv(char *const *v, size_t n)
{
    json_t *a = must(json_array());
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(a, text(v[i])) != 0) mx_oom();
    return a;
}

static json_t *encode_docker(const mx_msg *m)
{
    const mx_docker_args *d = &m->docker;
    json_t *o = must(json_object());
    if (m->kind == MX_STEP_DOCKER_CHECK) {
        set_str(o, "registry", d->registry);
        set_str(o, "username", d->username);
        set_str(o, "password", d->password);
        set(o, "credentials_store", json_boolean(d->credentials_store));
    } else {
        set(o, "images", json_strv(d->images, d->nimages));
        json_t *auths = must(json_array());
        for (size_t i = 0; i < d->nauths; i++) {
            json_t *a = must(json_object());
            set_str(a, "registry", d->auths[i].registry);
            set_str(a, "username", d->auths[i].username);
            set_str(a, "password", d->auths[i].password);
            set_str(a, "identitytoken", d->auths[i].identitytoken);
            if (json_array_append_new(auths, a) != 0) mx_oom();
        }
        set(o, "auths", auths);
        set(o, "ignore_errors", json_boolean(d->ignore_errors));
    }
    set(o, "retries", json_integer(d->retries));
    set(o, "retry_delay_s", json_integer(d->retry_delay_s));
    return o;
}

/* Environment values are bytes (a -e value, a branch or directory name in CIRCLE_*): valid
 * UTF-8 ones travel in "env", others base64-encoded in "env_b64", so every value arrives
 * exactly.  Names are checked by mx_msg_check (and repaired here, never aborting). */
static void encode_env(json_t *o, const mx_msg *m)
{
    json_t *env = must(json_object()), *raw = NULL;
    for (size_t i = 0; i < m->nenv; i++) {
        const char *k = m->env[i].key, *v = m->env[i].value;
        mx_autofree char *key = mx_utf8_valid(k, strlen(k)) ? NULL : mx_utf8_lossy(k);
        if (mx_utf8_valid(v, strlen(v))) {
            set(env, key ? key : k, must(json_string(v)));
            continue;
        }
        if (!raw) raw = must(json_object());
        mx_autofree char *b64 = mx_b64_encode(v, strlen(v));
        set(raw, key ? key : k, must(json_string(b64)));
    }
    set(o, "env", env);
    if (raw) set(o, "env_b64", raw);
}

static int fail_utf8(const char *what, const char *step, mx_err *err)
{
    return mx_fail(err, MX_USAGE,
                   "step \"%s\": %s is not valid UTF-8, which the agent protocol cannot carry "
                   "exactly",
                   step, what);
}

/* Fails naming what (field) when s is set and not valid UTF-8. */
static int exact(const char *s, const char *what, const char *step, mx_err *err)
{
    if (!s || mx_utf8_valid(s, strlen(s))) return 0;
    return fail_utf8(what, step, err);
}

int mx_msg_check(const mx_msg *m, mx_err *err)
{
    if (m->type != MX_MSG_STEP) return 0;
    mx_autofree char *step = mx_utf8_lossy(m->name ? m->name : "?");
    int bad = exact(m->command, "the command", step, err) ||
              exact(m->shell, "the shell", step, err) ||
              exact(m->workdir, "the directory", step, err) ||
              exact(m->archive, "the archive path", step, err);
    for (size_t i = 0; !bad && i < m->npaths; i++)
        bad = exact(m->paths[i], "a path", step, err);
    for (size_t i = 0; !bad && i < m->narchives; i++)
        bad = exact(m->archives[i], "an archive path", step, err);
    for (size_t i = 0; !bad && i < m->nenv; i++)
        bad = exact(m->env[i].key, "the name of an environment variable", step, err);
    for (size_t i = 0; !bad && i < m->nkeys; i++)
        bad = exact(m->keys[i].key, "an SSH key's name", step, err) ||
              exact(m->keys[i].value, "an SSH key", step, err);
    const char *what = bad ? NULL : mx_proto_check_ctr(m);
    if (what) bad = fail_utf8(what, step, err);
    const mx_docker_args *d = &m->docker;
    bad = bad || exact(d->registry, "the registry", step, err) ||
          exact(d->username, "the registry username", step, err) ||
          exact(d->password, "the registry password", step, err);
    for (size_t i = 0; !bad && i < d->nimages; i++)
        bad = exact(d->images[i], "an image name", step, err);
    for (size_t i = 0; !bad && i < d->nauths; i++)
        bad = exact(d->auths[i].registry, "a registry", step, err) ||
              exact(d->auths[i].username, "a registry username", step, err) ||
              exact(d->auths[i].password, "a registry password", step, err) ||
              exact(d->auths[i].identitytoken, "a registry token", step, err);
    return bad ? -1 : 0;
}

/* Output is nearly all the traffic and its line has one shape: written directly, byte for
 * byte what jansson writes (base64 needs no escaping), without building a JSON tree. */
static char *encode_output(const mx_msg *m, size_t *len)
{
    mx_autofree char *b64 = mx_b64_encode(m->data, m->len);
    size_t n = strlen(b64);
    char head[96];
    int h =
        snprintf(head, sizeof head, "{\"type\":\"output\",\"id\":%d,\"stream\":\"%s\",\"data\":\"",
                 m->id, m->stream == MX_STREAM_STDERR ? "stderr" : "stdout");
    char *line = mx_xmalloc((size_t)h + n + 4);
    memcpy(line, head, (size_t)h);
    memcpy(line + h, b64, n);
    memcpy(line + h + n, "\"}\n", 3);
    line[(size_t)h + n + 3] = '\0';
    if (len) *len = (size_t)h + n + 3;
    return line;
}

char *mx_msg_encode(const mx_msg *m, size_t *len)
{
    if (m->type == MX_MSG_OUTPUT) return encode_output(m, len);
    return mx_msg_encode_generic(m, len);
}

char *mx_msg_encode_generic(const mx_msg *m, size_t *len)
{
    mx_autojson json_t *o = must(json_object());
    set(o, "type", json_string(mx_msg_type_name(m->type)));
    switch (m->type) {
    case MX_MSG_HELLO:
        set(o, "version", json_integer(m->version));
        set_str(o, "agent", m->agent);
        break;
    case MX_MSG_STEP: {
        set(o, "id", json_integer(m->id));
        set(o, "kind", json_string(kind_names[m->kind]));
        set_str(o, "name", m->name);
        set_str(o, "command", m->command);
        set_str(o, "shell", m->shell);
        set_str(o, "workdir", m->workdir);
        set_str(o, "archive", m->archive);
        if (m->no_output_timeout_s > 0)
            set(o, "no_output_timeout", json_integer(m->no_output_timeout_s));
        if (m->background) set(o, "background", json_true());
        encode_env(o, m);
        if (m->kind == MX_STEP_DOCKER_CHECK || m->kind == MX_STEP_DOCKER_PULL ||
            m->kind == MX_STEP_CONTAINERS)
            set(o, "docker", encode_docker(m));
        mx_proto_encode_ctr(o, m);
        if (has_paths(m->kind)) set(o, "paths", json_strv(m->paths, m->npaths));
        if (m->kind == MX_STEP_SSH_KEYS) {
            json_t *keys = must(json_object());
            for (size_t i = 0; i < m->nkeys; i++)
                set_str(keys, m->keys[i].key, m->keys[i].value);
            set(o, "keys", keys);
        }
        if (m->kind == MX_STEP_ATTACH) set(o, "archives", json_strv(m->archives, m->narchives));
        break;
    }
    case MX_MSG_OUTPUT: {
        mx_autofree char *b64 = mx_b64_encode(m->data, m->len);
        set(o, "id", json_integer(m->id));
        set(o, "stream", json_string(m->stream == MX_STREAM_STDERR ? "stderr" : "stdout"));
        set(o, "data", json_string(b64));
        break;
    }
    case MX_MSG_STEP_END:
        set(o, "id", json_integer(m->id));
        set(o, "exit", json_integer(m->exit_status));
        set(o, "reason", json_string(mx_end_reason_name(m->reason)));
        set(o, "duration_ms", json_integer(m->duration_ms));
        set_str(o, "message", m->message);
        if (m->nvalues) set(o, "values", json_strv(m->values, m->nvalues));
        set_str(o, "arch", m->arch);
        break;
    case MX_MSG_ERROR:
        set_str(o, "message", m->message);
        break;
    case MX_MSG_CANCEL:
    case MX_MSG_BYE:
        break;
    }
    char *s = json_dumps(o, JSON_COMPACT);
    if (!s) mx_oom();
    size_t n = strlen(s);
    char *line = mx_xmalloc(n + 2);
    memcpy(line, s, n);
    line[n] = '\n';
    line[n + 1] = '\0';
    free(s);
    if (len) *len = n + 1;
    return line;
}

static int get_str(json_t *o, const char *k, char **out, int required, mx_err *err)
{
    json_t *v = json_object_get(o, k);
    if (!v) {
        if (!required) return 0;
        mx_fail(err, MX_INFRA, "message lacks \"%s\"", k);
        return -1; /* spelled out: callers use *out only after 0 */
    }
    const char *s = json_string_value(v);
    if (!s) {
        mx_fail(err, MX_INFRA, "\"%s\" is not a string", k);
        return -1;
    }
    *out = mx_xstrdup(s);
    return 0;
}

static int get_int(json_t *o, const char *k, long long *out, int required, mx_err *err)
{
    json_t *v = json_object_get(o, k);
    if (!v) {
        if (required) return mx_fail(err, MX_INFRA, "message lacks \"%s\"", k);
        return 0;
    }
    if (!json_is_integer(v)) return mx_fail(err, MX_INFRA, "\"%s\" is not an integer", k);
    *out = json_integer_value(v);
    return 0;
}

static int get_bool(json_t *o, const char *k, int *out, mx_err *err)
{
    json_t *v = json_object_get(o, k);
    if (!v) return 0;
    if (!json_is_boolean(v)) return mx_fail(err, MX_INFRA, "\"%s\" is not a boolean", k);
    *out = json_is_true(v);
    return 0;
}

/* A count or a delay: a negative one would mean nothing sensible, so it is refused here rather
 * than clamped by each reader. */
static int get_nonneg(json_t *o, const char *k, int *out, mx_err *err)
{
    long long n = 0;
    if (get_int(o, k, &n, 0, err) < 0) return -1;
    if (n < 0 || n > 1000000) return mx_fail(err, MX_INFRA, "\"%s\" is out of range", k);
    *out = (int)n;
    return 0;
}

/* An optional array of strings; *v gets a NULL after the last one. */
static int get_strv(json_t *o, const char *k, char ***v, size_t *n, mx_err *err)
{
    json_t *a = json_object_get(o, k);
    if (!a) return 0;
    if (!json_is_array(a)) return mx_fail(err, MX_INFRA, "\"%s\" is not an array", k);
    *v = mx_xcalloc(json_array_size(a) + 1, sizeof **v);
    size_t i;
    json_t *s;
    json_array_foreach(a, i, s)
    {
        if (!json_is_string(s)) return mx_fail(err, MX_INFRA, "%s[%zu] is not a string", k, i);
        (*v)[(*n)++] = mx_xstrdup(json_string_value(s));
    }
    return 0;
}

static int decode_docker_auths(json_t *arr, mx_docker_args *d, mx_err *err)
{
    if (!json_is_array(arr)) return mx_fail(err, MX_INFRA, "\"auths\" is not an array");
    d->auths = mx_xcalloc(json_array_size(arr) + 1, sizeof *d->auths);
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        if (!json_is_object(a)) return mx_fail(err, MX_INFRA, "auths[%zu] is not an object", i);
        mx_docker_auth *e = &d->auths[d->nauths++];
        if (get_str(a, "registry", &e->registry, 1, err) < 0 ||
            get_str(a, "username", &e->username, 0, err) < 0 ||
            get_str(a, "password", &e->password, 0, err) < 0 ||
            get_str(a, "identitytoken", &e->identitytoken, 0, err) < 0)
            return mx_wrap(err, "auths[%zu]", i);
    }
    return 0;
}

static int decode_docker(json_t *o, mx_msg *m, mx_err *err)
{
    json_t *dj = json_object_get(o, "docker");
    if (!dj) return 0; /* the agent says what is missing, with the step's id */
    if (!json_is_object(dj)) return mx_fail(err, MX_INFRA, "\"docker\" is not an object");
    mx_docker_args *d = &m->docker;
    if (get_str(dj, "registry", &d->registry, 0, err) < 0 ||
        get_str(dj, "username", &d->username, 0, err) < 0 ||
        get_str(dj, "password", &d->password, 0, err) < 0 ||
        get_bool(dj, "credentials_store", &d->credentials_store, err) < 0 ||
        get_bool(dj, "ignore_errors", &d->ignore_errors, err) < 0 ||
        get_nonneg(dj, "retries", &d->retries, err) < 0 ||
        get_nonneg(dj, "retry_delay_s", &d->retry_delay_s, err) < 0 ||
        get_strv(dj, "images", &d->images, &d->nimages, err) < 0)
        return -1;
    json_t *auths = json_object_get(dj, "auths");
    if (auths && decode_docker_auths(auths, d, err) < 0) return -1;
    return 0;
}

/* An optional object of strings (the "keys" of ssh-keys). */
static int decode_kv(json_t *o, const char *k, mx_kv **v, size_t *n, mx_err *err)
{
    json_t *obj = json_object_get(o, k);
    if (!obj) return 0;
    if (!json_is_object(obj)) return mx_fail(err, MX_INFRA, "\"%s\" is not an object", k);
    *v = mx_xcalloc(json_object_size(obj), sizeof **v);
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (!json_is_string(val))
            return mx_fail(err, MX_INFRA, "%s \"%s\" is not a string", k, key);
        (*v)[*n].key = mx_xstrdup(key);
        (*v)[*n].value = mx_xstrdup(json_string_value(val));
        (*n)++;
    }
    return 0;
}

/* "env" (values as JSON strings) and "env_b64" (values that are not UTF-8, base64): one list. */
static int decode_env(json_t *o, mx_msg *m, mx_err *err)
{
    json_t *env = json_object_get(o, "env"), *raw = json_object_get(o, "env_b64");
    if (env && !json_is_object(env)) return mx_fail(err, MX_INFRA, "\"env\" is not an object");
    if (raw && !json_is_object(raw)) return mx_fail(err, MX_INFRA, "\"env_b64\" is not an object");
    size_t n = json_object_size(env) + json_object_size(raw);
    if (n == 0) return 0;
    m->env = mx_xcalloc(n, sizeof *m->env);
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v)
    {
        if (!json_is_string(v)) return mx_fail(err, MX_INFRA, "env \"%s\" is not a string", k);
        m->env[m->nenv].key = mx_xstrdup(k);
        m->env[m->nenv].value = mx_xstrdup(json_string_value(v));
        m->nenv++;
    }
    json_object_foreach(raw, k, v)
    {
        if (!json_is_string(v)) return mx_fail(err, MX_INFRA, "env_b64 \"%s\" is not a string", k);
        if (json_object_get(env, k))
            return mx_fail(err, MX_INFRA, "\"%s\" is in both env and env_b64", k);
        size_t len = 0;
        unsigned char *bytes = mx_b64_decode(json_string_value(v), &len);
        if (!bytes) return mx_fail(err, MX_INFRA, "env_b64 \"%s\" is not base64", k);
        /* a C string ends at the first NUL: such a value would arrive cut short */
        if (memchr(bytes, '\0', len)) {
            free(bytes);
            return mx_fail(err, MX_INFRA, "env_b64 \"%s\" holds a NUL byte", k);
        }
        m->env[m->nenv].key = mx_xstrdup(k);
        m->env[m->nenv].value = (char *)bytes;
        m->nenv++;
    }
    return 0;
}

static int decode_body(json_t *o, mx_msg *m, mx_err *err)
{
    long long n = 0;
    mx_autofree char *s = NULL;
    switch (m->type) {
    case MX_MSG_HELLO:
        if (get_int(o, "version", &n, 1, err) < 0) return -1;
        m->version = (int)n;
        return get_str(o, "agent", &m->agent, 0, err);
    case MX_MSG_STEP:
        if (get_int(o, "id", &n, 1, err) < 0) return -1;
        m->id = (int)n;
        if (get_str(o, "kind", &s, 1, err) < 0) return -1;
        int kind = lookup(kind_names, NELEM(kind_names), s);
        if (kind < 0) return mx_fail(err, MX_INFRA, "unknown step kind \"%s\"", s);
        m->kind = (enum mx_step_kind)kind;
        n = 0;
        if (get_int(o, "no_output_timeout", &n, 0, err) < 0) return -1;
        m->no_output_timeout_s = (int)n;
        json_t *bg = json_object_get(o, "background");
        if (bg && !json_is_boolean(bg))
            return mx_fail(err, MX_INFRA, "\"background\" is not a boolean");
        m->background = json_is_true(bg);
        if (get_str(o, "name", &m->name, 0, err) < 0 ||
            get_str(o, "command", &m->command, 0, err) < 0 ||
            get_str(o, "shell", &m->shell, 0, err) < 0 ||
            get_str(o, "workdir", &m->workdir, 0, err) < 0 ||
            get_str(o, "archive", &m->archive, 0, err) < 0)
            return -1;
        /* like "docker", the lists belong to one kind each and are ignored on others */
        if (has_paths(m->kind) && get_strv(o, "paths", &m->paths, &m->npaths, err) < 0) return -1;
        if (m->kind == MX_STEP_SSH_KEYS && decode_kv(o, "keys", &m->keys, &m->nkeys, err) < 0)
            return -1;
        if (m->kind == MX_STEP_ATTACH &&
            get_strv(o, "archives", &m->archives, &m->narchives, err) < 0)
            return -1;
        if (m->kind == MX_STEP_DOCKER_CHECK || m->kind == MX_STEP_DOCKER_PULL ||
            m->kind == MX_STEP_CONTAINERS) {
            if (decode_docker(o, m, err) < 0) return -1;
        }
        if (mx_proto_decode_ctr(o, m, err) < 0) return -1;
        return decode_env(o, m, err);
    case MX_MSG_OUTPUT:
        if (get_int(o, "id", &n, 1, err) < 0) return -1;
        m->id = (int)n;
        if (get_str(o, "stream", &s, 1, err) < 0) return -1;
        if (strcmp(s, "stdout") == 0)
            m->stream = MX_STREAM_STDOUT;
        else if (strcmp(s, "stderr") == 0)
            m->stream = MX_STREAM_STDERR;
        else
            return mx_fail(err, MX_INFRA, "unknown stream \"%s\"", s);
        free(mx_steal(&s));
        if (get_str(o, "data", &s, 1, err) < 0) return -1;
        m->data = mx_b64_decode(s, &m->len);
        if (!m->data) return mx_fail(err, MX_INFRA, "output data is not base64");
        return 0;
    case MX_MSG_STEP_END:
        if (get_int(o, "id", &n, 1, err) < 0) return -1;
        m->id = (int)n;
        if (get_int(o, "exit", &n, 1, err) < 0) return -1;
        m->exit_status = (int)n;
        if (get_int(o, "duration_ms", &m->duration_ms, 0, err) < 0) return -1;
        if (get_str(o, "reason", &s, 1, err) < 0) return -1;
        int r = lookup(reason_names, NELEM(reason_names), s);
        if (r < 0) return mx_fail(err, MX_INFRA, "unknown end reason \"%s\"", s);
        m->reason = (enum mx_end_reason)r;
        if (get_strv(o, "values", &m->values, &m->nvalues, err) < 0 ||
            get_str(o, "arch", &m->arch, 0, err) < 0)
            return -1;
        return get_str(o, "message", &m->message, 0, err);
    case MX_MSG_ERROR:
        return get_str(o, "message", &m->message, 1, err);
    case MX_MSG_CANCEL:
    case MX_MSG_BYE:
        return 0;
    }
    return 0;
}

/* Reads the literal lit at *p; 1 if it is there (and moves past it). */
static int take(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0) return 0;
    *p += n;
    return 1;
}

/* An output line exactly as encode_output writes it, decoded without jansson: 1 done, 0 not
 * that shape (the general decoder decides, to the same result). */
static int decode_output(const char *line, size_t len, mx_msg *m)
{
    const char *p = line, *end = line + len;
    if (!take(&p, end, "{\"type\":\"output\",\"id\":")) return 0;
    /* a JSON integer: no leading zeros, no sign but '-'; longer ones go the general way */
    int neg = take(&p, end, "-");
    const char *digits = p;
    long long id = 0;
    while (p < end && *p >= '0' && *p <= '9' && p - digits < 18)
        id = id * 10 + (*p++ - '0');
    if (p == digits || (*digits == '0' && p - digits > 1) || (p < end && *p >= '0' && *p <= '9'))
        return 0;
    enum mx_stream stream;
    if (take(&p, end, ",\"stream\":\"stdout\",\"data\":\""))
        stream = MX_STREAM_STDOUT;
    else if (take(&p, end, ",\"stream\":\"stderr\",\"data\":\""))
        stream = MX_STREAM_STDERR;
    else
        return 0;
    const char *data = p;
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q || end - q != 2 || q[1] != '}') return 0;
    /* not plain base64 (an escape, say): the general way decides */
    m->data = mx_b64_decode_n(data, (size_t)(q - data), &m->len);
    if (!m->data) return 0;
    m->type = MX_MSG_OUTPUT;
    m->id = (int)(neg ? -id : id);
    m->stream = stream;
    return 1;
}

int mx_msg_decode(const char *line, size_t len, mx_msg *m, mx_err *err)
{
    memset(m, 0, sizeof *m);
    if (decode_output(line, len, m)) return 0;
    return mx_msg_decode_generic(line, len, m, err);
}

int mx_msg_decode_generic(const char *line, size_t len, mx_msg *m, mx_err *err)
{
    memset(m, 0, sizeof *m);
    json_error_t jerr;
    mx_autojson json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) return mx_fail(err, MX_INFRA, "bad protocol line: %s", jerr.text);
    if (!json_is_object(o)) return mx_fail(err, MX_INFRA, "protocol line is not an object");
    json_t *t = json_object_get(o, "type");
    if (!json_is_string(t)) return mx_fail(err, MX_INFRA, "protocol message lacks \"type\"");
    int type = lookup(type_names, NELEM(type_names), json_string_value(t));
    if (type < 0)
        return mx_fail(err, MX_INFRA, "unknown message type \"%s\"", json_string_value(t));
    m->type = (enum mx_msg_type)type;
    if (decode_body(o, m, err) < 0) {
        mx_msg_clear(m);
        return mx_wrap(err, "%s message", mx_msg_type_name((enum mx_msg_type)type));
    }
    return 0;
}

/* Wipes a secret before freeing it: the agent's heap may end up in a core file. */
static void free_secret(char *s)
{
    if (s) OPENSSL_cleanse(s, strlen(s));
    free(s);
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void docker_clear(mx_docker_args *d)
{
    free(d->registry);
    free(d->username);
    free_secret(d->password);
    strv_free(d->images, d->nimages);
    for (size_t i = 0; i < d->nauths; i++) {
        free(d->auths[i].registry);
        free(d->auths[i].username);
        free_secret(d->auths[i].password);
        free_secret(d->auths[i].identitytoken);
    }
    free(d->auths);
}

void mx_msg_clear(mx_msg *m)
{
    docker_clear(&m->docker);
    mx_proto_clear_ctr(m);
    free(m->agent);
    free(m->name);
    free(m->command);
    free(m->shell);
    free(m->workdir);
    free(m->archive);
    strv_free(m->paths, m->npaths);
    strv_free(m->archives, m->narchives);
    strv_free(m->values, m->nvalues);
    free(m->arch);
    for (size_t i = 0; i < m->nkeys; i++) {
        free(m->keys[i].key);
        free_secret(m->keys[i].value);
    }
    free(m->keys);
    for (size_t i = 0; i < m->nenv; i++) {
        free(m->env[i].key);
        free(m->env[i].value);
    }
    free(m->env);
    free(m->data);
    free(m->message);
    memset(m, 0, sizeof *m);
}

void mx_lines_init(mx_lines *l)
{
    memset(l, 0, sizeof *l);
}

void mx_lines_free(mx_lines *l)
{
    free(l->data);
    mx_lines_init(l);
}

int mx_lines_feed(mx_lines *l, const void *data, size_t len, mx_err *err)
{
    if (len == 0) return 0;
    if (l->len - l->off + len > MX_PROTO_MAX_LINE) {
        /* the unfinished line held so far, then each line in data, must fit */
        size_t nheld = l->len - l->off;
        const char *held = nheld ? l->data + l->off : NULL; /* data may be NULL yet */
        const char *nl = nheld ? memrchr(held, '\n', nheld) : NULL;
        size_t cur = nl ? nheld - (size_t)(nl + 1 - held) : nheld;
        const char *p = data, *end = p + len;
        while (p < end) {
            const char *q = memchr(p, '\n', (size_t)(end - p));
            if (cur + (size_t)((q ? q : end) - p) > MX_PROTO_MAX_LINE)
                return mx_fail(err, MX_INFRA, "protocol line longer than %u bytes",
                               MX_PROTO_MAX_LINE);
            if (!q) break;
            cur = 0;
            p = q + 1;
        }
    }
    if (l->off > 0) {
        /* once per feed, not once per line */
        memmove(l->data, l->data + l->off, l->len - l->off);
        l->len -= l->off;
        l->scan -= l->off;
        l->off = 0;
    }
    if (l->len + len > l->cap) {
        size_t cap = l->cap ? l->cap : 4096;
        while (cap < l->len + len)
            cap *= 2;
        l->data = mx_xrealloc(l->data, cap);
        l->cap = cap;
    }
    memcpy(l->data + l->len, data, len);
    l->len += len;
    return 0;
}

int mx_lines_view(mx_lines *l, const char **line, size_t *len)
{
    if (l->scan < l->off) l->scan = l->off;
    char *nl = l->len > l->scan ? memchr(l->data + l->scan, '\n', l->len - l->scan) : NULL;
    if (!nl) {
        l->scan = l->len;
        return 0;
    }
    *nl = '\0';
    *line = l->data + l->off;
    *len = (size_t)(nl - *line);
    l->off = l->scan = (size_t)(nl - l->data) + 1;
    if (l->off == l->len) l->off = l->len = l->scan = 0; /* all handed out: nothing to move */
    return 1;
}

int mx_lines_next(mx_lines *l, char **line, size_t *len)
{
    const char *v;
    if (!mx_lines_view(l, &v, len)) return 0;
    *line = mx_xmalloc(*len + 1);
    memcpy(*line, v, *len + 1);
    return 1;
}
