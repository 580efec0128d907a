/* GitLab jobs with a container image (CI_JOB_IMAGE not in the machine catalog): the job
 * container and its services in the job's VM, as GitLab's docker executor runs them, each job
 * in a throw-away VM of its own.
 *
 * - The job container runs the runner's user scripts (build_script, after_script, step_*); the
 *   other sub-stages (get_sources, caches, artifacts) run in the VM, which has git and plays
 *   the part of GitLab's helper container.  Both see the builds and cache directories: the VM's
 *   are mounted into the job container at the same paths.
 * - Services join a per-job network, each reachable by its alias(es) and by the names GitLab
 *   derives from its image ("registry.example.com/tutum/wordpress:latest" ->
 *   "registry.example.com__tutum__wordpress" and "registry.example.com-tutum-wordpress").  As
 *   in GitLab, they get the job's variables, then their own.
 * - Images are pulled with the credentials GitLab would use: DOCKER_AUTH_CONFIG, then the job
 *   payload's registry credentials (longest matching key), helpers only where host.yaml allows
 *   them; an ECR image without any gets a token from the job's AWS_* variables. */
#include "catalog.h"
#include "gitlab.h"
#include "image_import_store.h"
#include "image_tag.h"
#include "job_containers.h"
#include "mx_aws.h"
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_cred.h"
#include "mx_cred_ref.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* 1 when some catalog reference has ref's NAME (the part before its last ':'). */
static int catalog_has_name(const mx_catalog *cat, const char *ref)
{
    const char *colon = strrchr(ref, ':');
    size_t n = colon ? (size_t)(colon - ref) : strlen(ref);
    for (size_t i = 0; cat->images && cat->images->kind == MX_NODE_MAP && i < cat->images->n; i++)
        if (mx_ref_has_name(cat->images->keys[i]->value, ref, n)) return 1;
    return 0;
}

int mx_gitlab_container_image(const mx_host_config *hc, const char *image)
{
    if (!image || !*image) return 0;
    mx_catalog cat;
    mx_err err;
    if (mx_catalog_load(hc->images_dir, &cat, &err) < 0) return 0; /* prepare says why */
    /* a machine image by its catalog name with a tag the catalog lacks is a mistyped machine
     * image (prepare lists the known tags), not a Docker Hub image of that name */
    int machine = catalog_has_name(&cat, image);
    mx_catalog_free(&cat);
    if (machine) return 0;
    mx_image img;
    memset(&img, 0, sizeof img);
    int imported = mx_imported_resolve(hc, image, &img, &err);
    if (imported == 1) mx_image_free(&img);
    /* an unreadable import record is prepare's to report, as a machine image */
    return imported == 0;
}

int mx_gitlab_stage_in_container(const char *stage)
{
    return strcmp(stage, "build_script") == 0 || strcmp(stage, "after_script") == 0 ||
           strncmp(stage, "step_", 5) == 0;
}

static int hostname_ok(const char *s)
{
    if (!*s || strlen(s) > 253) return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
           strlen(s);
}

static void add_alias(char ***v, size_t *n, const char *a)
{
    if (!hostname_ok(a)) return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], a) == 0) return;
    *v = mx_xrealloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = mx_xstrdup(a);
    (*v)[*n] = NULL;
}

static char *replace_all(const char *s, char from, const char *to)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "");
    for (; *s; s++) {
        if (*s == from)
            mx_buf_adds(&b, to);
        else
            mx_buf_add(&b, s, 1);
    }
    return mx_buf_steal(&b);
}

size_t mx_gitlab_service_aliases(const char *name, const char *alias, char ***out)
{
    char **v = NULL;
    size_t n = 0;
    for (const char *p = alias ? alias : ""; *p;) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, " ,");
        if (len) {
            mx_autofree char *a = mx_xstrndup(p, len);
            add_alias(&v, &n, a);
        }
        p += len;
    }
    /* the image without tag or digest */
    size_t len = strcspn(name, "@");
    const char *slash = memrchr(name, '/', len);
    const char *colon =
        memrchr(slash ? slash : name, ':', len - (size_t)((slash ? slash : name) - name));
    if (colon) len = (size_t)(colon - name);
    mx_autofree char *bare = mx_xstrndup(name, len);
    mx_autofree char *under = replace_all(bare, '/', "__");
    mx_autofree char *dash = replace_all(bare, '/', "-");
    add_alias(&v, &n, under);
    add_alias(&v, &n, dash);
    *out = v ? v : mx_xcalloc(1, sizeof *v);
    return n;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static char **json_strv(const json_t *a, size_t *n, int *has)
{
    *n = 0;
    if (!json_is_array(a)) return NULL;
    *has = 1;
    char **v = mx_xcalloc(json_array_size(a) + 1, sizeof *v);
    size_t i;
    json_t *s;
    json_array_foreach(a, i, s) if (json_is_string(s)) v[(*n)++] = mx_xstrdup(json_string_value(s));
    return v;
}

