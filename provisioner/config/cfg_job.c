#include "cfg_job.h"
#include "mx_num.h"
#include "cfg_job_int.h"
#include "cfg_suggest.h"
#include "mx_buf.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void mx_envlist_set(mx_envlist *e, const char *key, const char *value)
{
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->v[i].key, key) == 0) {
            free(e->v[i].value);
            e->v[i].value = mx_xstrdup(value);
            return;
        }
    }
    e->v = mx_xrealloc(e->v, (e->n + 1) * sizeof *e->v);
    e->v[e->n].key = mx_xstrdup(key);
    e->v[e->n].value = mx_xstrdup(value);
    e->n++;
}

const char *mx_envlist_get(const mx_envlist *e, const char *key)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->v[i].key, key) == 0) return e->v[i].value;
    return NULL;
}

void mx_envlist_free(mx_envlist *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].key);
        free(e->v[i].value);
    }
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

long mx_parse_duration(const char *s)
{
    if (!s || !*s) return -1;
    long total = 0;
    const char *p = s;
    int any_unit = 0;
    while (*p) {
        if (!isdigit((unsigned char)*p)) return -1;
        const char *end;
        long long v;
        if (mx_parse_int_prefix(p, 0, 10LL * 365 * 24 * 3600, &v, &end) < 0) return -1;
        p = end;
        /* a fraction ("1.25h", as CircleCI allows): up to 6 digits, in millionths */
        long frac = 0, scale = 1;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p)) return -1;
            for (; isdigit((unsigned char)*p); p++) {
                if (scale >= 1000000) return -1;
                frac = frac * 10 + (*p - '0');
                scale *= 10;
            }
        }
        long mult;
        switch (*p) {
        case 'h':
            mult = 3600;
            break;
        case 'm':
            mult = 60;
            break;
        case 's':
            mult = 1;
            break;
        case '\0':
            if (any_unit || scale > 1) return -1;
            return v; /* bare number: seconds */
        default:
            return -1;
        }
        any_unit = 1;
        total += v * mult + frac * mult / scale;
        if (total > 10L * 365 * 24 * 3600) return -1; /* also keeps it within an int */
        p++;
    }
    return total;
}

static int env_name_ok(const char *k)
{
    if (!*k || isdigit((unsigned char)*k)) return 0;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_') return 0;
    return 1;
}

static int scalar_value(const mx_node *v, const char *what, mx_err *err)
{
    if (v->kind != MX_NODE_SCALAR)
        return mx_node_fail(err, v, "%s must be a string, not %s", what, mx_node_kind_name(v));
    return 0;
}

static int env_add(mx_envlist *out, const mx_node *at, const char *k, const mx_node *v, mx_err *err)
{
    if (!env_name_ok(k))
        return mx_node_fail(err, at, "\"%s\" is not a valid environment variable name", k);
    if (scalar_value(v, "an environment value", err) < 0) return -1;
    mx_envlist_set(out, k, mx_node_is_null(v) ? "" : v->value);
    return 0;
}

int mx_cfg_env_parse(const mx_node *n, mx_envlist *out, mx_err *err)
{
    if (mx_node_is_null(n)) return 0;
    if (n->kind == MX_NODE_MAP) {
        for (size_t i = 0; i < n->n; i++)
            if (env_add(out, n->keys[i], n->keys[i]->value, n->vals[i], err) < 0) return -1;
        return 0;
    }
    if (n->kind != MX_NODE_SEQ)
        return mx_node_fail(err, n, "environment must be a map of NAME: value");
    for (size_t i = 0; i < n->n; i++) {
        const mx_node *it = n->items[i];
        if (it->kind == MX_NODE_MAP && it->n == 1) {
            if (env_add(out, it->keys[0], it->keys[0]->value, it->vals[0], err) < 0) return -1;
        } else if (it->kind == MX_NODE_SCALAR && strchr(it->value, '=')) {
            const char *eq = strchr(it->value, '=');
            char *k = mx_xstrndup(it->value, (size_t)(eq - it->value));
            int ok = env_name_ok(k);
            if (ok) mx_envlist_set(out, k, eq + 1);
            free(k);
            if (!ok) return mx_node_fail(err, it, "\"%s\" is not NAME=value", it->value);
        } else {
            return mx_node_fail(err, it, "environment entries are NAME: value or NAME=value");
        }
    }
    return 0;
}

