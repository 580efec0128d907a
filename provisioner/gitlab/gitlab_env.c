/* What every GitLab stage derives from the runner's environment: the job's key, the config
 * document, the exit codes, the secrets to mask and the guest's docker logins. */
#include "gitlab.h"
#include "mx_num.h"
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_cred.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int safe_part(const char *s)
{
    if (!*s || strlen(s) > 24) return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *s))
            return 0;
    return 1;
}

char *mx_gitlab_job_key(mx_gitlab_getenv_fn env, mx_err *err)
{
    const char *job = env("CUSTOM_ENV_CI_JOB_ID");
    const char *runner = env("CUSTOM_ENV_CI_RUNNER_ID");
    if (!job || !*job) {
        mx_fail(err, MX_INFRA, "CUSTOM_ENV_CI_JOB_ID is not set: is GitLab Runner calling?");
        return NULL;
    }
    /* runners before 15.x do not pass CI_RUNNER_ID: one runner per host is then the rule */
    if (!runner || !*runner) runner = "0";
    if (!safe_part(job) || !safe_part(runner)) {
        mx_fail(err, MX_INFRA, "CI_JOB_ID / CI_RUNNER_ID must be short and [A-Za-z0-9_.-]");
        return NULL;
    }
    return mx_xasprintf("gitlab-r%s-j%s", runner, job);
}

static json_t *must(json_t *j)
{
    if (!j) mx_oom();
    return j;
}

char *mx_gitlab_config_json(mx_gitlab_getenv_fn env, const char *version)
{
    mx_err ignored;
    mx_autofree char *key = mx_gitlab_job_key(env, &ignored);
    /* the guest's hostname is its domain name: what "Running on" should show */
    mx_autofree char *host = key ? mx_xasprintf("mexec-%s", key) : mx_xstrdup("mexec");
    mx_autojson json_t *doc = must(json_pack(
        "{s:s, s:s, s:b, s:s, s:{s:s, s:s}, s:{s:s}, s:s}", "builds_dir", MX_GITLAB_BUILDS_DIR,
        "cache_dir", MX_GITLAB_CACHE_DIR, "builds_dir_is_shared", 0, "hostname", host, "driver",
        "name", "mexec", "version", version, "job_env", "MEXEC_DRIVER", "mexec", "shell", "bash"));
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) mx_oom();
    return text;
}

static int exit_code(mx_gitlab_getenv_fn env, const char *name, int dflt)
{
    const char *v = env(name);
    if (!v || !*v) return dflt;
    long long n;
    return mx_parse_int(v, 1, 255, &n) < 0 ? dflt : (int)n;
}

int mx_gitlab_build_failure(mx_gitlab_getenv_fn env)
{
    return exit_code(env, "BUILD_FAILURE_EXIT_CODE", 1);
}

int mx_gitlab_system_failure(mx_gitlab_getenv_fn env)
{
    return exit_code(env, "SYSTEM_FAILURE_EXIT_CODE", 2);
}

void mx_gitlab_creds_free(mx_gitlab_creds *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].registry);
        if (c->v[i].username) explicit_bzero(c->v[i].username, strlen(c->v[i].username));
        if (c->v[i].password) explicit_bzero(c->v[i].password, strlen(c->v[i].password));
        free(c->v[i].username);
        free(c->v[i].password);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

static void add_pair(mx_secrets *s, const char *user, const char *pass)
{
    if (!pass || !*pass) return;
    mx_secrets_add(s, pass);
    if (user) {
        /* docker's config.json and X-Registry-Auth spell it base64(user:password) */
        mx_autofree char *pair = mx_xasprintf("%s:%s", user, pass);
        mx_autofree char *b64 = mx_b64_encode(pair, strlen(pair));
        mx_secrets_add(s, b64);
    }
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *load_payload(const char *path, mx_err *err)
{
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc) mx_fail(err, MX_INFRA, "JOB_RESPONSE_FILE %s: %s", path, je.text);
    return doc;
}

static int dac_secrets(const char *text, mx_secrets *s, mx_err *err)
{
    json_error_t je;
    mx_autojson json_t *doc = json_loads(text, 0, &je);
    /* never quote the text: it is the secret */
    if (!json_is_object(doc))
        return mx_fail(err, MX_INFRA, "DOCKER_AUTH_CONFIG is not a JSON object (line %d)", je.line);
    const char *key;
    json_t *e;
    json_object_foreach(json_object_get(doc, "auths"), key, e)
    {
        const char *auth = str(e, "auth");
        if (auth && *auth) {
            mx_secrets_add(s, auth);
            size_t n = 0;
            mx_autofree char *plain = (char *)mx_b64_decode(auth, &n);
            char *colon = plain ? memchr(plain, ':', n) : NULL;
            if (colon) {
                mx_autofree char *pass = mx_xstrndup(colon + 1, n - (size_t)(colon + 1 - plain));
                mx_secrets_add(s, pass);
                explicit_bzero(pass, strlen(pass));
            }
            if (plain) explicit_bzero(plain, n);
        }
        add_pair(s, str(e, "username"), str(e, "password"));
        if (str(e, "identitytoken")) mx_secrets_add(s, str(e, "identitytoken"));
        if (str(e, "registrytoken")) mx_secrets_add(s, str(e, "registrytoken"));
    }
    return 0;
}

