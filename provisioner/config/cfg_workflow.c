/* Workflows: job invocations (matrix expanded, named), then a plan for one branch or tag build:
 * requires resolved (aliases, name: status forms), filters applied, jobs in dependency order. */
#include "cfg_cond.h"
#include "cfg_process_int.h"
#include "cfg_params.h"
#include "cfg_suggest.h"
#include "mx_cleanup.h"
#include "mx_regex.h"

#include <stdlib.h>
#include <string.h>

static void inv_free(mx_cfg_inv *v)
{
    free(v->name);
    free(v->given);
    free(v->job);
    free(v->alias);
    mx_node_free(v->node);
}

void mx_cfg_workflows_free(mx_cfg_wf *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < w[i].ninv; j++)
            inv_free(&w[i].inv[j]);
        free(w[i].inv);
        free(w[i].name);
    }
    free(w);
}

/* Takes node.  Names are made unique later, across all workflows (number_repeats). */
static void add_inv(mx_cfg_wf *w, const char *name, const char *job, const char *alias,
                    mx_node *node, const mx_node *at)
{
    w->inv = mx_xrealloc(w->inv, (w->ninv + 1) * sizeof *w->inv);
    mx_cfg_inv *v = &w->inv[w->ninv++];
    memset(v, 0, sizeof *v);
    v->name = mx_xstrdup(name);
    v->given = mx_xstrdup(name);
    v->job = mx_xstrdup(job);
    v->alias = alias ? mx_xstrdup(alias) : NULL;
    v->node = node;
    v->at = at;
}

static const char *scalar_text(const mx_node *n)
{
    return mx_node_is_null(n) ? "" : n->value;
}

static int excluded(const mx_node *exclude, const mx_node *combo, const mx_node *mparams,
                    mx_err *err, int *out)
{
    *out = 0;
    for (size_t i = 0; exclude && i < exclude->n; i++) {
        const mx_node *e = exclude->items[i];
        if (e->kind != MX_NODE_MAP)
            return mx_node_fail(err, e, "exclude entries are maps of matrix parameter values");
        int all = 1;
        for (size_t k = 0; k < e->n; k++) {
            const mx_node *v = mx_node_get(combo, e->keys[k]->value);
            if (!mx_node_get(mparams, e->keys[k]->value)) {
                mx_buf m;
                mx_buf_init(&m);
                mx_buf_printf(&m, "exclude names \"%s\", which is not a matrix parameter",
                              e->keys[k]->value);
                mx_cfg_suggest_keys(&m, e->keys[k]->value, mparams);
                mx_node_fail(err, e->keys[k], "%s", m.data);
                mx_buf_free(&m);
                return -1;
            }
            if (e->vals[k]->kind != MX_NODE_SCALAR ||
                strcmp(scalar_text(v), scalar_text(e->vals[k])) != 0)
                all = 0;
        }
        if (all) *out = 1;
    }
    return 0;
}

static int cmp_keys(const void *a, const void *b)
{
    const mx_node *const *x = a, *const *y = b;
    return strcmp((*x)->value, (*y)->value);
}

/* One invocation per combination of matrix values, named as CircleCI does by default:
 * JOB-VALUE1-VALUE2 with the parameters in alphabetical order (its reference's example declares
 * version, then platform, and names the jobs build-macos-0.1, ...).  Combinations follow the
 * same order, the last parameter varying fastest. */