int mx_cfg_get_string(const mx_node *map, const char *key, char **out, mx_err *err)
{
    const mx_node *v = mx_node_get(map, key);
    if (!v || mx_node_is_null(v)) return 0;
    if (v->kind != MX_NODE_SCALAR)
        return mx_node_fail(err, v, "\"%s\" must be a string, not %s", key, mx_node_kind_name(v));
    free(*out);
    *out = mx_xstrdup(v->value);
    return 0;
}

static int check_keys(const mx_node *map, const char *what, const char *const *allowed, mx_err *err)
{
    return mx_cfg_check_keys(map, what, allowed, err);
}

static const char *const skipped_steps[][2] = {
    {"setup_remote_docker", "machine jobs have a Docker engine in the VM"},
    {"install_signing_bundle", "code signing bundles come from CircleCI, absent locally"},
};

static int parse_timeout(const mx_node *v, int *out, mx_err *err)
{
    if (!v) return 0;
    if (scalar_value(v, "no_output_timeout", err) < 0) return -1;
    long s = mx_parse_duration(v->value);
    if (s <= 0)
        return mx_node_fail(
            err, v, "no_output_timeout \"%s\" is not a duration like 10m, 1h30m or 45s", v->value);
    *out = (int)s;
    return 0;
}

static int parse_when(const mx_node *v, enum mx_step_when *out, mx_err *err)
{
    if (!v) return 0;
    static const char *const names[] = {"on_success", "on_fail", "always"};
    for (int i = 0; i < 3 && v->kind == MX_NODE_SCALAR; i++)
        if (strcmp(v->value, names[i]) == 0) return *out = (enum mx_step_when)i, 0;
    mx_buf m;
    mx_buf_init(&m);
    mx_buf_printf(&m, "when must be on_success, on_fail or always, not \"%s\"",
                  v->kind == MX_NODE_SCALAR ? v->value : mx_node_kind_name(v));
    if (v->kind == MX_NODE_SCALAR) mx_cfg_suggest_add(&m, v->value, names, 3);
    mx_node_fail(err, v, "%s", m.data);
    mx_buf_free(&m);
    return -1;
}

/* docker/check and docker/pull as the expander normalized them (snake_case, all defaults). */
static int parse_docker(const char *kind, const mx_node *v, mx_step *st, mx_err *err)
{
    if (!v || v->kind != MX_NODE_MAP) return mx_node_fail(err, v, "%s takes a map", kind);
    int b = 0;
    if (strcmp(kind, "docker/check") == 0) {
        static const char *const keys[] = {"registry", "docker_username", "docker_password",
                                           "use_docker_credentials_store", NULL};
        if (check_keys(v, kind, keys, err) < 0) return -1;
        st->kind = MX_JOB_STEP_DOCKER_CHECK;
        st->registry = mx_xstrdup("docker.io");
        st->username_env = mx_xstrdup("DOCKER_LOGIN");
        st->password_env = mx_xstrdup("DOCKER_PASSWORD");
        if (mx_cfg_get_string(v, "registry", &st->registry, err) < 0 ||
            mx_cfg_get_string(v, "docker_username", &st->username_env, err) < 0 ||
            mx_cfg_get_string(v, "docker_password", &st->password_env, err) < 0)
            return -1;
        const mx_node *cs = mx_node_get(v, "use_docker_credentials_store");
        if (cs && mx_node_bool(cs, &b) < 0)
            return mx_node_fail(err, cs, "use_docker_credentials_store must be true or false");
        st->use_credentials_store = b;
        st->name = mx_xasprintf("Docker login to %s", st->registry);
        return 0;
    }
    static const char *const keys[] = {"images", "ignore_docker_pull_error", NULL};
    if (check_keys(v, kind, keys, err) < 0) return -1;
    st->kind = MX_JOB_STEP_DOCKER_PULL;
    const mx_node *ig = mx_node_get(v, "ignore_docker_pull_error");
    if (ig && mx_node_bool(ig, &b) < 0)
        return mx_node_fail(err, ig, "ignore_docker_pull_error must be true or false");
    st->ignore_pull_error = b;
    const mx_node *im = mx_node_get(v, "images");
    if (!im || im->kind != MX_NODE_SCALAR)
        return mx_node_fail(err, im ? im : v, "docker/pull needs images: a comma-separated list");
    /* comma-separated, as the orb takes them; blanks around names are not part of them */
    for (const char *p = im->value; *p;) {
        p += strspn(p, " \t\n,");
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && strchr(" \t\n", p[t - 1]))
            t--;
        if (t > 0) {
            st->images = mx_xrealloc(st->images, (st->nimages + 1) * sizeof *st->images);
            st->images[st->nimages++] = mx_xstrndup(p, t);
        }
        p += n;
    }
    if (st->nimages == 0) return mx_node_fail(err, im, "docker/pull needs at least one image");
    st->name = mx_xstrdup("Docker pull");
    return 0;
}

