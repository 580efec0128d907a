#include "mx_proto.h"
#include "mx_proto_int.h"
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cleanup.h"

#include <jansson.h>
#include <openssl/crypto.h>
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

/* json_object_set_new() fails only on out-of-memory or invalid UTF-8 keys, neither of which
 * a message we build can recover from: treat as fatal like other allocation failures. */
static void set(json_t *o, const char *k, json_t *v)
{
    if (!v || json_object_set_new(o, k, v) != 0) mx_oom();
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v) set(o, k, json_string(v));
}

static json_t *json_strv(char *const *v, size_t n)
{
    json_t *a = json_array();
    if (!a) mx_oom();
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) mx_oom();
    return a;
}

static json_t *encode_docker(const mx_msg *m)
{
    const mx_docker_args *d = &m->docker;
    json_t *o = json_object();
    if (!o) mx_oom();
    if (m->kind == MX_STEP_DOCKER_CHECK) {
        set_str(o, "registry", d->registry);
        set_str(o, "username", d->username);
        set_str(o, "password", d->password);
        set(o, "credentials_store", json_boolean(d->credentials_store));
    } else {
        set(o, "images", json_strv(d->images, d->nimages));
        json_t *auths = json_array();
        if (!auths) mx_oom();
        for (size_t i = 0; i < d->nauths; i++) {
            json_t *a = json_object();
            if (!a) mx_oom();
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

char *mx_msg_encode(const mx_msg *m, size_t *len)
{
    mx_autojson json_t *o = json_object();
    if (!o) mx_oom();
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
        json_t *env = json_object();
        if (!env) mx_oom();
        for (size_t i = 0; i < m->nenv; i++)
            set(env, m->env[i].key, json_string(m->env[i].value));
        set(o, "env", env);
        if (m->kind == MX_STEP_DOCKER_CHECK || m->kind == MX_STEP_DOCKER_PULL ||
            m->kind == MX_STEP_CONTAINERS)
            set(o, "docker", encode_docker(m));
        mx_proto_encode_ctr(o, m);
        if (has_paths(m->kind)) set(o, "paths", json_strv(m->paths, m->npaths));
        if (m->kind == MX_STEP_SSH_KEYS) {
            json_t *keys = json_object();
            if (!keys) mx_oom();
            for (size_t i = 0; i < m->nkeys; i++)
                set(keys, m->keys[i].key, json_string(m->keys[i].value));
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

static int decode_env(json_t *o, mx_msg *m, mx_err *err)
{
    json_t *env = json_object_get(o, "env");
    if (!env) return 0;
    if (!json_is_object(env)) return mx_fail(err, MX_INFRA, "\"env\" is not an object");
    m->env = mx_xcalloc(json_object_size(env), sizeof *m->env);
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v)
    {
        if (!json_is_string(v)) return mx_fail(err, MX_INFRA, "env \"%s\" is not a string", k);
        m->env[m->nenv].key = mx_xstrdup(k);
        m->env[m->nenv].value = mx_xstrdup(json_string_value(v));
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

int mx_msg_decode(const char *line, size_t len, mx_msg *m, mx_err *err)
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
    if (l->len + len > MX_PROTO_MAX_LINE) {
        /* the unfinished line held so far, then each line in data, must fit */
        const char *nl = l->len ? memrchr(l->data, '\n', l->len) : NULL;
        size_t cur = nl ? l->len - (size_t)(nl + 1 - l->data) : l->len;
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

int mx_lines_next(mx_lines *l, char **line, size_t *len)
{
    char *nl = l->len ? memchr(l->data, '\n', l->len) : NULL;
    if (!nl) return 0;
    size_t n = (size_t)(nl - l->data);
    *line = mx_xmalloc(n + 1);
    memcpy(*line, l->data, n);
    (*line)[n] = '\0';
    *len = n;
    memmove(l->data, nl + 1, l->len - n - 1);
    l->len -= n + 1;
    return 1;
}