int mx_gitlab_secrets(const char *docker_auth_config, const char *job_response_file, mx_secrets *s,
                      mx_err *err)
{
    if (docker_auth_config && *docker_auth_config && dac_secrets(docker_auth_config, s, err) < 0)
        return -1;
    if (!job_response_file || !*job_response_file) return 0;
    mx_autojson json_t *doc = load_payload(job_response_file, err);
    if (!doc) return -1;
    if (str(doc, "token")) mx_secrets_add(s, str(doc, "token"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "variables"), i, v)
    {
        if (json_is_true(json_object_get(v, "masked")) && str(v, "value"))
            mx_secrets_add(s, str(v, "value"));
        /* a masked DOCKER_AUTH_CONFIG variable hides its parts too, not only its whole text */
        if (str(v, "key") && strcmp(str(v, "key"), "DOCKER_AUTH_CONFIG") == 0 && str(v, "value"))
            dac_secrets(str(v, "value"), s, NULL);
    }
    json_array_foreach(json_object_get(doc, "credentials"), i, v)
        add_pair(s, str(v, "username"), str(v, "password"));
    return 0;
}

static void add_name(char ***names, size_t *n, const char *name)
{
    if (!name || !*name) return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*names)[i], name) == 0) return;
    *names = mx_xrealloc(*names, (*n + 1) * sizeof **names);
    (*names)[(*n)++] = mx_xstrdup(name);
}

int mx_gitlab_logins(const char *docker_auth_config, const char *job_response_file,
                     const char *const *allowed_helpers, mx_gitlab_creds *out, char **skipped,
                     mx_err *err)
{
    memset(out, 0, sizeof *out);
    *skipped = NULL;
    char **names = NULL;
    size_t nnames = 0;
    int rc = 0;
    mx_cred_opts copts = {.allowed_helpers = allowed_helpers};
    mx_cred_resolver *r = mx_cred_resolver_new(&copts);
    /* GitLab's order: the job's DOCKER_AUTH_CONFIG, then the payload's credentials */
    if (docker_auth_config && *docker_auth_config) {
        rc = mx_cred_add_config_text(r, docker_auth_config, "$DOCKER_AUTH_CONFIG", err);
        mx_autojson json_t *doc = json_loads(docker_auth_config, 0, NULL);
        const char *key;
        json_t *e;
        json_object_foreach(json_object_get(doc, "auths"), key, e) add_name(&names, &nnames, key);
        json_object_foreach(json_object_get(doc, "credHelpers"), key, e)
            add_name(&names, &nnames, key);
    }
    if (rc == 0 && job_response_file && *job_response_file) {
        mx_autojson json_t *doc = load_payload(job_response_file, err);
        if (!doc) rc = -1;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(doc, "credentials"), i, v)
        {
            const char *type = str(v, "type"), *url = str(v, "url");
            if (rc < 0 || !type || strcmp(type, "registry") != 0 || !url || !*url) continue;
            rc = mx_cred_add_static(r, url, str(v, "username"), str(v, "password"), "job payload",
                                    0, err);
            add_name(&names, &nnames, url);
        }
    }
    mx_buf skip;
    mx_buf_init(&skip);
    for (size_t i = 0; rc == 0 && i < nnames; i++) {
        mx_cred c;
        memset(&c, 0, sizeof c);
        int found = mx_cred_resolve_registry(r, names[i], &c, err);
        if (found < 0) {
            rc = mx_wrap(err, "credentials for %s", names[i]);
        } else if (found == 1 && c.username && c.password) {
            out->v = mx_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
            out->v[out->n++] = (mx_gitlab_login){.registry = mx_xstrdup(names[i]),
                                                 .username = mx_xstrdup(c.username),
                                                 .password = mx_xstrdup(c.password)};
        } else if (found == 1) {
            mx_buf_printf(&skip, "%s%s", skip.len ? ", " : "", names[i]);
        }
        mx_cred_clear(&c);
    }
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    mx_cred_resolver_free(r);
    if (rc < 0) {
        mx_buf_free(&skip);
        mx_gitlab_creds_free(out);
        return -1;
    }
    *skipped = skip.len ? mx_buf_steal(&skip) : NULL;
    if (!*skipped) mx_buf_free(&skip);
    return 0;
}
