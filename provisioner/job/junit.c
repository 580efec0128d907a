#include "junit.h"
#include "mx_num.h"
#include "mx_buf.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

void mx_junit_init(mx_junit *j)
{
    memset(j, 0, sizeof *j);
    mx_buf_init(&j->notes);
}

void mx_junit_free(mx_junit *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free(j->v[i].file);
        free(j->v[i].classname);
        free(j->v[i].name);
    }
    free(j->v);
    mx_buf_free(&j->notes);
    memset(j, 0, sizeof *j);
}

static void refuse(mx_junit *j, const char *name, const char *why)
{
    j->refused++;
    mx_buf_printf(&j->notes, "%s: not read: %s\n", name, why);
}

/* An attribute's value as written.  Never through xmlGetProp: it would expand entity
 * references (there are none without a DTD, but this does not depend on that). */
static char *attr(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        if (strcmp((const char *)a->name, name) != 0) continue;
        mx_buf b;
        mx_buf_init(&b);
        for (const xmlNode *t = a->children; t; t = t->next)
            if (t->type == XML_TEXT_NODE && t->content) mx_buf_adds(&b, (const char *)t->content);
        mx_buf_adds(&b, "");
        return mx_buf_steal(&b);
    }
    return NULL;
}

static double seconds(const char *s)
{
    if (!s) return 0;
    /* "1,234.5" as some reporters write it */
    mx_buf b;
    mx_buf_init(&b);
    for (const char *c = s; *c; c++)
        if (*c != ',') mx_buf_add(&b, c, 1);
    mx_buf_adds(&b, "");
    double t = 0;
    int ok = mx_parse_double(b.data, &t) == 0 && t >= 0 && t < 1e9;
    mx_buf_free(&b);
    return ok ? t : 0;
}

static void add_case(mx_junit *j, const xmlNode *tc, const char *suite_file)
{
    if (j->n >= MX_JUNIT_MAX_CASES) {
        j->dropped++;
        return;
    }
    if (j->n == j->cap)
        j->v = mx_xrealloc(j->v, (j->cap = j->cap ? j->cap * 2 : 64) * sizeof *j->v);
    mx_junit_case *c = &j->v[j->n++];
    memset(c, 0, sizeof *c);
    c->file = attr(tc, "file");
    if (!c->file && suite_file) c->file = mx_xstrdup(suite_file);
    c->classname = attr(tc, "classname");
    c->name = attr(tc, "name");
    char *t = attr(tc, "time");
    c->time = seconds(t);
    free(t);
    for (const xmlNode *k = tc->children; k; k = k->next) {
        if (k->type != XML_ELEMENT_NODE) continue;
        const char *n = (const char *)k->name;
        if (strcmp(n, "failure") == 0 && c->result == MX_JUNIT_PASSED) c->result = MX_JUNIT_FAILED;
        if (strcmp(n, "error") == 0) c->result = MX_JUNIT_ERROR;
        if (strcmp(n, "skipped") == 0 && c->result == MX_JUNIT_PASSED) c->result = MX_JUNIT_SKIPPED;
    }
}

/* testsuites > testsuite (nested suites too) > testcase, iteratively bounded by the tree the
 * parser built (its own depth limit applies). */
static void walk(mx_junit *j, const xmlNode *n, const char *suite_file, int depth)
{
    if (depth > 64) return;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        const char *name = (const char *)n->name;
        if (strcmp(name, "testcase") == 0) {
            add_case(j, n, suite_file);
        } else if (strcmp(name, "testsuite") == 0 || strcmp(name, "testsuites") == 0) {
            char *f = attr(n, "file");
            walk(j, n->children, f ? f : suite_file, depth + 1);
            free(f);
        }
    }
}

