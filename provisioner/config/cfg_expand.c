/* Expansion of one job: parameters bound and substituted, the executor merged in, commands
 * and when/unless steps replaced by the steps they stand for, pre- and post-steps added. */
#include "cfg_cond.h"
#include "cfg_process_int.h"
#include "cfg_params.h"
#include "cfg_suggest.h"

#include <stdlib.h>
#include <string.h>

/* Steps the job model knows; everything else is a command. */
static const char *const builtin_steps[] = {"run",
                                            "checkout",
                                            "save_cache",
                                            "restore_cache",
                                            "store_artifacts",
                                            "store_test_results",
                                            "persist_to_workspace",
                                            "attach_workspace",
                                            "add_ssh_keys",
                                            "setup_remote_docker",
                                            "install_signing_bundle",
                                            "deploy",
                                            "when",
                                            "unless",
                                            NULL};

static int is_builtin_step(const char *k)
{
    for (const char *const *b = builtin_steps; *b; b++)
        if (strcmp(*b, k) == 0) return 1;
    return 0;
}

static int expand_steps(mx_cfg *c, const mx_cfg_orb *scope, const mx_node *steps, mx_node *out,
                        mx_err *err);
static int resolve_executor_params(mx_cfg *c, const mx_node *decls, const mx_node *args,
                                   const mx_cfg_orb *caller, const mx_cfg_orb *defscope,
                                   mx_node *bound, mx_err *err);

static int too_many_steps(const mx_node *at, mx_err *err)
{
    return mx_node_fail(err, at, "the job has more than %d steps once its commands are expanded",
                        MX_CFG_MAX_STEPS);
}

/* A built-in step, as written, onto the job's steps. */
static int add_step(mx_cfg *c, const mx_node *item, mx_node *out, mx_err *err)
{
    if (out->n >= MX_CFG_MAX_STEPS) return too_many_steps(item, err);
    if (mx_cfg_charge_tree(&c->budget, item, item, err) < 0) return -1;
    mx_node_seq_add(out, mx_node_copy(item));
    return 0;
}

static int invoke_command(mx_cfg *c, const mx_cfg_orb *scope, const char *name, const mx_node *args,
                          const mx_node *at, mx_node *out, mx_err *err)
{
    const mx_cfg_orb *dscope;
    int docker;
    const mx_node *def = mx_cfg_find(c, scope, "commands", name, &dscope, &docker, at, err);
    if (!def) {
        if (strchr(name, '/')) return -1;
        /* a bare unknown name: most likely a misspelt built-in step */
        mx_buf m;
        mx_buf_init(&m);
        mx_buf_printf(&m, "unknown step \"%s\"", name);
        const char *s = mx_cfg_suggest(name, builtin_steps, 12);
        if (s) mx_buf_printf(&m, "; did you mean \"%s\"?", s);
        mx_buf_adds(&m, " (steps: run, checkout, when, unless, steps, the cache/workspace/"
                        "artifact steps and commands:)");
        mx_node_fail(err, at, "%s", m.data);
        mx_buf_free(&m);
        return -1;
    }
    if (docker) return mx_cfg_docker_step(c, strchr(name, '/') + 1, args, at, out, err);
    if (c->depth >= MX_CFG_MAX_NESTING)
        return mx_node_fail(err, at,
                            "commands nest deeper than %d levels (does \"%s\" invoke "
                            "itself?)",
                            MX_CFG_MAX_NESTING, name);
    if (def->kind != MX_NODE_MAP)
        return mx_node_fail(err, def, "command \"%s\" must be a map", name);
    if (mx_cfg_charge(&c->budget, MX_CFG_INVOCATION_COST, 0, at, err) < 0) return -1;
    static const char *const keys[] = {"description", "parameters", "steps", NULL};
    if (mx_cfg_check_keys(def, "a command", keys, err) < 0) return -1;
    const mx_node *steps = mx_node_get(def, "steps");
    if (!steps) return mx_node_fail(err, def, "command \"%s\" needs steps:", name);
    char *what = mx_xasprintf("command \"%s\"", name);
    const mx_node *decls = mx_node_get(def, "parameters");
    mx_node *bound = NULL, *body = NULL, *respelled = NULL;
    int rc = 0;
    if (dscope && dscope->docker && args && args->kind == MX_NODE_MAP)
        rc = mx_cfg_docker_args(args, decls, &respelled, err);
    if (rc == 0)
        rc = mx_cfg_params_bind(decls, respelled ? respelled : args, NULL, at, what, &bound, err);
    if (rc == 0) rc = mx_cfg_subst_pipeline(&bound, c->pipeline, err);
    if (rc == 0) rc = resolve_executor_params(c, decls, args, scope, dscope, bound, err);
    if (rc == 0) rc = mx_cfg_charge_tree(&c->budget, bound, at, err);
    if (rc == 0) {
        mx_cfg_scope s = {
            .params = bound, .owner = what, .pipeline = c->pipeline, .budget = &c->budget};
        rc = mx_cfg_subst(steps, &s, &body, err);
    }
    if (rc == 0) {
        size_t mark = mx_cfg_push(c, " > commands.%s.steps", name);
        c->depth++;
        rc = expand_steps(c, dscope, body, out, err);
        c->depth--;
        mx_cfg_pop(c, mark);
    }
    mx_node_free(body);
    mx_node_free(bound);
    mx_node_free(respelled);
    free(what);
    return rc;
}

