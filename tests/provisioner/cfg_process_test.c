/* cfg_process: 2.1 expansion and workflow plans, data-driven like cfg_job_test.
 *
 * tests/fixtures/config-process/NAME.yml + NAME.expected: `mexec config process` output, or
 * "error: TEXT" (TEXT must occur in the message; %DIR% stands for the fixture directory).
 * tests/fixtures/config-plan/NAME.yml + NAME.expected: the plan dump below, or "error: TEXT".
 * Leading comment lines of a .yml set options: "# param: K=V", "# branch: B", "# tag: T",
 * "# workflow: W".  To add a case, add the two files; nothing here changes. */
#include "test_util.h"

#include "cfg_process.h"
#include "cfg_suggest.h"
#include "cfg_yaml.h"

#include <dirent.h>

#if !defined(MX_PROCESS_FIXTURES) || !defined(MX_PLAN_FIXTURES)
#error "MX_PROCESS_FIXTURES and MX_PLAN_FIXTURES must name the fixture directories"
#endif

typedef struct fixture {
    char *yml;
    const char *dir;
    int plan;
} fixture;

typedef struct header {
    mx_envlist params;
    char *branch, *tag, *workflow, *orb_dir;
} header;

static void read_header(const char *text, header *h)
{
    memset(h, 0, sizeof *h);
    const char *p = text;
    while (strncmp(p, "# ", 2) == 0) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = mx_xstrndup(p + 2, len - 2);
        char *colon = strstr(line, ": ");
        if (colon) {
            *colon = '\0';
            const char *v = colon + 2;
            if (strcmp(line, "param") == 0) {
                const char *eq = strchr(v, '=');
                assert_non_null(eq);
                char *k = mx_xstrndup(v, (size_t)(eq - v));
                mx_envlist_set(&h->params, k, eq + 1);
                free(k);
            } else if (strcmp(line, "branch") == 0) {
                h->branch = mx_xstrdup(v);
            } else if (strcmp(line, "tag") == 0) {
                h->tag = mx_xstrdup(v);
            } else if (strcmp(line, "orb_dir") == 0) {
                h->orb_dir = mx_xstrdup(v);
            } else if (strcmp(line, "workflow") == 0) {
                h->workflow = mx_xstrdup(v);
            }
        }
        free(line);
        if (!nl) break;
        p = nl + 1;
    }
}

static void header_free(header *h)
{
    mx_envlist_free(&h->params);
    free(h->branch);
    free(h->tag);
    free(h->workflow);
    free(h->orb_dir);
}

static char *expand_dir(const char *text, size_t len, const char *dir)
{
    mx_buf b;
    mx_buf_init(&b);
    const char *end = text + len;
    while (text < end) {
        const char *at = strstr(text, "%DIR%");
        if (!at || at >= end) at = end;
        mx_buf_add(&b, text, (size_t)(at - text));
        if (at == end) break;
        mx_buf_adds(&b, dir);
        text = at + 5;
    }
    return mx_buf_steal(&b);
}

static char *dump_plan(const mx_plan *p)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_printf(&b, "workflow: %s%s\n", p->workflow, p->enabled ? "" : " (disabled)");
    for (size_t i = 0; i < p->njobs; i++) {
        const mx_plan_job *j = &p->jobs[i];
        mx_buf_printf(&b, "- %s (job %s) at %d:%d: %s", j->name, j->job, j->line, j->col,
                      j->run ? "run" : "skip");
        if (!j->run) mx_buf_printf(&b, " (%s)", j->skip_reason);
        if (j->approval) mx_buf_adds(&b, " approval");
        mx_buf_adds(&b, "\n");
        for (size_t r = 0; r < j->nrequires; r++)
            mx_buf_printf(&b, "  requires %s%s%s%s\n", j->requires[r].name,
                          j->requires[r].status & MX_REQ_SUCCESS ? " success" : "",
                          j->requires[r].status & MX_REQ_FAILED ? " failed" : "",
                          j->requires[r].status & MX_REQ_CANCELED ? " canceled" : "");
        for (size_t c = 0; c < j->ncontexts; c++)
            mx_buf_printf(&b, "  context %s\n", j->contexts[c]);
    }
    return mx_buf_steal(&b);
}