/* A path under a persist root: what tar would archive relative to it.  Absolute paths and ".."
 * would reach outside the root (CircleCI: "paths are relative to root"). */
static int check_ws_path(const mx_node *it, mx_err *err)
{
    if (it->kind != MX_NODE_SCALAR || mx_node_is_null(it) || !*it->value)
        return mx_node_fail(err, it, "persist_to_workspace paths are non-empty strings, not %s",
                            mx_node_is_null(it) ? "null" : mx_node_kind_name(it));
    const char *p = it->value;
    if (*p == '/')
        return mx_node_fail(err, it, "persist_to_workspace path \"%s\" must be relative to root",
                            p);
    for (const char *c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return mx_node_fail(err, it,
                                "persist_to_workspace path \"%s\" leaves root (\"..\" is not "
                                "allowed)",
                                p);
        c += n;
        c += strspn(c, "/");
    }
    return 0;
}

/* A string the step cannot do without. */
static int required_string(const mx_node *map, const char *key, const char *what, char **out,
                           mx_err *err)
{
    if (mx_cfg_get_string(map, key, out, err) < 0) return -1;
    if (!*out || !**out) return mx_node_fail(err, map, "%s needs \"%s\"", what, key);
    return 0;
}

/* persist_to_workspace: {root, paths, name}; attach_workspace: {at, name}. */
static int parse_workspace(const char *kind, const mx_node *item, const mx_node *v, mx_step *st,
                           mx_err *err)
{
    int persist = strcmp(kind, "persist_to_workspace") == 0;
    if (!v || v->kind != MX_NODE_MAP)
        return mx_node_fail(err, v ? v : item, "%s takes a map (%s)", kind,
                            persist ? "root: DIR, paths: [PATH, ...]" : "at: DIR");
    static const char *const persist_keys[] = {"root", "paths", "name", NULL};
    static const char *const attach_keys[] = {"at", "name", NULL};
    if (check_keys(v, kind, persist ? persist_keys : attach_keys, err) < 0) return -1;
    if (mx_cfg_get_string(v, "name", &st->name, err) < 0) return -1;
    if (!persist) {
        st->kind = MX_JOB_STEP_ATTACH;
        if (!st->name) st->name = mx_xstrdup("Attaching Workspace");
        return required_string(v, "at", kind, &st->at, err);
    }
    st->kind = MX_JOB_STEP_PERSIST;
    if (!st->name) st->name = mx_xstrdup("Persisting to Workspace");
    if (required_string(v, "root", kind, &st->root, err) < 0) return -1;
    const mx_node *paths = mx_node_get(v, "paths");
    if (!paths || mx_node_is_null(paths)) return mx_node_fail(err, v, "%s needs \"paths\"", kind);
    /* one path may be written as a string, as CircleCI accepts */
    const mx_node *const *items = paths->kind == MX_NODE_SCALAR ? &paths : NULL;
    size_t n = paths->kind == MX_NODE_SCALAR ? 1 : 0;
    if (paths->kind == MX_NODE_SEQ) items = (const mx_node *const *)paths->items, n = paths->n;
    if (n == 0)
        return mx_node_fail(err, paths,
                            "persist_to_workspace paths must be a path or a list of paths "
                            "relative to root");
    st->paths = mx_xcalloc(n, sizeof *st->paths);
    for (size_t i = 0; i < n; i++) {
        if (check_ws_path(items[i], err) < 0) return -1;
        st->paths[st->npaths++] = mx_xstrdup(items[i]->value);
    }
    return 0;
}

static char *first_line(const char *s)
{
    const char *nl = strchr(s, '\n');
    return nl ? mx_xstrndup(s, (size_t)(nl - s)) : mx_xstrdup(s);
}

