/* `circleci tests split` and `tests glob`: the split algorithms and glob matching as functions,
 * then the built mexec-agent invoked as `circleci` (a symlink, as the agent installs it) over
 * real files: every node's share, disjoint and together covering the input. */
#include "test_util.h"

#include "agent_split.h"

#include <sys/wait.h>

#ifndef MX_AGENT_PATH
#error "MX_AGENT_PATH must name the built mexec-agent"
#endif

static void assign(const char *const *names, const double *w, size_t n, int total, int *node)
{
    mx_split_item items[64];
    for (size_t i = 0; i < n; i++)
        items[i] = (mx_split_item){names[i], w ? w[i] : 1};
    mx_split_assign(items, n, total, node);
}

static void test_split_by_name_round_robin(void **state)
{
    (void)state;
    /* input order does not matter: names are dealt in sorted order */
    const char *names[] = {"d", "b", "a", "e", "c"};
    int node[5];
    assign(names, NULL, 5, 2, node);
    /* sorted: a b c d e -> 0 1 0 1 0 */
    assert_int_equal(node[2], 0); /* a */
    assert_int_equal(node[1], 1); /* b */
    assert_int_equal(node[4], 0); /* c */
    assert_int_equal(node[0], 1); /* d */
    assert_int_equal(node[3], 0); /* e */
}

static void test_split_weights_balance(void **state)
{
    (void)state;
    /* heaviest first to the lightest node: 8 -> n0, 5 -> n1, 4 -> n2, 3 -> n2 (7), 2 -> n1
     * (7), 1 -> n1 (8; n1 and n2 tie at 7, the lower index wins) */
    const char *names[] = {"a", "b", "c", "d", "e", "f"};
    double w[] = {1, 8, 3, 5, 2, 4};
    int node[6];
    assign(names, w, 6, 3, node);
    double load[3] = {0};
    for (int i = 0; i < 6; i++)
        load[node[i]] += w[i];
    assert_int_equal(node[1], 0); /* the heaviest alone */
    assert_true(load[0] == 8 && load[1] == 8 && load[2] == 7);
    assert_int_equal(node[0], 1);
}

static void test_split_unknown_weights_are_mean(void **state)
{
    (void)state;
    const char *names[] = {"a", "b", "c", "d"};
    double w[] = {10, -1, 2, -1}; /* unknowns count 6 each */
    int node[4];
    assign(names, w, 4, 2, node);
    /* 10(a) -> n0; 6(b) -> n1; 6(d) -> n1 (12); 2(c) -> n0 (12) */
    assert_int_equal(node[0], 0);
    assert_int_equal(node[1], 1);
    assert_int_equal(node[3], 1);
    assert_int_equal(node[2], 0);
}

static void test_split_more_nodes_than_names(void **state)
{
    (void)state;
    const char *names[] = {"x", "y"};
    int node[2];
    assign(names, NULL, 2, 5, node);
    assert_int_equal(node[0], 0);
    assert_int_equal(node[1], 1);
}

static void test_dedup_keeps_first(void **state)
{
    (void)state;
    char *v[] = {mx_xstrdup("b"), mx_xstrdup("a"), mx_xstrdup("b"), mx_xstrdup("c"),
                 mx_xstrdup("a")};
    size_t n = mx_split_dedup(v, 5);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "b");
    assert_string_equal(v[1], "a");
    assert_string_equal(v[2], "c");
    for (size_t i = 0; i < n; i++)
        free(v[i]);
}

static void test_glob_match(void **state)
{
    (void)state;
    assert_true(mx_glob_match("**/*.js", "a.js"));
    assert_true(mx_glob_match("**/*.js", "src/x/y/a.js"));
    assert_true(mx_glob_match("src/**/*.js", "src/a.js"));
    assert_true(mx_glob_match("src/**/test_*.py", "src/a/b/test_x.py"));
    assert_false(mx_glob_match("src/*.js", "src/a/b.js")); /* * stays in its segment */
    assert_true(mx_glob_match("src/*.js", "./src/b.js"));
    assert_true(mx_glob_match("*.js", ".hidden.js")); /* dot files match like any other */
    assert_false(mx_glob_match("**/*.js", "a.jsx"));
    assert_true(mx_glob_match("t/?.[ab]", "t/x.b"));
    assert_false(mx_glob_match("t/?.[ab]", "t/xy.b"));
    assert_true(mx_glob_match("/abs/**", "/abs/x/y"));
}