static int expand_matrix(mx_cfg *c, mx_cfg_wf *w, const char *ref, const mx_node *args,
                         const mx_node *at, mx_err *err)
{
    const mx_node *m = mx_node_get(args, "matrix");
    if (m->kind != MX_NODE_MAP) return mx_node_fail(err, m, "matrix takes a map with parameters:");
    static const char *const keys[] = {"parameters", "exclude", "alias", NULL};
    if (mx_cfg_check_keys(m, "matrix", keys, err) < 0) return -1;
    const mx_node *mp = mx_node_get(m, "parameters"), *ex = mx_node_get(m, "exclude"),
                  *alias = mx_node_get(m, "alias");
    if (!mp || mp->kind != MX_NODE_MAP || mp->n == 0)
        return mx_node_fail(err, mp ? mp : m, "matrix needs parameters: NAME: [values]");
    if (ex && !mx_node_is_null(ex) && ex->kind != MX_NODE_SEQ)
        return mx_node_fail(err, ex, "exclude takes a list of maps");
    if (ex && mx_node_is_null(ex)) ex = NULL;
    if (alias && alias->kind != MX_NODE_SCALAR)
        return mx_node_fail(err, alias, "alias must be a string");
    for (size_t i = 0; i < mp->n; i++) {
        const mx_node *vals = mp->vals[i];
        if (vals->kind != MX_NODE_SEQ || vals->n == 0)
            return mx_node_fail(err, vals, "matrix parameter \"%s\" needs a list of values",
                                mp->keys[i]->value);
        for (size_t j = 0; j < vals->n; j++)
            if (vals->items[j]->kind != MX_NODE_SCALAR)
                return mx_node_fail(err, vals->items[j], "matrix values must be scalars");
    }
    for (size_t i = 0, jobs = 1; i < mp->n; i++)
        if ((jobs *= mp->vals[i]->n) > MX_CFG_MAX_MATRIX)
            return mx_node_fail(err, mp, "the matrix makes more than %d jobs", MX_CFG_MAX_MATRIX);
    /* the parameters (keys with their value lists) in alphabetical order */
    size_t np = mp->n;
    const mx_node **names = mx_xcalloc(np, sizeof *names);
    const mx_node **lists = mx_xcalloc(np, sizeof *lists);
    for (size_t i = 0; i < np; i++)
        names[i] = mp->keys[i];
    qsort(names, np, sizeof *names, cmp_keys);
    for (size_t i = 0; i < np; i++)
        lists[i] = mx_node_get(mp, names[i]->value);
    size_t *idx = mx_xcalloc(np, sizeof *idx);
    mx_node *rest = mx_node_new(MX_NODE_MAP, args);
    for (size_t i = 0; i < args->n; i++)
        if (strcmp(args->keys[i]->value, "matrix") != 0)
            mx_node_map_add(rest, mx_node_copy(args->keys[i]), mx_node_copy(args->vals[i]));
    int rc = 0;
    for (int done = 0; !done && rc == 0;) {
        mx_node *combo = mx_node_new(MX_NODE_MAP, m);
        mx_buf name;
        mx_buf_init(&name);
        mx_buf_adds(&name, ref);
        /* combo keeps the written order: it becomes the job's arguments */
        for (size_t i = 0; i < mp->n; i++) {
            size_t k = 0;
            while (names[k] != mp->keys[i])
                k++;
            mx_node_map_put(combo, mp->keys[i]->value, mx_node_copy(lists[k]->items[idx[k]]));
        }
        for (size_t k = 0; k < np; k++)
            mx_buf_printf(&name, "-%s", scalar_text(lists[k]->items[idx[k]]));
        int skip = 0;
        rc = excluded(ex, combo, mp, err, &skip);
        if (rc == 0 && !skip) {
            mx_cfg_scope s = {.pipeline = c->pipeline, .matrix = combo, .budget = &c->budget};
            mx_node *node = NULL;
            rc = mx_cfg_subst(rest, &s, &node, err);
            for (size_t i = 0; rc == 0 && i < combo->n; i++)
                if (!mx_node_get(node, combo->keys[i]->value))
                    mx_node_map_add(node, mx_node_copy(combo->keys[i]),
                                    mx_node_copy(combo->vals[i]));
            const mx_node *given = rc == 0 ? mx_node_get(node, "name") : NULL;
            if (given && given->kind != MX_NODE_SCALAR)
                rc = mx_node_fail(err, given, "name must be a string");
            if (rc == 0)
                add_inv(w, given ? scalar_text(given) : name.data, ref, alias ? alias->value : ref,
                        node, at);
            else
                mx_node_free(node);
        }
        mx_buf_free(&name);
        mx_node_free(combo);
        /* next combination: the last parameter varies fastest */
        size_t i = np;
        for (;;) {
            if (i == 0) {
                done = 1;
                break;
            }
            i--;
            if (++idx[i] < lists[i]->n) break;
            idx[i] = 0;
        }
    }
    mx_node_free(rest);
    free(idx);
    free(names);
    free(lists);
    return rc;
}

/* The type: a definition gives itself ("no-op", "approval"), or NULL. */
static const char *def_type(const mx_node *def)
{
    const mx_node *t = mx_node_get(def, "type");
    return t && t->kind == MX_NODE_SCALAR ? t->value : NULL;
}