static void env_add(mx_container_spec *s, const char *k, const char *v)
{
    for (size_t i = 0; i < s->nenv; i++)
        if (strcmp(s->env[i].key, k) == 0) {
            free(s->env[i].value);
            s->env[i].value = mx_xstrdup(v);
            return;
        }
    s->env = mx_xrealloc(s->env, (s->nenv + 1) * sizeof *s->env);
    s->env[s->nenv].key = mx_xstrdup(k);
    s->env[s->nenv].value = mx_xstrdup(v);
    s->nenv++;
}

/* A variables list [{key, value}] (or a map) into s's environment; file variables hold paths
 * of the runner's host and are left out. */
static void add_vars(mx_container_spec *s, const json_t *vars)
{
    size_t i;
    json_t *v;
    json_array_foreach(vars, i, v)
    {
        if (json_is_true(json_object_get(v, "file"))) continue;
        if (str(v, "key") && str(v, "value")) env_add(s, str(v, "key"), str(v, "value"));
    }
    const char *k;
    if (json_is_object(vars))
        json_object_foreach((json_t *)vars, k, v) if (json_is_string(v))
            env_add(s, k, json_string_value(v));
}

static void fill_service(mx_container_spec *s, size_t i, const json_t *svc, const json_t *jobvars)
{
    s->name = mx_xasprintf(MX_CTR_SERVICE_PREFIX "%zu", i);
    s->image = mx_xstrdup(str(svc, "name"));
    s->naliases = mx_gitlab_service_aliases(s->image, str(svc, "alias"), &s->aliases);
    s->entrypoint =
        json_strv(json_object_get(svc, "entrypoint"), &s->nentrypoint, &s->has_entrypoint);
    s->command = json_strv(json_object_get(svc, "command"), &s->ncommand, &s->has_command);
    add_vars(s, jobvars);
    add_vars(s, json_object_get(svc, "variables"));
}

static void add_image(mx_docker_args *d, const char *image)
{
    for (size_t i = 0; i < d->nimages; i++)
        if (strcmp(d->images[i], image) == 0) return;
    d->images = mx_xrealloc(d->images, (d->nimages + 2) * sizeof *d->images);
    d->images[d->nimages++] = mx_xstrdup(image);
    d->images[d->nimages] = NULL;
}

/* An ECR image with no stored credentials: a token for the job's AWS_* identity. */
static int ecr_auth(const char *image, const char *host, mx_gitlab_getenv_fn env,
                    const mx_job_docker_opts *opts, mx_secrets *s, mx_docker_auth *a, mx_buf *log,
                    mx_err *err)
{
    static const char *const names[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                        "AWS_SESSION_TOKEN", "AWS_REGION",
                                        "AWS_ROLE_ARN",      "AWS_WEB_IDENTITY_TOKEN"};
    mx_envlist id = {0};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        mx_autofree char *k = mx_xasprintf("CUSTOM_ENV_%s", names[i]);
        const char *v = env(k);
        if (v && *v) mx_envlist_set(&id, names[i], v);
    }
    mx_ecr_token tok;
    memset(&tok, 0, sizeof tok);
    int rc = mx_job_ecr_login(host, &id, opts, &tok, err);
    mx_envlist_free(&id);
    if (rc < 0) return mx_wrap(err, "image %s", image);
    mx_secrets_add(s, tok.password);
    mx_autofree char *pair = mx_xasprintf("%s:%s", tok.username, tok.password);
    mx_autofree char *b64 = mx_b64_encode(pair, strlen(pair));
    mx_secrets_add(s, b64);
    a->username = mx_xstrdup(tok.username);
    a->password = mx_xstrdup(tok.password);
    mx_buf_printf(log, "Authenticating with an ECR token for %s\n", host);
    mx_ecr_token_free(&tok);
    return 0;
}