static int expand_when(mx_cfg *c, const mx_cfg_orb *scope, const char *kind, const mx_node *v,
                       mx_node *out, mx_err *err)
{
    if (v->kind != MX_NODE_MAP)
        return mx_node_fail(err, v, "%s takes a map with condition: and steps:", kind);
    static const char *const keys[] = {"condition", "steps", NULL};
    if (mx_cfg_check_keys(v, kind, keys, err) < 0) return -1;
    const mx_node *cond = mx_node_get(v, "condition"), *steps = mx_node_get(v, "steps");
    if (!cond) return mx_node_fail(err, v, "%s needs condition:", kind);
    if (!steps) return mx_node_fail(err, v, "%s needs steps:", kind);
    int r = 0;
    if (mx_cfg_cond_eval(cond, &r, err) < 0) return -1;
    if (strcmp(kind, "unless") == 0) r = !r;
    return r ? expand_steps(c, scope, steps, out, err) : 0;
}

/* CircleCI 2.0's first step syntax, which it still runs: `- type: shell` with the step's keys
 * beside it ({type: shell, command: ..., pwd: DIR}).  Returns the step in today's form, or NULL
 * (with err) if the type is unknown. */
static mx_node *legacy_step(const mx_node *item, mx_err *err)
{
    static const char *const map[][2] = {
        {"shell", "run"},
        {"run", "run"},
        {"deploy", "run"},
        {"checkout", "checkout"},
        {"add-ssh-keys", "add_ssh_keys"},
        {"artifacts-store", "store_artifacts"},
        {"cache-save", "save_cache"},
        {"cache-restore", "restore_cache"},
        {"test-results-store", "store_test_results"},
    };
    const mx_node *type = mx_node_get(item, "type");
    const char *kind = NULL;
    for (size_t i = 0; i < sizeof map / sizeof *map && type->kind == MX_NODE_SCALAR; i++)
        if (strcmp(type->value, map[i][0]) == 0) kind = map[i][1];
    if (!kind) {
        mx_node_fail(err, type,
                     "unknown step type \"%s\" (the 2.0 step types: shell, checkout, "
                     "add-ssh-keys, artifacts-store, cache-save, cache-restore, "
                     "test-results-store, deploy)",
                     type->kind == MX_NODE_SCALAR ? type->value : "?");
        return NULL;
    }
    mx_node *body = mx_node_new(MX_NODE_MAP, item);
    for (size_t i = 0; i < item->n; i++) {
        const char *k = item->keys[i]->value;
        if (strcmp(k, "type") == 0) continue;
        /* shell steps named their directory pwd */
        mx_node *key = strcmp(kind, "run") == 0 && strcmp(k, "pwd") == 0
                           ? mx_node_new_scalar("working_directory", item->keys[i])
                           : mx_node_copy(item->keys[i]);
        mx_node_map_add(body, key, mx_node_copy(item->vals[i]));
    }
    if (body->n == 0) { /* - type: checkout -> - checkout */
        mx_node_free(body);
        return mx_node_new_scalar(kind, item);
    }
    mx_node *step = mx_node_new(MX_NODE_MAP, item);
    mx_node_map_add(step, mx_node_new_scalar(kind, type), body);
    return step;
}