static int parse_inv(mx_cfg *c, mx_cfg_wf *w, const mx_node *item, mx_err *err)
{
    const char *ref;
    const mx_node *args = NULL, *at = item;
    if (item->kind == MX_NODE_SCALAR) {
        ref = item->value;
    } else if (item->kind == MX_NODE_MAP && item->n == 1) {
        ref = item->keys[0]->value;
        at = item->keys[0];
        args = item->vals[0];
        if (mx_node_is_null(args)) args = NULL;
        if (args && args->kind != MX_NODE_MAP)
            return mx_node_fail(err, args, "workflow job \"%s\" takes a map of settings", ref);
    } else {
        return mx_node_fail(err, item,
                            "a workflow job is a name or a map with one key (NAME: "
                            "{requires: ...})");
    }
    const mx_node *type = mx_node_get(args, "type");
    if (type && !(type->kind == MX_NODE_SCALAR && strcmp(type->value, "approval") == 0))
        return mx_node_fail(err, type,
                            "type: under workflows can only be approval (a job's other types "
                            "belong in its definition)");
    /* an approval job is a hold: it needs no definition (CircleCI ignores one if there is) */
    int approval = type != NULL, noop = 0;
    if (!approval) {
        const mx_cfg_orb *scope;
        int docker;
        const mx_node *def = mx_cfg_find(c, NULL, "jobs", ref, &scope, &docker, at, err);
        if (!def) return -1;
        const char *t = docker ? NULL : def_type(def);
        approval = t && strcmp(t, "approval") == 0;
        /* release, lock and unlock jobs are CircleCI deploy markers: nothing to run here */
        noop = t && (strcmp(t, "no-op") == 0 || strcmp(t, "release") == 0 ||
                     strcmp(t, "lock") == 0 || strcmp(t, "unlock") == 0);
    }
    size_t first = w->ninv;
    int rc;
    if (args && mx_node_get(args, "matrix")) {
        rc = expand_matrix(c, w, ref, args, at, err);
    } else {
        mx_node *node = NULL;
        if (args) {
            mx_cfg_scope s = {.pipeline = c->pipeline, .budget = &c->budget};
            if (mx_cfg_subst(args, &s, &node, err) < 0) return -1;
        }
        const mx_node *given = mx_node_get(node, "name");
        if (given && given->kind != MX_NODE_SCALAR) {
            mx_node_fail(err, given, "name must be a string"); /* given lives in node */
            mx_node_free(node);
            return -1;
        }
        const mx_node *sg = mx_node_get(node, "serial-group");
        if (sg && (sg->kind != MX_NODE_SCALAR || mx_node_is_null(sg) || !*sg->value)) {
            mx_node_fail(err, sg, "serial-group must be a non-empty string");
            mx_node_free(node);
            return -1;
        }
        add_inv(w, given ? scalar_text(given) : ref, ref, NULL, node, at);
        rc = 0;
    }
    for (size_t i = first; i < w->ninv; i++) {
        w->inv[i].approval = approval;
        w->inv[i].noop = noop;
    }
    return rc;
}

static int parse_wf(mx_cfg *c, mx_cfg_wf *w, const mx_node *def, mx_err *err)
{
    w->enabled = 1;
    if (def->kind != MX_NODE_MAP)
        return mx_node_fail(err, def, "workflow \"%s\" must be a map with jobs:", w->name);
    static const char *const keys[] = {"jobs", "when", "unless", "triggers", "max_auto_reruns",
                                       NULL};
    if (mx_cfg_check_keys(def, "a workflow", keys, err) < 0) return -1;
    static const char *const conds[] = {"when", "unless"};
    for (size_t i = 0; i < 2; i++) {
        const mx_node *cond = mx_node_get(def, conds[i]);
        if (!cond) continue;
        mx_cfg_scope s = {.pipeline = c->pipeline};
        mx_node *sub = NULL;
        int r = 0;
        if (mx_cfg_subst(cond, &s, &sub, err) < 0) return -1;
        int rc = mx_cfg_cond_eval(sub, &r, err);
        mx_node_free(sub);
        if (rc < 0) return -1;
        if (i == 1) r = !r;
        if (!r) w->enabled = 0;
    }
    const mx_node *jobs = mx_node_get(def, "jobs");
    if (!jobs || jobs->kind != MX_NODE_SEQ || jobs->n == 0)
        return mx_node_fail(err, jobs ? jobs : def, "workflow \"%s\" needs a list of jobs",
                            w->name);
    for (size_t i = 0; i < jobs->n; i++) {
        size_t mark = mx_cfg_push(c, ".jobs[%zu]", i);
        int rc = parse_inv(c, w, jobs->items[i], err);
        if (rc < 0) mx_cfg_here(c, err);
        mx_cfg_pop(c, mark);
        if (rc < 0) return -1;
    }
    return 0;
}