static int has_doctype(const char *data, size_t len)
{
    static const char needle[] = "<!DOCTYPE";
    for (const char *p = data; (p = memchr(p, '<', len - (size_t)(p - data)));) {
        if ((size_t)(data + len - p) >= sizeof needle - 1 &&
            memcmp(p, needle, sizeof needle - 1) == 0)
            return 1;
        if (++p >= data + len) break;
    }
    return 0;
}

static void silent(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

void mx_junit_add(mx_junit *j, const char *name, const char *data, size_t len)
{
    if (len > MX_JUNIT_MAX_FILE) return refuse(j, name, "larger than 16 MiB");
    if (has_doctype(data, len))
        return refuse(j, name, "it declares a DTD (entities are not expanded here)");
    xmlSetGenericErrorFunc(NULL, silent);
    /* no NOENT (entities stay references), no DTD loading, no network; libxml2's own limits
     * on depth and text sizes stay on (no XML_PARSE_HUGE) */
    xmlDoc *doc = xmlReadMemory(data, (int)len, name, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                    XML_PARSE_NOCDATA);
    if (!doc) return refuse(j, name, "not well-formed XML");
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || (strcmp((const char *)root->name, "testsuites") != 0 &&
                  strcmp((const char *)root->name, "testsuite") != 0)) {
        xmlFreeDoc(doc);
        return refuse(j, name, "not JUnit XML (no testsuites or testsuite element)");
    }
    j->files++;
    walk(j, root, NULL, 0);
    xmlFreeDoc(doc);
}

static const mx_junit *sort_j;

static int slower(const void *a, const void *b)
{
    double x = sort_j->v[*(const size_t *)a].time, y = sort_j->v[*(const size_t *)b].time;
    if (x != y) return x > y ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

void mx_junit_summary(const mx_junit *j, size_t slowest, mx_buf *out)
{
    size_t count[4] = {0};
    double total = 0;
    for (size_t i = 0; i < j->n; i++) {
        count[j->v[i].result]++;
        total += j->v[i].time;
    }
    mx_buf_printf(out,
                  "Tests: %zu (failures %zu, errors %zu, skipped %zu) in %.1f s from %zu file%s\n",
                  j->n, count[MX_JUNIT_FAILED], count[MX_JUNIT_ERROR], count[MX_JUNIT_SKIPPED],
                  total, j->files, j->files == 1 ? "" : "s");
    if (j->dropped) mx_buf_printf(out, "(%zu more test cases not counted)\n", j->dropped);
    size_t *idx = mx_xcalloc(j->n ? j->n : 1, sizeof *idx);
    for (size_t i = 0; i < j->n; i++)
        idx[i] = i;
    sort_j = j;
    qsort(idx, j->n, sizeof *idx, slower);
    for (size_t k = 0; k < j->n && k < slowest; k++) {
        const mx_junit_case *c = &j->v[idx[k]];
        if (k == 0) mx_buf_adds(out, "Slowest:\n");
        mx_buf_printf(out, "  %8.3f s  %s%s%s\n", c->time, c->classname ? c->classname : "",
                      c->classname && c->name ? " " : "", c->name ? c->name : "");
    }
    free(idx);
    if (j->notes.len) mx_buf_add(out, j->notes.data, j->notes.len);
}

static void set_opt_str(json_t *o, const char *k, const char *v)
{
    if (v && json_object_set_new(o, k, json_string(v)) != 0) mx_oom();
}

char *mx_junit_timings_json(const mx_junit *j)
{
    json_t *a = json_array();
    if (!a) mx_oom();
    for (size_t i = 0; i < j->n; i++) {
        json_t *o = json_object();
        if (!o) mx_oom();
        set_opt_str(o, "file", j->v[i].file);
        set_opt_str(o, "classname", j->v[i].classname);
        set_opt_str(o, "name", j->v[i].name);
        if (json_object_set_new(o, "time", json_real(j->v[i].time)) != 0 ||
            json_array_append_new(a, o) != 0)
            mx_oom();
    }
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (!s) mx_oom();
    return s;
}