static int expand_step(mx_cfg *c, const mx_cfg_orb *scope, const mx_node *item, mx_node *out,
                       mx_err *err)
{
    if (item->kind == MX_NODE_SEQ) return expand_steps(c, scope, item, out, err);
    if (item->kind == MX_NODE_MAP && item->n > 0 && mx_node_get(item, "type")) {
        mx_node *step = legacy_step(item, err);
        if (!step) return -1;
        int rc = expand_step(c, scope, step, out, err);
        mx_node_free(step);
        return rc;
    }
    if (item->kind == MX_NODE_SCALAR) {
        if (is_builtin_step(item->value) && strcmp(item->value, "run") != 0 &&
            strcmp(item->value, "when") != 0 && strcmp(item->value, "unless") != 0)
            return add_step(c, item, out, err);
        return invoke_command(c, scope, item->value, NULL, item, out, err);
    }
    if (item->n != 1)
        return mx_node_fail(err, item,
                            "a step is a name (checkout) or a map with one key (run: ...)");
    const char *k = item->keys[0]->value;
    const mx_node *v = item->vals[0];
    size_t mark = mx_cfg_push(c, ".%s", k);
    int rc;
    if (strcmp(k, "when") == 0 || strcmp(k, "unless") == 0)
        rc = expand_when(c, scope, k, v, out, err);
    else if (strcmp(k, "steps") == 0) /* - steps: << parameters.more >> (a steps parameter) */
        rc = v->kind == MX_NODE_SEQ || mx_node_is_null(v)
                 ? expand_steps(c, scope, v, out, err)
                 : mx_node_fail(err, v, "steps: as a step takes a list of steps, not %s",
                                mx_node_kind_name(v));
    else if (is_builtin_step(k) || (!c->v21 && mx_cfg_docker_is_step(k)))
        rc = add_step(c, item, out, err);
    else
        rc = invoke_command(c, scope, k, v, item->keys[0], out, err);
    if (rc < 0) mx_cfg_here(c, err);
    mx_cfg_pop(c, mark);
    return rc;
}