/* CircleCI names every invocation of a repeated name NAME-1, NAME-2, ... in the order they
 * are written, across the workflows of the pipeline (its reusing-config reference: "the build
 * name will be changed (for example, sayhello-1, sayhello-2, etc.)"); an explicit unique name:
 * avoids it.  A workflow its when/unless leaves out of the pipeline does not count. */
static int number_repeats(mx_cfg_wf *w, size_t nw, mx_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < nw; i++)
        total += w[i].enabled ? w[i].ninv : 0;
    mx_cfg_inv **all = mx_xcalloc(total ? total : 1, sizeof *all);
    size_t k = 0;
    for (size_t i = 0; i < nw; i++)
        for (size_t j = 0; w[i].enabled && j < w[i].ninv; j++)
            all[k++] = &w[i].inv[j];
    int rc = 0;
    for (size_t a = 0; a < total; a++) {
        size_t count = 0, seen = 0;
        for (size_t b = 0; b < total; b++) {
            if (strcmp(all[b]->given, all[a]->given) != 0) continue;
            count++;
            if (b < a) seen++;
        }
        if (count < 2) continue;
        free(all[a]->name);
        all[a]->name = mx_xasprintf("%s-%zu", all[a]->given, seen + 1);
    }
    /* a numbered name may meet one written that way */
    for (size_t a = 0; a < total && rc == 0; a++)
        for (size_t b = a + 1; b < total && rc == 0; b++)
            if (strcmp(all[a]->name, all[b]->name) == 0)
                rc = mx_node_fail(
                    err, all[b]->at,
                    "two workflow jobs are named \"%s\"; give one another name:", all[b]->name);
    free(all);
    return rc;
}

int mx_cfg_workflows(mx_cfg *c, mx_cfg_wf **out, size_t *n, mx_err *err)
{
    *out = NULL;
    *n = 0;
    const mx_node *wfs = mx_node_get(c->root, "workflows");
    if (!wfs || mx_node_is_null(wfs)) return 0;
    if (wfs->kind != MX_NODE_MAP) return mx_node_fail(err, wfs, "workflows must be a map");
    mx_cfg_wf *w = mx_xcalloc(wfs->n, sizeof *w);
    size_t nw = 0;
    for (size_t i = 0; i < wfs->n; i++) {
        if (strcmp(wfs->keys[i]->value, "version") == 0) continue;
        mx_cfg_wf *wf = &w[nw++];
        wf->name = mx_xstrdup(wfs->keys[i]->value);
        wf->at = wfs->keys[i];
        size_t mark = mx_cfg_push(c, "workflows.%s", wf->name);
        int rc = parse_wf(c, wf, wfs->vals[i], err);
        if (rc < 0) mx_cfg_here(c, err);
        mx_cfg_pop(c, mark);
        if (rc < 0) {
            mx_cfg_workflows_free(w, nw);
            return -1;
        }
    }
    if (number_repeats(w, nw, err) < 0) {
        mx_cfg_workflows_free(w, nw);
        return -1;
    }
    *out = w;
    *n = nw;
    return 0;
}

/* ---- the plan ---- */

static void plan_job_free(mx_plan_job *j)
{
    for (size_t i = 0; i < j->nrequires; i++)
        free(j->requires[i].name);
    free(j->requires);
    for (size_t i = 0; i < j->ncontexts; i++)
        free(j->contexts[i]);
    free(j->contexts);
    free(j->name);
    free(j->job);
    free(j->skip_reason);
    free(j->serial_group);
    free(j->file);
}

void mx_plan_free(mx_plan *plan)
{
    for (size_t i = 0; i < plan->njobs; i++)
        plan_job_free(&plan->jobs[i]);
    free(plan->jobs);
    free(plan->workflow);
    memset(plan, 0, sizeof *plan);
}

