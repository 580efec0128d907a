/* cfg_process: 2.1 expansion and workflow plans, data-driven like cfg_job_test.
 *
 * tests/fixtures/config-process/NAME.yml + NAME.expected: `mexec config process` output, or
 * "error: TEXT" (TEXT must occur in the message; %DIR% stands for the fixture directory).
 * tests/fixtures/config-plan/NAME.yml + NAME.expected: the plan dump below, or "error: TEXT".
 * Leading comment lines of a .yml set options: "# param: K=V", "# branch: B", "# tag: T",
 * "# workflow: W".  To add a case, add the two files; nothing here changes. */
#include "cfg_fixture.h"

#include "cfg_process.h"
#include "cfg_suggest.h"
#include "cfg_yaml.h"

#if !defined(MX_PROCESS_FIXTURES) || !defined(MX_PLAN_FIXTURES)
#error "MX_PROCESS_FIXTURES and MX_PLAN_FIXTURES must name the fixture directories"
#endif

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
        if (j->noop) mx_buf_adds(&b, " no-op");
        if (j->serial_group) mx_buf_printf(&b, " serial-group %s", j->serial_group);
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

/* kind: 1 for a plan fixture, 0 for a process one */
static void run_fixture(void **state)
{
    const cfg_fixture *f = *state;
    int plan_fixture = f->kind;
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
    if (rc == 0 && plan_fixture) {
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
    if (cfg_fixture_check(f, rc, &err, out.data) && !plan_fixture) {
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
    mx_plan_free(&plan);
    mx_buf_free(&out);
    mx_node_free(doc);
    mx_node_free(root);
    header_free(&h);
    free(text);
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
    failed += cfg_fixture_run_dir("process fixtures", MX_PROCESS_FIXTURES, 0, 10, run_fixture);
    failed += cfg_fixture_run_dir("plan fixtures", MX_PLAN_FIXTURES, 1, 5, run_fixture);
    return failed ? 1 : 0;
}