static void test_glob_braces(void **state)
{
    (void)state;
    char *out[16];
    int n = mx_glob_braces("src/**/*.{js,ts}", out, 16);
    assert_int_equal(n, 2);
    assert_string_equal(out[0], "src/**/*.js");
    assert_string_equal(out[1], "src/**/*.ts");
    for (int i = 0; i < n; i++)
        free(out[i]);
    n = mx_glob_braces("{a,b{c,d}}/x", out, 16);
    assert_int_equal(n, 3);
    assert_string_equal(out[0], "a/x");
    assert_string_equal(out[1], "bc/x");
    assert_string_equal(out[2], "bd/x");
    for (int i = 0; i < n; i++)
        free(out[i]);
    n = mx_glob_braces("{x}", out, 16); /* no comma: not an alternative */
    assert_int_equal(n, 1);
    assert_string_equal(out[0], "{x}");
    free(out[0]);
    assert_int_equal(mx_glob_braces("{a,b}{c,d}{e,f}", out, 4), -1);
}

static void test_glob_base(void **state)
{
    (void)state;
    char *b = mx_glob_base("src/**/x.js");
    assert_string_equal(b, "src");
    free(b);
    b = mx_glob_base("**/*.js");
    assert_string_equal(b, ".");
    free(b);
    b = mx_glob_base("/a/b/*.c");
    assert_string_equal(b, "/a/b");
    free(b);
    b = mx_glob_base("a/b/c.txt");
    assert_string_equal(b, "a/b");
    free(b);
}

/* ---- the built agent as `circleci` ---- */

typedef struct cli {
    char *dir;  /* the test tree (cwd of the runs) */
    char *link; /* DIR/bin/circleci -> the agent */
} cli;

static void cli_init(cli *c)
{
    c->dir = tu_mkdtemp();
    char *bin = mx_path_join(c->dir, "bin");
    tu_mkdir(bin, 0755);
    c->link = mx_path_join(bin, "circleci");
    assert_int_equal(symlink(MX_AGENT_PATH, c->link), 0);
    free(bin);
}

static void cli_free(cli *c)
{
    free(c->link);
    tu_rmdir(c->dir);
}

/* Runs `circleci ARGS` in c->dir with input on stdin and env; its stdout (caller frees). */
static char *run_cli(const cli *c, const char *input, char *const *env, const char *args, int *rc)
{
    char *in = tu_write(c->dir, ".stdin", input ? input : "");
    char *cmd = mx_xasprintf("cd '%s' && '%s' %s <'%s'", c->dir, c->link, args, in);
    char *saved[8] = {0};
    size_t ne = 0;
    for (char *const *e = env; e && *e && ne < 8; e++, ne++) {
        char *k = mx_xstrndup(*e, strcspn(*e, "="));
        const char *old = getenv(k);
        saved[ne] = old ? mx_xstrdup(old) : NULL;
        setenv(k, strchr(*e, '=') + 1, 1);
        free(k);
    }
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    mx_buf b;
    mx_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        mx_buf_add(&b, chunk, n);
    int st = pclose(p);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    /* the test process's own environment as it was */
    for (size_t i = 0; i < ne; i++) {
        char *k = mx_xstrndup(env[i], strcspn(env[i], "="));
        if (saved[i])
            setenv(k, saved[i], 1);
        else
            unsetenv(k);
        free(saved[i]);
        free(k);
    }
    free(cmd);
    free(in);
    mx_buf_adds(&b, "");
    return mx_buf_steal(&b);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_cli_glob(void **state)
{
    (void)state;
    cli c;
    cli_init(&c);
    tu_write_free(c.dir, "src/a.js", "");
    tu_write_free(c.dir, "src/b.ts", "");
    tu_write_free(c.dir, "src/deep/er/c.js", "");
    tu_write_free(c.dir, "other/d.js", "");
    int rc;
    char *out = run_cli(&c, NULL, NULL, "tests glob 'src/**/*.{js,ts}'", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "src/a.js\nsrc/b.ts\nsrc/deep/er/c.js\n");
    free(out);
    out = run_cli(&c, NULL, NULL, "tests glob '**/*.js' 'src/a.js'", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "other/d.js\nsrc/a.js\nsrc/deep/er/c.js\n");
    free(out);
    cli_free(&c);
}

/* Every node's share by `mode`: together exactly the names, each once. */
static void check_shares(const cli *c, const char *names, int nnames, const char *args,
                         char *const *extra_env)
{
    int seen = 0;
    char *all = mx_xstrdup("");
    for (int i = 0; i < 3; i++) {
        char idx[32];
        snprintf(idx, sizeof idx, "CIRCLE_NODE_INDEX=%d", i);
        char *env[4] = {idx, "CIRCLE_NODE_TOTAL=3", extra_env ? extra_env[0] : NULL, NULL};
        int rc;
        char *out = run_cli(c, names, env, args, &rc);
        assert_int_equal(rc, 0);
        assert_true(count_lines(out) >= 1); /* 3 nodes, 6+ names: nobody idle */
        seen += count_lines(out);
        /* disjoint: no line of this share was in an earlier one */
        for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
            char *needle = mx_xasprintf("\n%s\n", l);
            tu_assert_not_contains(all, needle);
            char *grown = mx_xasprintf("%s\n%s\n", all, l);
            free(all);
            all = grown;
            free(needle);
        }
        free(out);
    }
    assert_int_equal(seen, nnames);
    free(all);
}