static int parse_status(const mx_node *v, int *out, mx_err *err)
{
    static const char *const names[] = {"success", "failed", "canceled", "terminal"};
    static const int bits[] = {MX_REQ_SUCCESS, MX_REQ_FAILED, MX_REQ_CANCELED,
                               MX_REQ_SUCCESS | MX_REQ_FAILED | MX_REQ_CANCELED};
    const mx_node *const *items = &v;
    size_t n = 1;
    if (v->kind == MX_NODE_SEQ) items = (const mx_node *const *)v->items, n = v->n;
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        const mx_node *s = items[i];
        int found = 0;
        for (size_t k = 0; k < 4 && s->kind == MX_NODE_SCALAR; k++)
            if (strcmp(s->value, names[k]) == 0) *out |= bits[k], found = 1;
        if (!found) {
            mx_buf m;
            mx_buf_init(&m);
            mx_buf_printf(&m, "unknown job status \"%s\"",
                          s->kind == MX_NODE_SCALAR ? s->value : "?");
            if (s->kind == MX_NODE_SCALAR) mx_cfg_suggest_add(&m, s->value, names, 4);
            mx_buf_adds(&m, " (success, failed, canceled, terminal)");
            mx_node_fail(err, s, "%s", m.data);
            mx_buf_free(&m);
            return -1;
        }
    }
    return n ? 0 : mx_node_fail(err, v, "a requires status list is empty");
}

static void add_req(mx_plan_job *j, const char *name, int status)
{
    for (size_t i = 0; i < j->nrequires; i++) {
        if (strcmp(j->requires[i].name, name) == 0) {
            j->requires[i].status |= status;
            return;
        }
    }
    j->requires = mx_xrealloc(j->requires, (j->nrequires + 1) * sizeof *j->requires);
    j->requires[j->nrequires].name = mx_xstrdup(name);
    j->requires[j->nrequires++].status = status;
}

/* requires: NAME is a job of this workflow by its name, a matrix's alias (all of its jobs), or
 * the name it was given before CircleCI numbered repeats, when that is unambiguous here. */
static int resolve_req(const mx_cfg_wf *w, mx_plan_job *j, const mx_node *at, const char *name,
                       int status, mx_err *err)
{
    int found = 0;
    for (size_t i = 0; i < w->ninv && !found; i++)
        if (strcmp(w->inv[i].name, name) == 0) add_req(j, name, status), found = 1;
    for (size_t i = 0; i < w->ninv && !found; i++)
        if (w->inv[i].alias && strcmp(w->inv[i].alias, name) == 0) found = 2;
    if (found == 2)
        for (size_t i = 0; i < w->ninv; i++)
            if (w->inv[i].alias && strcmp(w->inv[i].alias, name) == 0)
                add_req(j, w->inv[i].name, status);
    if (found) return 0;
    size_t given = 0, which = 0;
    for (size_t i = 0; i < w->ninv; i++)
        if (strcmp(w->inv[i].given, name) == 0) given++, which = i;
    if (given == 1) return add_req(j, w->inv[which].name, status), 0;
    mx_buf m;
    mx_buf_init(&m);
    if (given > 1) {
        mx_buf_printf(&m, "job \"%s\" requires \"%s\", which workflow \"%s\" runs %zu times (as ",
                      j->name, name, w->name, given);
        for (size_t i = 0, k = 0; i < w->ninv; i++)
            if (strcmp(w->inv[i].given, name) == 0)
                mx_buf_printf(&m, "%s%s", k++ ? ", " : "", w->inv[i].name);
        mx_buf_adds(&m, "): require one of those, or give each a name:");
        mx_node_fail(err, at, "%s", m.data);
        mx_buf_free(&m);
        return -1;
    }
    const char **names = mx_xcalloc(w->ninv + 1, sizeof *names);
    for (size_t i = 0; i < w->ninv; i++)
        names[i] = w->inv[i].name;
    mx_buf_printf(&m, "job \"%s\" requires \"%s\", which is not a job of workflow \"%s\"", j->name,
                  name, w->name);
    mx_cfg_suggest_add(&m, name, names, w->ninv);
    free(names);
    mx_node_fail(err, at, "%s", m.data);
    mx_buf_free(&m);
    return -1;
}