static int parse_run(const mx_node *item, const mx_node *v, mx_step *st, mx_err *err)
{
    st->kind = MX_JOB_STEP_RUN;
    if (v->kind == MX_NODE_SCALAR) {
        st->command = mx_xstrdup(v->value);
    } else if (v->kind == MX_NODE_MAP) {
        static const char *const keys[] = {"name",
                                           "command",
                                           "shell",
                                           "environment",
                                           "working_directory",
                                           "no_output_timeout",
                                           "background",
                                           "when",
                                           NULL};
        if (check_keys(v, "a run step", keys, err) < 0) return -1;
        if (mx_cfg_get_string(v, "command", &st->command, err) < 0 ||
            mx_cfg_get_string(v, "name", &st->name, err) < 0 ||
            mx_cfg_get_string(v, "shell", &st->shell, err) < 0 ||
            mx_cfg_get_string(v, "working_directory", &st->workdir, err) < 0)
            return -1;
        if (!st->command) return mx_node_fail(err, v, "a run step needs \"command\"");
        const mx_node *env = mx_node_get(v, "environment");
        if (env && mx_cfg_env_parse(env, &st->env, err) < 0) return -1;
        if (parse_timeout(mx_node_get(v, "no_output_timeout"), &st->no_output_timeout_s, err) < 0)
            return -1;
        const mx_node *bg = mx_node_get(v, "background");
        if (bg && mx_node_bool(bg, &st->background) < 0)
            return mx_node_fail(err, bg, "background must be true or false");
        if (parse_when(mx_node_get(v, "when"), &st->when, err) < 0) return -1;
    } else {
        return mx_node_fail(err, item, "run takes a command string or a map");
    }
    if (!st->name) st->name = first_line(st->command);
    return 0;
}

static int parse_step(const mx_node *item, mx_step *st, mx_err *err)
{
    st->file = mx_xstrdup(item->file);
    st->line = item->line;
    st->col = item->col;
    st->no_output_timeout_s = MX_DEFAULT_NO_OUTPUT_TIMEOUT_S;
    const char *kind;
    const mx_node *v = NULL;
    if (item->kind == MX_NODE_SCALAR) {
        kind = item->value;
    } else if (item->kind == MX_NODE_MAP && item->n == 1) {
        kind = item->keys[0]->value;
        v = item->vals[0];
    } else {
        return mx_node_fail(err, item,
                            "a step is a name (checkout) or a map with one key (run: ...)");
    }
    /* deploy: CircleCI 2.0's deprecated twin of run */
    if (strcmp(kind, "run") == 0 || strcmp(kind, "deploy") == 0) {
        if (!v) return mx_node_fail(err, item, "%s needs a command", kind);
        return parse_run(item, v, st, err);
    }
    if (strcmp(kind, "checkout") == 0) {
        st->kind = MX_JOB_STEP_CHECKOUT;
        st->name = mx_xstrdup("Checkout code");
        if (v && !mx_node_is_null(v)) {
            if (v->kind != MX_NODE_MAP)
                return mx_node_fail(err, v, "checkout takes a map (path: ...)");
            /* method (blobless/full) and depth shape CircleCI's clone; the local checkout is
             * a copy of the work tree, which has every object whatever they say */
            static const char *const keys[] = {"path", "name", "method", "depth", NULL};
            if (check_keys(v, "checkout", keys, err) < 0) return -1;
            const mx_node *method = mx_node_get(v, "method");
            if (method &&
                !(method->kind == MX_NODE_SCALAR &&
                  (strcmp(method->value, "blobless") == 0 || strcmp(method->value, "full") == 0)))
                return mx_node_fail(err, method, "checkout method must be blobless or full");
            const mx_node *depth = mx_node_get(v, "depth");
            long long d;
            if (depth &&
                (depth->kind != MX_NODE_SCALAR || mx_parse_int(depth->value, 0, INT_MAX, &d) < 0))
                return mx_node_fail(err, depth, "checkout depth must be a whole number");
            if (mx_cfg_get_string(v, "path", &st->path, err) < 0 ||
                mx_cfg_get_string(v, "name", &st->name, err) < 0)
                return -1;
        }
        return 0;
    }
    if (strcmp(kind, "docker/check") == 0 || strcmp(kind, "docker/pull") == 0)
        return parse_docker(kind, v, st, err);
    if (strcmp(kind, "persist_to_workspace") == 0 || strcmp(kind, "attach_workspace") == 0)
        return parse_workspace(kind, item, v, st, err);
    int mine = mx_cfg_parse_job_step(kind, item, v, st, err); /* cfg_job_steps.c */
    if (mine != 0) return mine < 0 ? -1 : 0;
    for (size_t i = 0; i < sizeof skipped_steps / sizeof *skipped_steps; i++) {
        if (strcmp(kind, skipped_steps[i][0]) == 0) {
            st->kind = MX_JOB_STEP_SKIP;
            st->name = mx_xstrdup(kind);
            st->skip_reason = mx_xstrdup(skipped_steps[i][1]);
            return 0;
        }
    }
    return mx_node_fail(err, item->kind == MX_NODE_MAP ? item->keys[0] : item,
                        "unknown step \"%s\" (steps: run, checkout; orb commands such as "
                        "docker/check need `orbs:`)",
                        kind);
}