static int expand_steps(mx_cfg *c, const mx_cfg_orb *scope, const mx_node *steps, mx_node *out,
                        mx_err *err)
{
    if (mx_node_is_null(steps)) return 0;
    if (steps->kind != MX_NODE_SEQ) return mx_node_fail(err, steps, "steps must be a list");
    for (size_t i = 0; i < steps->n; i++) {
        size_t mark = mx_cfg_push(c, "[%zu]", i);
        int rc = expand_step(c, scope, steps->items[i], out, err);
        if (rc == 0 && out->n > MX_CFG_MAX_STEPS) rc = too_many_steps(steps->items[i], err);
        if (rc < 0) mx_cfg_here(c, err);
        mx_cfg_pop(c, mark);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Keys of a job that an executor provides. */
static const char *const executor_keys[] = {"machine",
                                            "docker",
                                            "macos",
                                            "windows",
                                            "resource_class",
                                            "environment",
                                            "working_directory",
                                            "shell",
                                            "parameters",
                                            "description",
                                            NULL};

/* Is e an executor already resolved to its definition (an executor-typed parameter's value)? */
static int is_resolved_executor(const mx_node *e)
{
    if (e->kind != MX_NODE_MAP || mx_node_get(e, "name")) return 0;
    static const char *const kinds[] = {"machine", "docker", "macos", "windows"};
    for (size_t i = 0; i < 4; i++)
        if (mx_node_get(e, kinds[i])) return 1;
    return 0;
}

/* The definition an executor reference (NAME, or {name: NAME, ARG: ...}, written where `scope`
 * is) stands for, its parameters bound and substituted, without its declarations. */
static int executor_body(mx_cfg *c, const mx_cfg_orb *scope, const mx_node *e, mx_node **out,
                         mx_err *err)
{
    *out = NULL;
    if (is_resolved_executor(e)) {
        *out = mx_node_copy(e);
        return 0;
    }
    const mx_node *name = e, *args = NULL;
    if (e->kind == MX_NODE_MAP) {
        name = mx_node_get(e, "name");
        args = e;
        if (!name) return mx_node_fail(err, e, "executor: needs name:");
    }
    if (name->kind != MX_NODE_SCALAR || mx_node_is_null(name))
        return mx_node_fail(err, name, "executor must be a name or a map with name:");
    const mx_cfg_orb *dscope;
    int docker;
    const mx_node *def =
        mx_cfg_find(c, scope, "executors", name->value, &dscope, &docker, name, err);
    if (!def) return -1;
    if (def->kind != MX_NODE_MAP)
        return mx_node_fail(err, def, "executor \"%s\" must be a map", name->value);
    if (mx_cfg_check_keys(def, "an executor", executor_keys, err) < 0) return -1;
    static const char *const reserved[] = {"name", NULL};
    const mx_node *decls = mx_node_get(def, "parameters");
    char *what = mx_xasprintf("executor \"%s\"", name->value);
    mx_node *bound = NULL, *body = NULL, *respelled = NULL;
    int rc = 0;
    if (dscope && dscope->docker && args) rc = mx_cfg_docker_args(args, decls, &respelled, err);
    if (rc == 0)
        rc = mx_cfg_params_bind(decls, respelled ? respelled : args, reserved, name, what, &bound,
                                err);
    if (rc == 0) rc = mx_cfg_subst_pipeline(&bound, c->pipeline, err);
    if (rc == 0) rc = mx_cfg_charge_tree(&c->budget, bound, name, err);
    if (rc == 0) {
        mx_cfg_scope s = {
            .params = bound, .owner = what, .pipeline = c->pipeline, .budget = &c->budget};
        rc = mx_cfg_subst(def, &s, &body, err);
    }
    if (rc == 0) mx_node_map_del(body, "parameters");
    mx_node_free(respelled);
    mx_node_free(bound);
    free(what);
    if (rc < 0) {
        mx_node_free(body);
        return -1;
    }
    *out = body;
    return 0;
}

/* Executor-typed parameters are bound to the executor they name, resolved: CircleCI compares
 * them with executors' definitions (equal: [*executor-anchor, << parameters.platform >>]) and
 * passes them on to commands that way.  A value given in args names an executor where the
 * caller is; a default, where the definition is. */
static int resolve_executor_params(mx_cfg *c, const mx_node *decls, const mx_node *args,
                                   const mx_cfg_orb *caller, const mx_cfg_orb *defscope,
                                   mx_node *bound, mx_err *err)
{
    for (size_t i = 0; decls && decls->kind == MX_NODE_MAP && i < decls->n; i++) {
        const mx_node *t = mx_node_get(decls->vals[i], "type");
        if (!t || t->kind != MX_NODE_SCALAR || strcmp(t->value, "executor") != 0) continue;
        const char *pn = decls->keys[i]->value;
        for (size_t j = 0; j < bound->n; j++) {
            if (strcmp(bound->keys[j]->value, pn) != 0) continue;
            const mx_cfg_orb *sc = args && mx_node_get(args, pn) ? caller : defscope;
            mx_node *body = NULL;
            if (executor_body(c, sc, bound->vals[j], &body, err) < 0) return -1;
            mx_node_free(bound->vals[j]);
            bound->vals[j] = body;
        }
    }
    return 0;
}

/* Merges the executor named by the job's `executor:` into the job (the job's keys win; the
 * environments are merged). */
static int apply_executor(mx_cfg *c, const mx_cfg_orb *scope, mx_node *job, mx_err *err)
{
    mx_node *body = NULL;
    if (executor_body(c, scope, mx_node_get(job, "executor"), &body, err) < 0) return -1;
    if (!body) return 0; /* an empty executor: nothing to merge */
    for (size_t i = 0; i < body->n; i++) {
        const char *k = body->keys[i]->value;
        if (strcmp(k, "description") == 0) continue;
        mx_node *mine = mx_node_get(job, k);
        if (strcmp(k, "environment") == 0 && mine && mine->kind == MX_NODE_MAP &&
            body->vals[i]->kind == MX_NODE_MAP) {
            /* the executor's variables come first; the job's override them */
            mx_node *env = mx_node_copy(body->vals[i]);
            for (size_t j = 0; j < mine->n; j++) {
                mx_node_map_del(env, mine->keys[j]->value);
                mx_node_map_add(env, mx_node_copy(mine->keys[j]), mx_node_copy(mine->vals[j]));
            }
            mx_node_map_del(job, "environment");
            mx_node_map_put(job, "environment", env);
        } else if (!mine) {
            /* an executor with machine: replaces any other executor kind the job lacks */
            mx_node_map_add(job, mx_node_copy(body->keys[i]), mx_node_copy(body->vals[i]));
        }
    }
    mx_node_free(body);
    mx_node_map_del(job, "executor");
    return 0;
}

static const char *const inv_reserved[] = {"requires",     "context",   "filters",    "name",
                                           "matrix",       "pre-steps", "post-steps", "type",
                                           "serial-group", NULL};

static int add_extra_steps(mx_cfg *c, const mx_node *inv, const char *key, mx_node *out,
                           mx_err *err)
{
    const mx_node *s = mx_node_get(inv, key);
    if (!s) return 0;
    size_t mark = mx_cfg_push(c, " > %s", key);
    int rc = expand_steps(c, NULL, s, out, err);
    if (rc < 0) mx_cfg_here(c, err);
    mx_cfg_pop(c, mark);
    return rc;
}

/* Executor keys first and steps last, whichever came from where: output reads the same way for
 * every job. */
static mx_node *canonical_order(mx_node *job)
{
    static const char *const first[] = {"machine",           "docker",         "macos",
                                        "windows",           "resource_class", "environment",
                                        "working_directory", "shell",          NULL};
    mx_node *out = mx_node_new(MX_NODE_MAP, job);
    for (int pass = 0; pass < 3; pass++) {
        for (const char *const *f = first; pass == 0 && *f; f++) {
            for (size_t i = 0; i < job->n; i++) {
                if (!job->keys[i] || strcmp(job->keys[i]->value, *f) != 0) continue;
                mx_node_map_add(out, job->keys[i], job->vals[i]);
                job->keys[i] = job->vals[i] = NULL;
            }
        }
        for (size_t i = 0; pass > 0 && i < job->n; i++) {
            if (!job->keys[i] || (pass == 1) == (strcmp(job->keys[i]->value, "steps") == 0))
                continue;
            mx_node_map_add(out, job->keys[i], job->vals[i]);
            job->keys[i] = job->vals[i] = NULL;
        }
    }
    job->n = 0;
    mx_node_free(job);
    return out;
}

int mx_cfg_expand_job(mx_cfg *c, const char *ref, const mx_node *inv, const mx_node *at,
                      mx_node **out, mx_err *err)
{
    *out = NULL;
    const mx_cfg_orb *dscope;
    int docker;
    const mx_node *def = mx_cfg_find(c, NULL, "jobs", ref, &dscope, &docker, at, err);
    if (!def) return -1;
    if (def->kind != MX_NODE_MAP) return mx_node_fail(err, def, "job \"%s\" must be a map", ref);
    char *what = mx_xasprintf("job \"%s\"", ref);
    mx_node *bound = NULL, *shape = mx_node_new(MX_NODE_MAP, def), *job = NULL;
    int rc = mx_cfg_params_bind(mx_node_get(def, "parameters"), inv, inv_reserved, at, what, &bound,
                                err);
    if (rc == 0) rc = mx_cfg_charge_tree(&c->budget, def, at, err);
    if (rc == 0) rc = mx_cfg_subst_pipeline(&bound, c->pipeline, err);
    if (rc == 0)
        rc = resolve_executor_params(c, mx_node_get(def, "parameters"), inv, NULL, dscope, bound,
                                     err);
    /* the job without its declarations, which are not to be substituted */
    for (size_t i = 0; i < def->n; i++)
        if (strcmp(def->keys[i]->value, "parameters") != 0 &&
            strcmp(def->keys[i]->value, "description") != 0)
            mx_node_map_add(shape, mx_node_copy(def->keys[i]), mx_node_copy(def->vals[i]));
    if (rc == 0) rc = mx_cfg_charge_tree(&c->budget, bound, at, err);
    if (rc == 0) {
        mx_cfg_scope s = {
            .params = bound, .owner = what, .pipeline = c->pipeline, .budget = &c->budget};
        rc = mx_cfg_subst(shape, &s, &job, err);
    }
    if (rc == 0 && mx_node_get(job, "executor")) {
        size_t mark = mx_cfg_push(c, ".executor");
        rc = apply_executor(c, dscope, job, err);
        if (rc < 0) mx_cfg_here(c, err);
        mx_cfg_pop(c, mark);
    }
    const mx_node *steps = job ? mx_node_get(job, "steps") : NULL;
    if (rc == 0 && steps && steps->kind == MX_NODE_SEQ) {
        mx_node *seq = mx_node_new(MX_NODE_SEQ, steps);
        rc = add_extra_steps(c, inv, "pre-steps", seq, err);
        if (rc == 0) {
            size_t mark = mx_cfg_push(c, ".steps");
            rc = expand_steps(c, dscope, steps, seq, err);
            if (rc < 0) mx_cfg_here(c, err);
            mx_cfg_pop(c, mark);
        }
        if (rc == 0) rc = add_extra_steps(c, inv, "post-steps", seq, err);
        /* replaced in place: the key keeps its position in the job */
        for (size_t i = 0; i < job->n; i++) {
            if (strcmp(job->keys[i]->value, "steps") != 0) continue;
            mx_node_free(job->vals[i]);
            job->vals[i] = seq;
            break;
        }
    }
    mx_node_free(shape);
    mx_node_free(bound);
    free(what);
    if (rc < 0) {
        mx_node_free(job);
        return -1;
    }
    if (!job) return mx_node_fail(err, at, "job \"%s\" expands to nothing", ref);
    *out = canonical_order(job);
    return 0;
}