static int parse_requires(const mx_cfg_wf *w, mx_plan_job *j, const mx_node *r, mx_err *err)
{
    if (!r || mx_node_is_null(r)) return 0;
    if (r->kind != MX_NODE_SEQ) return mx_node_fail(err, r, "requires takes a list of job names");
    for (size_t i = 0; i < r->n; i++) {
        const mx_node *it = r->items[i];
        int status = MX_REQ_SUCCESS;
        const char *name;
        if (it->kind == MX_NODE_SCALAR) {
            name = it->value;
        } else if (it->kind == MX_NODE_MAP && it->n == 1) {
            name = it->keys[0]->value;
            if (parse_status(it->vals[0], &status, err) < 0) return -1;
        } else {
            return mx_node_fail(err, it, "a requires entry is NAME or NAME: STATUS");
        }
        if (resolve_req(w, j, it, name, status, err) < 0) return -1;
    }
    return 0;
}

static int parse_contexts(mx_plan_job *j, const mx_node *c, mx_err *err)
{
    if (!c || mx_node_is_null(c)) return 0;
    const mx_node *const *items = &c;
    size_t n = 1;
    if (c->kind == MX_NODE_SEQ) items = (const mx_node *const *)c->items, n = c->n;
    for (size_t i = 0; i < n; i++) {
        if (items[i]->kind != MX_NODE_SCALAR || mx_node_is_null(items[i]))
            return mx_node_fail(err, items[i], "context takes a name or a list of names");
        j->contexts = mx_xrealloc(j->contexts, (j->ncontexts + 1) * sizeof *j->contexts);
        j->contexts[j->ncontexts++] = mx_xstrdup(items[i]->value);
    }
    return 0;
}

/* Does name match a filter (a string or list; "/re/" is a POSIX ERE for the whole name)?
 * Every pattern is compiled, so a bad one is reported whatever is being built. */
static int filter_match(const mx_node *spec, const char *name, int *out, mx_err *err)
{
    *out = 0;
    if (mx_node_is_null(spec)) return 0;
    const mx_node *const *items = &spec;
    size_t n = 1;
    if (spec->kind == MX_NODE_SEQ) items = (const mx_node *const *)spec->items, n = spec->n;
    for (size_t i = 0; i < n; i++) {
        const mx_node *p = items[i];
        if (p->kind != MX_NODE_SCALAR)
            return mx_node_fail(err, p, "a filter is a name, a /regex/ or a list of them");
        size_t len = strlen(p->value);
        if (len >= 2 && p->value[0] == '/' && p->value[len - 1] == '/') {
            mx_autofree char *re = mx_xasprintf("%.*s", (int)(len - 2), p->value + 1);
            mx_regex rx;
            mx_err why;
            if (mx_regex_compile(&rx, re, p->value, &why) < 0)
                return mx_node_fail(err, p, "%s", why.msg);
            if (name && mx_regex_match(&rx, name)) *out = 1;
            mx_regex_free(&rx);
        } else if (name && strcmp(p->value, name) == 0) {
            *out = 1;
        }
    }
    return 0;
}

/* only, then ignore: a name must match `only` (if given) and must not match `ignore`. */
static int filter_side(const mx_node *f, const char *what, const char *name, int *ok, mx_err *err)
{
    *ok = 1;
    if (!f || mx_node_is_null(f)) return 0;
    if (f->kind != MX_NODE_MAP) return mx_node_fail(err, f, "%s takes only: and/or ignore:", what);
    static const char *const keys[] = {"only", "ignore", NULL};
    if (mx_cfg_check_keys(f, what, keys, err) < 0) return -1;
    const mx_node *only = mx_node_get(f, "only"), *ignore = mx_node_get(f, "ignore");
    int m = 0;
    if (only) {
        if (filter_match(only, name, &m, err) < 0) return -1;
        if (!m) *ok = 0;
    }
    if (ignore) {
        if (filter_match(ignore, name, &m, err) < 0) return -1;
        if (m) *ok = 0;
    }
    return 0;
}