static int resolve_auths(mx_cred_resolver *r, mx_gitlab_getenv_fn env,
                         const mx_job_docker_opts *opts, mx_secrets *s, mx_docker_args *d,
                         mx_buf *log, mx_err *err)
{
    d->auths = mx_xcalloc(d->nimages + 1, sizeof *d->auths);
    for (size_t i = 0; i < d->nimages; i++) {
        const char *image = d->images[i];
        mx_autofree char *path = mx_cred_image_path(image, err);
        if (!path) return -1;
        mx_autofree char *host = mx_cred_path_host(path);
        mx_cred c;
        memset(&c, 0, sizeof c);
        int found = mx_cred_resolve(r, image, &c, err);
        if (found < 0) return mx_wrap(err, "credentials for %s", image);
        mx_docker_auth a = {0};
        char *account = NULL, *region = NULL;
        int ecr = mx_aws_ecr_host(host, &account, &region) == 1;
        free(account);
        free(region);
        if (found == 1) {
            a.username = c.username ? mx_xstrdup(c.username) : NULL;
            a.password = c.password ? mx_xstrdup(c.password) : NULL;
            a.identitytoken = c.identity_token ? mx_xstrdup(c.identity_token) : NULL;
            mx_buf_printf(log, "Authenticating with credentials from %s\n", c.source);
        } else if (ecr && ecr_auth(image, host, env, opts, s, &a, log, err) < 0) {
            mx_cred_clear(&c);
            return -1;
        }
        mx_cred_clear(&c);
        if (!a.username && !a.password && !a.identitytoken) continue;
        a.registry = mx_steal(&path); /* for this image exactly */
        d->auths[d->nauths++] = a;
    }
    return 0;
}

/* The payload's services, else CI_JOB_SERVICES (the same JSON). */
static json_t *services_of(const json_t *payload, mx_gitlab_getenv_fn env)
{
    json_t *svcs = json_object_get(payload, "services");
    if (json_is_array(svcs)) return json_incref(svcs);
    const char *text = env("CUSTOM_ENV_CI_JOB_SERVICES");
    json_t *j = text && *text ? json_loads(text, 0, NULL) : NULL;
    if (json_is_array(j)) return j;
    json_decref(j);
    return json_array();
}

int mx_gitlab_containers_msg(const char *image, const char *payload_file,
                             const mx_gitlab_ctr_opts *o, mx_secrets *s, mx_msg *m, char **log,
                             mx_err *err)
{
    memset(m, 0, sizeof *m);
    *log = NULL;
    mx_autojson json_t *payload = NULL;
    if (payload_file && *payload_file) {
        json_error_t je;
        payload = json_load_file(payload_file, 0, &je);
        if (!payload)
            return mx_fail(err, MX_INFRA, "JOB_RESPONSE_FILE %s: %s", payload_file, je.text);
    }
    mx_autojson json_t *svcs = services_of(payload, o->env);
    m->type = MX_MSG_STEP;
    m->id = 1;
    m->kind = MX_STEP_CONTAINERS;
    m->name = mx_xstrdup("containers");
    m->network = mx_xstrdup(MX_CTR_NETWORK);
    m->docker.retries = 2;
    m->docker.retry_delay_s = 3;
    m->containers = mx_xcalloc(json_array_size(svcs) + 1, sizeof *m->containers);
    mx_container_spec *job = &m->containers[m->ncontainers++];
    job->name = mx_xstrdup(MX_CTR_PRIMARY);
    job->image = mx_xstrdup(image);
    job->steps = 1;
    job->binds = mx_xcalloc(3, sizeof *job->binds);
    job->binds[job->nbinds++] = mx_xstrdup("~/builds:" MX_GITLAB_BUILDS_DIR);
    job->binds[job->nbinds++] = mx_xstrdup("~/cache:" MX_GITLAB_CACHE_DIR);
    add_image(&m->docker, image);
    size_t i;
    json_t *svc;
    json_array_foreach(svcs, i, svc)
    {
        if (!str(svc, "name") || !*str(svc, "name")) continue;
        fill_service(&m->containers[m->ncontainers], m->ncontainers, svc,
                     json_object_get(payload, "variables"));
        add_image(&m->docker, m->containers[m->ncontainers].image);
        m->ncontainers++;
    }
    mx_cred_opts copts = {.allowed_helpers = o->docker.allowed_helpers};
    mx_cred_resolver *r = mx_cred_resolver_new(&copts);
    int rc = 0;
    /* GitLab's order: the job's DOCKER_AUTH_CONFIG, then the payload's credentials */
    if (o->docker_auth_config && *o->docker_auth_config)
        rc = mx_cred_add_config_text(r, o->docker_auth_config, "$DOCKER_AUTH_CONFIG", err);
    json_t *cred;
    json_array_foreach(json_object_get(payload, "credentials"), i, cred)
    {
        const char *type = str(cred, "type"), *url = str(cred, "url");
        if (rc < 0 || !type || strcmp(type, "registry") != 0 || !url || !*url) continue;
        rc = mx_cred_add_static(r, url, str(cred, "username"), str(cred, "password"),
                                "job payload (GitLab Registry)", 0, err);
    }
    mx_buf lines;
    mx_buf_init(&lines);
    if (rc == 0) rc = resolve_auths(r, o->env, &o->docker, s, &m->docker, &lines, err);
    mx_cred_resolver_free(r);
    if (lines.len)
        *log = mx_buf_steal(&lines);
    else
        mx_buf_free(&lines);
    if (rc < 0) {
        mx_msg_clear(m);
        free(*log);
        *log = NULL;
    }
    return rc;
}
