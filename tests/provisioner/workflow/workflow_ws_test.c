/* A workflow run's workspace: which jobs are upstream of which (transitively), what one job
 * sees, and that removing it leaves nothing. */
#include "cfg_yaml.h"
#include "workflow_ws.h"
#include "test_util.h"

static const char config[] = "version: 2.1\n"
                             "jobs:\n"
                             "  build: { machine: true, steps: [checkout] }\n"
                             "  a: { machine: true, steps: [checkout] }\n"
                             "  b: { machine: true, steps: [checkout] }\n"
                             "  deploy: { machine: true, steps: [checkout] }\n"
                             "  lone: { machine: true, steps: [checkout] }\n"
                             "workflows:\n"
                             "  ci:\n"
                             "    jobs:\n"
                             "      - build\n"
                             "      - lone\n"
                             "      - a: { requires: [build] }\n"
                             "      - b: { requires: [build] }\n"
                             "      - deploy: { requires: [a, b] }\n";

static size_t pos(const mx_plan *p, const char *name)
{
    for (size_t i = 0; i < p->njobs; i++)
        if (strcmp(p->jobs[i].name, name) == 0) return i;
    fail_msg("no job %s", name);
    return 0;
}

static void test_views(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mx_host_config hc = {.state_dir = mx_path_join(dir, "jobs"),
                         .ws_layer_max_mib = 3,
                         .ws_max_mib = 7,
                         .ws_layer_timeout_s = 11};
    mx_node *root = NULL;
    mx_err err;
    assert_int_equal(mx_yaml_load_string("config.yml", config, strlen(config), &root, &err), 0);
    mx_plan plan;
    memset(&plan, 0, sizeof plan);
    mx_cfg_opts main_branch = {.branch = "main"};
    assert_int_equal(mx_cfg_plan_opts(root, "ci", &main_branch, &plan, &err), 0);
    mx_wf_ws ws;
    assert_int_equal(mx_wf_ws_create(&ws, &hc, &plan, &err), 0);
    char *root_dir = mx_wf_ws_root(&hc);
    assert_int_equal(strncmp(ws.dir, root_dir, strlen(root_dir)), 0);
    struct stat st;
    assert_int_equal(stat(ws.dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    mx_wf_view v;
    assert_int_equal(mx_wf_ws_view(&ws, &plan, pos(&plan, "deploy"), &v, &err), 0);
    /* deploy sees build, a and b (build through a and b), in workflow order, not lone */
    assert_int_equal(v.v.nupstream, 3);
    assert_string_equal(v.v.upstream[0].job, "build");
    assert_string_equal(v.v.upstream[1].job, "a");
    assert_string_equal(v.v.upstream[2].job, "b");
    /* build is before a and b; a and b are not ordered: their layers may conflict */
    assert_true(v.v.ordered[0 * 3 + 1] && v.v.ordered[0 * 3 + 2]);
    assert_false(v.v.ordered[1 * 3 + 2] || v.v.ordered[2 * 3 + 1]);
    assert_false(v.v.ordered[1 * 3 + 0]);
    assert_int_equal(stat(v.v.persist_dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* the host's limits reach the job, and what the run's jobs persisted is counted */
    assert_int_equal(v.v.layer_max_bytes, 3 << 20);
    assert_int_equal(v.v.max_bytes, 7 << 20);
    assert_int_equal(v.v.layer_timeout_s, 11);
    assert_string_equal(v.v.root, ws.dir);
    assert_int_equal(mx_ws_total_bytes(&v.v), 0);
    tu_write_free(v.v.persist_dir, "000.tar", "12345");
    tu_write_free(v.v.persist_dir, ".001.tar.Xy12ab", "123"); /* a download under way */
    tu_write_free(v.v.persist_dir, "stray", "1");
    assert_int_equal(mx_ws_total_bytes(&v.v), 8);
    mx_wf_view_free(&v);

    assert_int_equal(mx_wf_ws_view(&ws, &plan, pos(&plan, "lone"), &v, &err), 0);
    assert_int_equal(v.v.nupstream, 0);
    mx_wf_view_free(&v);

    char *ws_dir = mx_xstrdup(ws.dir);
    mx_wf_ws_remove(&ws);
    assert_false(mx_path_exists(ws_dir));
    mx_wf_ws_remove(&ws); /* twice is fine */
    free(ws_dir);
    free(root_dir);
    mx_plan_free(&plan);
    mx_node_free(root);
    free(hc.state_dir);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_views)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
