/* The expansion context: orbs (built in, inline, from the host's orb directory) and pipeline
 * values, and the lookup of definitions through them. */
#include "cfg_process_int.h"
#include "cfg_params.h"
#include "cfg_suggest.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mx_cfg_push(mx_cfg *c, const char *fmt, ...)
{
    size_t old = c->path.len;
    char seg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(seg, sizeof seg, fmt, ap);
    va_end(ap);
    mx_buf_adds(&c->path, seg);
    return old;
}

void mx_cfg_pop(mx_cfg *c, size_t len)
{
    if (!c->path.data) return;
    c->path.len = len;
    c->path.data[len] = '\0';
}

int mx_cfg_here(mx_cfg *c, mx_err *err)
{
    /* a runaway recursion makes a path nobody reads: keep its two ends */
    if (!c->wrapped && c->path.len > 400)
        mx_wrap(err, "%.150s ... %s", c->path.data, c->path.data + c->path.len - 150);
    else if (!c->wrapped && c->path.len)
        mx_wrap(err, "%s", c->path.data);
    c->wrapped = 1;
    return -1;
}

static int load_pipeline(mx_cfg *c, const mx_cfg_opts *o, mx_err *err)
{
    c->pipeline = mx_node_new(MX_NODE_MAP, c->root);
    /* first: a pipeline parameter's default may name them (<< pipeline.id >>) */
    mx_cfg_pipeline_values(c->pipeline, o, c->root);
    const mx_node *decls = mx_node_get(c->root, "parameters");
    for (size_t i = 0; o && o->params && i < o->params->n; i++) {
        const char *k = o->params->v[i].key;
        if (mx_node_get(decls, k)) continue;
        mx_buf m;
        mx_buf_init(&m);
        mx_buf_printf(&m, "--param %s: the config declares no pipeline parameter \"%s\"", k, k);
        mx_cfg_suggest_keys(&m, k, decls);
        mx_fail(err, MX_USAGE, "%s", m.data);
        mx_buf_free(&m);
        return -1;
    }
    mx_node *cli = mx_node_new(MX_NODE_MAP, NULL);
    free(cli->file);
    cli->file = mx_xstrdup("--param");
    for (size_t i = 0; o && o->params && i < o->params->n; i++)
        mx_node_map_put(cli, o->params->v[i].key, mx_node_new_scalar(o->params->v[i].value, cli));
    mx_node *bound = NULL;
    int rc = mx_cfg_params_bind(decls, cli, NULL, c->root, "the pipeline", &bound, err);
    mx_node_free(cli);
    if (rc == 0) rc = mx_cfg_subst_pipeline(&bound, c->pipeline, err);
    if (rc < 0) {
        mx_node_free(bound);
        return -1;
    }
    for (size_t i = 0; i < bound->n; i++) {
        char *k = mx_xasprintf("parameters.%s", bound->keys[i]->value);
        mx_node_map_put(c->pipeline, k, bound->vals[i]);
        bound->vals[i] = NULL;
        free(k);
    }
    mx_node_free(bound);
    return 0;
}

static int check_version(const mx_node *root, int *v21, mx_err *err)
{
    const mx_node *v = mx_node_get(root, "version");
    if (!v) return mx_node_fail(err, root, "the config lacks \"version\" (2 or 2.1)");
    if (v->kind != MX_NODE_SCALAR || (strcmp(v->value, "2") != 0 && strcmp(v->value, "2.1") != 0 &&
                                      strcmp(v->value, "2.0") != 0))
        return mx_node_fail(err, v, "unsupported config version \"%s\" (2 or 2.1)",
                            v->kind == MX_NODE_SCALAR ? v->value : "?");
    *v21 = strcmp(v->value, "2.1") == 0;
    if (!*v21) {
        static const char *const only21[] = {"orbs", "commands", "executors", "parameters"};
        /* an empty one is no 2.1 feature (CircleCI runs such 2.0 configs) */
        for (size_t i = 0; i < 4; i++)
            if (mx_node_get(root, only21[i]) && !mx_node_is_null(mx_node_get(root, only21[i])))
                return mx_node_fail(err, mx_node_get(root, only21[i]), "\"%s\" needs version: 2.1",
                                    only21[i]);
    }
    return 0;
}