static int apply_filters(mx_plan_job *j, const mx_node *f, const char *branch, const char *tag,
                         mx_err *err)
{
    j->run = 1;
    if (f && !mx_node_is_null(f)) {
        if (f->kind != MX_NODE_MAP)
            return mx_node_fail(err, f, "filters takes a map with branches: and/or tags:");
        static const char *const keys[] = {"branches", "tags", NULL};
        if (mx_cfg_check_keys(f, "filters", keys, err) < 0) return -1;
    } else {
        f = NULL;
    }
    const mx_node *b = mx_node_get(f, "branches"), *t = mx_node_get(f, "tags");
    int bok, tok;
    if (filter_side(b, "branches", tag ? NULL : (branch ? branch : ""), &bok, err) < 0 ||
        filter_side(t, "tags", tag, &tok, err) < 0)
        return -1;
    if (tag) {
        /* as on CircleCI: a tag starts only jobs whose tag filters accept it */
        if (!t || mx_node_is_null(t)) {
            j->run = 0;
            j->skip_reason = mx_xasprintf("tag %s: the job has no tags filter", tag);
        } else if (!tok) {
            j->run = 0;
            j->skip_reason = mx_xasprintf("tag %s is filtered out", tag);
        }
    } else if (!bok) {
        j->run = 0;
        j->skip_reason = mx_xasprintf("branch %s is filtered out", branch ? branch : "\"\"");
    }
    return 0;
}

int mx_plan_find(const mx_plan *plan, const char *name)
{
    for (size_t i = 0; i < plan->njobs; i++)
        if (strcmp(plan->jobs[i].name, name) == 0) return (int)i;
    return -1;
}

/* Where a requirement that the plan checked exists is. */
static size_t index_of(const mx_plan *p, const char *name)
{
    return (size_t)mx_plan_find(p, name);
}

/* Orders jobs so each follows all it requires (Kahn, ties in written order). */
static int topo_sort(mx_plan *p, const mx_cfg_wf *w, mx_err *err)
{
    size_t n = p->njobs;
    size_t *indeg = mx_xcalloc(n, sizeof *indeg), *order = mx_xcalloc(n, sizeof *order);
    char *done = mx_xcalloc(n, 1);
    for (size_t i = 0; i < n; i++)
        indeg[i] = p->jobs[i].nrequires;
    size_t k = 0;
    for (int progress = 1; progress && k < n;) {
        progress = 0;
        for (size_t i = 0; i < n; i++) {
            if (done[i] || indeg[i]) continue;
            done[i] = 1;
            order[k++] = i;
            progress = 1;
            for (size_t d = 0; d < n; d++)
                for (size_t r = 0; r < p->jobs[d].nrequires; r++)
                    if (strcmp(p->jobs[d].requires[r].name, p->jobs[i].name) == 0) indeg[d]--;
            break; /* restart: keeps the written order among ready jobs */
        }
    }
    int rc = 0;
    if (k < n) {
        /* walk requires from a job left over until a job repeats: that is the cycle */
        size_t start = 0;
        while (done[start])
            start++;
        size_t *seen = mx_xcalloc(n, sizeof *seen), cur = start, steps = 0;
        while (!seen[cur]) {
            seen[cur] = ++steps;
            size_t next = cur;
            for (size_t r = 0; r < p->jobs[cur].nrequires && next == cur; r++) {
                size_t t = index_of(p, p->jobs[cur].requires[r].name);
                if (!done[t]) next = t;
            }
            cur = next;
        }
        mx_buf m;
        mx_buf_init(&m);
        mx_buf_adds(&m, p->jobs[cur].name);
        for (size_t at = cur;;) {
            size_t next = at;
            for (size_t r = 0; r < p->jobs[at].nrequires && next == at; r++) {
                size_t t = index_of(p, p->jobs[at].requires[r].name);
                if (!done[t] && seen[t]) next = t;
            }
            mx_buf_printf(&m, " requires %s", p->jobs[next].name);
            if (next == cur || next == at) break;
            at = next;
        }
        const mx_plan_job *j = &p->jobs[cur];
        rc = mx_fail(err, MX_USAGE, "%s:%d:%d: workflow \"%s\" has cyclic requires: %s", j->file,
                     j->line, j->col, w->name, m.data);
        mx_buf_free(&m);
        free(seen);
    } else {
        mx_plan_job *sorted = mx_xcalloc(n, sizeof *sorted);
        for (size_t i = 0; i < n; i++)
            sorted[i] = p->jobs[order[i]];
        free(p->jobs);
        p->jobs = sorted;
    }
    free(indeg);
    free(order);
    free(done);
    return rc;
}