static void run_fixture(void **state)
{
    const fixture *f = *state;
    char *exp_path = mx_xasprintf("%.*s.expected", (int)(strlen(f->yml) - 4), f->yml);
    if (!mx_path_exists(exp_path)) fail_msg("%s has no %s", f->yml, exp_path);
    char *expected = tu_read(exp_path);
    char *text = tu_read(f->yml);
    header h;
    read_header(text, &h);
    mx_cfg_opts o = {.params = &h.params, .branch = h.branch, .tag = h.tag};
    /* "# orb_dir: D" is D under the fixture directory; else an empty one, so a developer's own
     * ~/.config/mexec/orbs never decides a test */
    char *orb_dir = mx_path_join(f->dir, h.orb_dir ? h.orb_dir : "no-orbs");
    setenv("MEXEC_ORB_DIR", orb_dir, 1);
    free(orb_dir);

    mx_err err = {0};
    mx_node *root = NULL, *doc = NULL;
    mx_buf out;
    mx_buf_init(&out);
    mx_plan plan;
    memset(&plan, 0, sizeof plan);
    int rc = mx_yaml_load_file(f->yml, &root, &err);
    if (rc == 0 && f->plan) {
        rc = mx_cfg_plan_opts(root, h.workflow, &o, &plan, &err);
        if (rc == 0) {
            char *d = dump_plan(&plan);
            mx_buf_adds(&out, d);
            free(d);
        }
    } else if (rc == 0) {
        rc = mx_cfg_process(root, &o, &doc, &err);
        if (rc == 0) rc = mx_cfg_emit(doc, &out, &err);
        /* what process prints must also pass everything `run` checks */
        if (rc == 0) rc = mx_cfg_validate(root, &o, &err);
    }
    const char *etag = "error: ";
    if (strncmp(expected, etag, strlen(etag)) == 0) {
        char *want =
            expand_dir(expected + strlen(etag), strcspn(expected + strlen(etag), "\n"), f->dir);
        if (rc == 0)
            fail_msg("%s: succeeded, but expected the error \"%s\"; got:\n%s", f->yml, want,
                     out.data ? out.data : "");
        if (!strstr(err.msg, want))
            fail_msg("%s:\n  error:    %s\n  expected: %s", f->yml, err.msg, want);
        assert_int_equal(err.status, MX_USAGE);
        free(want);
    } else {
        if (rc < 0) fail_msg("%s: %s", f->yml, err.msg);
        if (strcmp(out.data, expected) != 0)
            fail_msg("%s: output differs from %s\n--- got:\n%s--- expected:\n%s", f->yml, exp_path,
                     out.data, expected);
        if (!f->plan) {
            /* the processed config is a config too: processing it again changes nothing */
            mx_node *again = NULL, *doc2 = NULL;
            mx_buf out2;
            mx_buf_init(&out2);
            if (mx_yaml_load_string("processed", out.data, out.len, &again, &err) < 0 ||
                mx_cfg_process(again, NULL, &doc2, &err) < 0 || mx_cfg_emit(doc2, &out2, &err) < 0)
                fail_msg("%s: the processed config does not process: %s", f->yml, err.msg);
            if (strcmp(out.data, out2.data) != 0)
                fail_msg("%s: processing the output again changed it:\n%s", f->yml, out2.data);
            mx_buf_free(&out2);
            mx_node_free(doc2);
            mx_node_free(again);
        }
    }
    mx_plan_free(&plan);
    mx_buf_free(&out);
    mx_node_free(doc);
    mx_node_free(root);
    header_free(&h);
    free(text);
    free(expected);
    free(exp_path);
}

static int cmp_fixture(const void *a, const void *b)
{
    return strcmp(((const fixture *)a)->yml, ((const fixture *)b)->yml);
}

static int run_dir(const char *dir, int plan, size_t min)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", dir);
        return 1;
    }
    fixture *fx = NULL;
    size_t n = 0, nexpected = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 9 && strcmp(e->d_name + l - 9, ".expected") == 0) nexpected++;
        if (l <= 4 || strcmp(e->d_name + l - 4, ".yml") != 0) continue;
        fx = mx_xrealloc(fx, (n + 1) * sizeof *fx);
        fx[n++] = (fixture){mx_path_join(dir, e->d_name), dir, plan};
    }
    closedir(d);
    qsort(fx, n, sizeof *fx, cmp_fixture);
    struct CMUnitTest *tests = mx_xcalloc(n, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = strrchr(fx[i].yml, '/') + 1;
        tests[i].test_func = run_fixture;
        tests[i].initial_state = &fx[i];
    }
    int failed = 0;
    if (n < min || nexpected != n) {
        fprintf(stderr, "%zu fixtures and %zu .expected files in %s\n", n, nexpected, dir);
        failed = 1;
    }
    failed +=
        _cmocka_run_group_tests(plan ? "plan fixtures" : "process fixtures", tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(fx[i].yml);
    free(fx);
    free(tests);
    return failed;
}

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(mx_cfg_edit_distance("commmand", "command", 3), 1);
    assert_int_equal(mx_cfg_edit_distance("stpes", "steps", 3), 2);
    assert_int_equal(mx_cfg_edit_distance("", "abc", 5), 3);
    assert_int_equal(mx_cfg_edit_distance("kitten", "sitting", 5), 3);
    assert_int_equal(mx_cfg_edit_distance("abcdefgh", "zzzzzzzz", 2), 3); /* capped */
    static const char *const c[] = {"command", "name", "shell"};
    assert_string_equal(mx_cfg_suggest("comand", c, 3), "command");
    assert_null(mx_cfg_suggest("xyz", c, 3));
    assert_null(mx_cfg_suggest("environment", c, 3));
}

/* Strings that would read back as booleans, numbers or null keep their quotes. */
static void test_emit_quoting(void **state)
{
    (void)state;
    const char *in = "a: 'true'\nb: '1.0'\nc: plain\nd: \"\"\ne: true\nf: |\n  two\n  lines\n"
                     "g: 'x: y'\nh: '- not a list'\n";
    mx_node *root = NULL;
    mx_err err;
    assert_int_equal(mx_yaml_load_string("q.yml", in, strlen(in), &root, &err), 0);
    mx_buf out;
    mx_buf_init(&out);
    assert_int_equal(mx_cfg_emit(root, &out, &err), 0);
    assert_string_equal(out.data, "a: 'true'\nb: '1.0'\nc: plain\nd: ''\ne: true\nf: |\n  two\n"
                                  "  lines\ng: 'x: y'\nh: '- not a list'\n");
    mx_node *back = NULL;
    assert_int_equal(mx_yaml_load_string("back", out.data, out.len, &back, &err), 0);
    assert_true(mx_node_get(back, "a")->quoted);
    assert_false(mx_node_get(back, "e")->quoted);
    assert_string_equal(mx_node_get(back, "f")->value, "two\nlines\n");
    mx_node_free(back);
    mx_buf_free(&out);
    mx_node_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_emit_quoting),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    failed += run_dir(MX_PROCESS_FIXTURES, 0, 10);
    failed += run_dir(MX_PLAN_FIXTURES, 1, 5);
    return failed ? 1 : 0;
}