static void test_cli_split_modes(void **state)
{
    (void)state;
    cli c;
    cli_init(&c);
    const char *names = "t/a.py\nt/b.py t/c.py\nt/d.py\nt/e.py\nt/f.py\nt/g.py\n";
    const char *sizes[] = {"a", "bbbbbbbbbbbb", "cc", "dddddd", "e", "ffff", "ggggggggg"};
    for (int i = 0; i < 7; i++) {
        char name[16];
        snprintf(name, sizeof name, "t/%c.py", 'a' + i);
        tu_write_free(c.dir, name, sizes[i]);
    }
    check_shares(&c, names, 7, "tests split", NULL);
    check_shares(&c, names, 7, "tests split --split-by=filesize", NULL);
    char *tf = tu_write(c.dir, "timings.json",
                        "[{\"file\":\"./t/a.py\",\"classname\":\"A\",\"name\":\"x\",\"time\":9},"
                        "{\"file\":\"t/b.py\",\"classname\":\"B\",\"name\":\"y\",\"time\":1},"
                        "{\"file\":\"t/b.py\",\"classname\":\"B\",\"name\":\"z\",\"time\":2}]");
    char *env = mx_xasprintf("MEXEC_TEST_TIMINGS=%s", tf);
    char *ev[] = {env};
    check_shares(&c, names, 7, "tests split --split-by=timings", ev);
    /* a (9 s) -> n0; c..g count 6 (the mean): c -> n1, d -> n2, e -> n1, f -> n2, g -> n0;
     * b (3 s) -> n1 */
    char *e2[] = {"CIRCLE_NODE_INDEX=0", "CIRCLE_NODE_TOTAL=3", env, NULL};
    int rc;
    char *out =
        run_cli(&c, names, e2, "tests split --split-by=timings --timings-type=filename", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "t/a.py\nt/g.py\n");
    free(out);
    free(env);
    free(tf);
    cli_free(&c);
}

static void test_cli_run_and_usage(void **state)
{
    (void)state;
    cli c;
    cli_init(&c);
    char *env[] = {"CIRCLE_NODE_INDEX=1", "CIRCLE_NODE_TOTAL=2", NULL};
    int rc;
    char *out = run_cli(&c, "a b c d", env, "tests run --command='sed s/^/got:/'", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "got:b\ngot:d\n");
    free(out);
    out = run_cli(&c, "", NULL, "tests split --split-by=bogus 2>/dev/null", &rc);
    assert_int_equal(rc, 2);
    free(out);
    /* PATH has no other circleci: an unknown command says what this one does */
    char *only = mx_xasprintf("PATH=%s/bin", c.dir);
    char *alone[] = {only, NULL};
    out = run_cli(&c, "", alone, "orb validate 2>&1", &rc);
    assert_int_equal(rc, 2);
    tu_assert_contains(out, "circleci tests glob");
    free(out);
    /* an image's own circleci later on PATH gets what this one does not do */
    tu_write_free(c.dir, "real/circleci", "#!/bin/sh\necho \"real circleci: $*\"\n");
    char *real = mx_path_join(c.dir, "real/circleci");
    assert_int_equal(chmod(real, 0755), 0);
    char *both = mx_xasprintf("PATH=%s/bin:%s/real:/usr/bin:/bin", c.dir, c.dir);
    char *next[] = {both, NULL};
    out = run_cli(&c, "", next, "orb validate x.yml", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "real circleci: orb validate x.yml\n");
    free(out);
    free(real);
    free(both);
    free(only);
    cli_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_by_name_round_robin),
        cmocka_unit_test(test_split_weights_balance),
        cmocka_unit_test(test_split_unknown_weights_are_mean),
        cmocka_unit_test(test_split_more_nodes_than_names),
        cmocka_unit_test(test_dedup_keeps_first),
        cmocka_unit_test(test_glob_match),
        cmocka_unit_test(test_glob_braces),
        cmocka_unit_test(test_glob_base),
        cmocka_unit_test(test_cli_glob),
        cmocka_unit_test(test_cli_split_modes),
        cmocka_unit_test(test_cli_run_and_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