int mx_cfg_open(const mx_node *root, const mx_cfg_opts *o, mx_cfg **out, mx_err *err)
{
    *out = NULL;
    if (root->kind != MX_NODE_MAP) return mx_node_fail(err, root, "the config must be a map");
    mx_cfg *c = mx_xcalloc(1, sizeof *c);
    c->root = root;
    mx_buf_init(&c->path);
    if (check_version(root, &c->v21, err) < 0 || mx_cfg_load_orbs(c, o ? o->orbs : NULL, err) < 0 ||
        load_pipeline(c, o, err) < 0) {
        mx_cfg_close(c);
        return -1;
    }
    static const char *const sections[] = {"commands", "executors", "jobs"};
    for (size_t i = 0; i < 3; i++) {
        const mx_node *s = mx_node_get(root, sections[i]);
        if (s && !mx_node_is_null(s) && s->kind != MX_NODE_MAP) {
            mx_node_fail(err, s, "%s must be a map", sections[i]);
            mx_cfg_close(c);
            return -1;
        }
    }
    *out = c;
    return 0;
}

void mx_cfg_close(mx_cfg *c)
{
    if (!c) return;
    mx_cfg_orbs_free(c->orbs, c->norbs);
    mx_node_free(c->pipeline);
    mx_buf_free(&c->path);
    free(c);
}

static void list_names(mx_buf *m, const mx_node *table, const char *prefix)
{
    if (!table || table->kind != MX_NODE_MAP || table->n == 0) return;
    mx_buf_adds(m, " (defined: ");
    for (size_t i = 0; i < table->n; i++)
        mx_buf_printf(m, "%s%s%s", i ? ", " : "", prefix, table->keys[i]->value);
    mx_buf_adds(m, ")");
}

const mx_node *mx_cfg_find(mx_cfg *c, const mx_cfg_orb *scope, const char *section,
                           const char *name, const mx_cfg_orb **orb_out, int *docker,
                           const mx_node *at, mx_err *err)
{
    *docker = 0;
    *orb_out = scope;
    const char *slash = strchr(name, '/');
    const mx_node *table;
    const char *key = name;
    mx_autofree char *prefix = mx_xstrdup("");
    /* the singular for messages: "command", "job", "executor" */
    mx_autofree char *what = mx_xstrndup(section, strlen(section) - 1);
    const mx_node *found = NULL;
    /* processed output names orb jobs "orb/job" among the config's own */
    if (slash && !scope && (found = mx_node_get(mx_node_get(c->root, section), name))) return found;
    if (slash) {
        mx_autofree char *alias = mx_xstrndup(name, (size_t)(slash - name));
        /* an orb's definitions name the orbs it imports; anything else the config's */
        const mx_cfg_orb *orb = NULL;
        for (size_t i = 0; scope && i < scope->nimports && !orb; i++)
            if (strcmp(scope->imports[i].alias, alias) == 0) orb = &scope->imports[i];
        for (size_t i = 0; i < c->norbs && !orb; i++)
            if (strcmp(c->orbs[i].alias, alias) == 0) orb = &c->orbs[i];
        if (!orb) {
            MX_AUTO(mx_buf) m = {0};
            mx_buf_printf(&m, "%s \"%s\" names orb \"%s\", which is not declared under orbs:", what,
                          name, alias);
            const mx_node *orbs = mx_node_get(c->root, "orbs");
            mx_cfg_suggest_keys(&m, alias, orbs);
            mx_node_fail(err, at, "%s", m.data);
            return NULL;
        }
        *orb_out = orb;
        key = slash + 1;
        if (orb->docker && strcmp(section, "commands") == 0 && mx_cfg_docker_is_native(key)) {
            *docker = 1;
            return at; /* a marker: the caller builds the step */
        }
        table = mx_node_get(orb->def, section);
        free(prefix);
        prefix = mx_xasprintf("%s/", orb->alias);
        if (orb->docker) { /* v2's hyphenated names are v3's snake_case ones */
            mx_autofree char *v3 = mx_cfg_docker_name(key);
            found = mx_node_get(table, v3);
            if (found) return found;
        }
    } else {
        table = mx_node_get(scope ? scope->def : c->root, section);
    }
    found = mx_node_get(table, key);
    if (!found) {
        MX_AUTO(mx_buf) m = {0};
        mx_buf_printf(&m, "%s \"%s\" is not defined", what, name);
        if (*orb_out && (*orb_out)->docker)
            mx_buf_adds(&m, " in the built-in docker orb, which stands in for circleci/docker "
                            "when CircleCI's orb registry cannot be reached");
        mx_cfg_suggest_keys(&m, key, table);
        if (*orb_out && (*orb_out)->docker)
            mx_buf_adds(&m, " (commands: check, pull, build, push, "
                            "install_docker_credential_helper; executors: machine, docker; no "
                            "jobs)");
        else
            list_names(&m, table, prefix);
        mx_node_fail(err, at, "%s", m.data);
    }
    return found;
}