int mx_cfg_job_parse(const mx_node *j, const char *name, mx_job *job, mx_err *err)
{
    if (j->kind != MX_NODE_MAP) return mx_node_fail(err, j, "job \"%s\" must be a map", name);
    job->file = mx_xstrdup(j->file);
    job->line = j->line;
    job->col = j->col;
    if (mx_cfg_job_type(j, job, err) < 0) return -1;
    /* markers in a workflow: CircleCI ignores whatever else they say */
    if (job->type != MX_JOB_BUILD) return 0;
    static const char *const keys[] = {"machine",
                                       "docker",
                                       "macos",
                                       "windows",
                                       "resource_class",
                                       "environment",
                                       "working_directory",
                                       "shell",
                                       "steps",
                                       "parallelism",
                                       "circleci_ip_ranges",
                                       "type",
                                       "retention",
                                       "branches",
                                       NULL};
    if (check_keys(j, "a job", keys, err) < 0) return -1;
    if (mx_cfg_job_executor(j, job, err) < 0 || mx_cfg_job_parallelism(j, job, err) < 0) return -1;
    /* the job's own keys win over what its executor said */
    if (mx_cfg_get_string(j, "resource_class", &job->resource_class, err) < 0 ||
        mx_cfg_get_string(j, "working_directory", &job->workdir, err) < 0 ||
        mx_cfg_get_string(j, "shell", &job->shell, err) < 0)
        return -1;
    if (!job->resource_class) job->resource_class = mx_xstrdup(MX_DEFAULT_RESOURCE_CLASS);
    if (!job->workdir) job->workdir = mx_xstrdup(MX_DEFAULT_WORKDIR);
    const mx_node *env = mx_node_get(j, "environment");
    if (env && mx_cfg_env_parse(env, &job->env, err) < 0) return -1;
    const mx_node *steps = mx_node_get(j, "steps");
    if (!steps || steps->kind != MX_NODE_SEQ || steps->n == 0)
        return mx_node_fail(err, steps ? steps : j, "job \"%s\" needs a list of steps", name);
    job->steps = mx_xcalloc(steps->n, sizeof *job->steps);
    for (size_t i = 0; i < steps->n; i++) {
        job->nsteps++;
        if (parse_step(steps->items[i], &job->steps[i], err) < 0)
            return mx_wrap(err, "jobs.%s.steps[%zu]", name, i);
        /* a docker job gets the Docker engine it asks for; a machine job has the VM's */
        mx_step *st = &job->steps[i];
        if (job->executor == MX_EXEC_DOCKER && st->kind == MX_JOB_STEP_SKIP &&
            strcmp(st->name, "setup_remote_docker") == 0) {
            st->kind = MX_JOB_STEP_REMOTE_DOCKER;
            free(st->skip_reason);
            st->skip_reason = NULL;
            free(st->name);
            st->name = mx_xstrdup("Setup a remote Docker engine");
        }
    }
    return 0;
}

void mx_job_free(mx_job *job)
{
    for (size_t i = 0; i < job->nsteps; i++) {
        mx_step *s = &job->steps[i];
        free(s->name);
        free(s->command);
        free(s->shell);
        free(s->workdir);
        free(s->path);
        free(s->skip_reason);
        free(s->registry);
        free(s->username_env);
        free(s->password_env);
        for (size_t k = 0; k < s->nimages; k++)
            free(s->images[k]);
        free(s->images);
        for (size_t k = 0; k < s->npaths; k++)
            free(s->paths[k]);
        free(s->paths);
        free(s->root);
        free(s->at);
        free(s->key);
        for (size_t k = 0; k < s->nkeys; k++)
            free(s->keys[k]);
        free(s->keys);
        free(s->destination);
        free(s->file);
        mx_envlist_free(&s->env);
    }
    free(job->steps);
    for (size_t i = 0; i < job->ncontainers; i++)
        mx_container_free(&job->containers[i]);
    free(job->containers);
    free(job->name);
    free(job->image);
    free(job->resource_class);
    free(job->workdir);
    free(job->shell);
    free(job->file);
    mx_envlist_free(&job->env);
    memset(job, 0, sizeof *job);
}