int mx_cfg_wf_plan(mx_cfg *c, const mx_cfg_wf *w, const char *branch, const char *tag,
                   mx_plan *plan, mx_err *err)
{
    memset(plan, 0, sizeof *plan);
    plan->workflow = mx_xstrdup(w->name);
    plan->enabled = w->enabled;
    plan->jobs = mx_xcalloc(w->ninv, sizeof *plan->jobs);
    size_t mark = mx_cfg_push(c, "workflows.%s", w->name);
    for (size_t i = 0; i < w->ninv; i++) {
        const mx_cfg_inv *v = &w->inv[i];
        mx_plan_job *j = &plan->jobs[plan->njobs++];
        j->name = mx_xstrdup(v->name);
        j->job = mx_xstrdup(v->job);
        j->file = mx_xstrdup(v->at->file);
        j->line = v->at->line;
        j->col = v->at->col;
        j->approval = v->approval;
        j->noop = v->noop;
        const mx_node *sg = mx_node_get(v->node, "serial-group");
        if (sg && sg->kind == MX_NODE_SCALAR) j->serial_group = mx_xstrdup(sg->value);
        size_t m2 = mx_cfg_push(c, ".jobs(%s)", v->name);
        int rc = parse_requires(w, j, mx_node_get(v->node, "requires"), err);
        if (rc == 0) rc = parse_contexts(j, mx_node_get(v->node, "context"), err);
        if (rc == 0) rc = apply_filters(j, mx_node_get(v->node, "filters"), branch, tag, err);
        if (rc < 0) mx_cfg_here(c, err);
        mx_cfg_pop(c, m2);
        if (rc < 0) {
            mx_cfg_pop(c, mark);
            mx_plan_free(plan);
            return -1;
        }
    }
    mx_cfg_pop(c, mark);
    if (topo_sort(plan, w, err) < 0) {
        mx_plan_free(plan);
        return -1;
    }
    for (size_t i = 0; i < plan->njobs; i++) {
        mx_plan_job *j = &plan->jobs[i];
        if (!plan->enabled && j->run) {
            j->run = 0;
            j->skip_reason = mx_xstrdup("the workflow's when/unless is false");
        }
        for (size_t r = 0; r < j->nrequires && j->run; r++) {
            const mx_plan_job *d = &plan->jobs[index_of(plan, j->requires[r].name)];
            if (!d->run) {
                j->run = 0;
                j->skip_reason = mx_xasprintf("requires %s, which does not run", d->name);
            }
        }
    }
    return 0;
}

int mx_cfg_plan_opts(const mx_node *root, const char *workflow, const mx_cfg_opts *o, mx_plan *plan,
                     mx_err *err)
{
    memset(plan, 0, sizeof *plan);
    mx_cfg *c;
    if (mx_cfg_open(root, o, &c, err) < 0) return -1;
    mx_cfg_wf *w = NULL;
    size_t nw = 0;
    int rc = mx_cfg_workflows(c, &w, &nw, err);
    const mx_cfg_wf *pick = NULL;
    if (rc == 0) {
        mx_buf names;
        mx_buf_init(&names);
        for (size_t i = 0; i < nw; i++) {
            mx_buf_printf(&names, "%s%s", i ? ", " : "", w[i].name);
            if (workflow && strcmp(w[i].name, workflow) == 0) pick = &w[i];
        }
        if (!workflow && nw == 1) pick = &w[0];
        if (!pick) {
            const mx_node *at = mx_node_get(root, "workflows");
            rc = mx_node_fail(err, at ? at : root, "%s (workflows: %s)",
                              !nw        ? "the config has no workflows"
                              : workflow ? "no such workflow"
                                         : "several workflows; name one",
                              names.data ? names.data : "none");
            if (workflow) mx_wrap(err, "workflow \"%s\"", workflow);
        }
        mx_buf_free(&names);
    }
    if (rc == 0 && pick)
        rc = mx_cfg_wf_plan(c, pick, o ? o->branch : NULL, o ? o->tag : NULL, plan, err);
    if (rc < 0) mx_plan_free(plan);
    mx_cfg_workflows_free(w, nw);
    mx_cfg_close(c);
    return rc;
}
