/* workspace: the layers an attach step unpacks and in which order, conflicts between upstream
 * jobs that may have run concurrently (checked on real tar files), layers a hostile guest could
 * write (symbolic links written through, "..", compressed, huge names), and layer names. */
#include "test_util.h"

#include "mx_proc.h"
#include "workspace.h"

/* dir/rel with contents, then packed as archive (relative to dir, members as `what` names
 * them: "x" or "./x"). */
static void make_layer(const char *dir, const char *archive, const char *const *what)
{
    mx_err err = {0};
    const char *argv[16] = {"tar", "-c", "-f", archive, "-C", dir};
    size_t n = 6;
    for (; *what && n < 15; what++)
        argv[n++] = *what;
    argv[n] = NULL;
    if (mx_proc_check(argv, NULL, NULL, &err) < 0) fail_msg("%s", err.msg);
}

typedef struct fixture {
    char *dir;
    char *layers[3]; /* dir/a, dir/b, dir/c */
    mx_ws_upstream up[3];
    unsigned char ordered[9];
    mx_ws_view view;
} fixture;

static int setup(void **state)
{
    fixture *f = mx_xcalloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    const char *jobs[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3; i++) {
        char *name = mx_xasprintf("layers-%s", jobs[i]);
        f->layers[i] = mx_path_join(f->dir, name);
        free(name);
        f->up[i] = (mx_ws_upstream){.job = jobs[i], .layers_dir = f->layers[i]};
    }
    f->view = (mx_ws_view){
        .persist_dir = "/ws/me", .upstream = f->up, .nupstream = 3, .ordered = f->ordered};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < 3; i++)
        free(f->layers[i]);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static void touch(const char *dir, const char *name)
{
    tu_mkdir(dir, 0700);
    tu_write_free(dir, name, "");
}

static void test_layers_in_order(void **state)
{
    fixture *f = *state;
    /* numeric order, not creation or string order; strangers ignored */
    const char *a[] = {"001.tar",   "010.tar",      "000.tar", "002.tar",
                       "notes.txt", ".003.tar.tmp", "0a.tar",  "4.tar.gz"};
    for (size_t i = 0; i < sizeof a / sizeof *a; i++)
        touch(f->layers[0], a[i]);
    /* b ran no persist step: no directory at all */
    touch(f->layers[2], "000.tar");
    mx_ws_layers l;
    mx_err err = {0};
    if (mx_ws_layers_list(&f->view, &l, &err) < 0) fail_msg("%s", err.msg);
    const char *want[] = {"layers-a/000.tar", "layers-a/001.tar", "layers-a/002.tar",
                          "layers-a/010.tar", "layers-c/000.tar"};
    const size_t want_up[] = {0, 0, 0, 0, 2};
    assert_int_equal(l.n, 5);
    for (size_t i = 0; i < l.n; i++) {
        char *p = mx_path_join(f->dir, want[i]);
        assert_string_equal(l.v[i].path, p);
        assert_int_equal(l.v[i].upstream, want_up[i]);
        free(p);
    }
    mx_ws_layers_free(&l);
    assert_null(l.v);
    assert_int_equal(l.n, 0);

    /* upstream order is the view's, whatever the names */
    mx_ws_upstream rev[] = {f->up[2], f->up[0]};
    mx_ws_view v = {.persist_dir = "/x", .upstream = rev, .nupstream = 2, .ordered = f->ordered};
    if (mx_ws_layers_list(&v, &l, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(l.n, 5);
    tu_assert_contains(l.v[0].path, "layers-c/000.tar");
    assert_int_equal(l.v[0].upstream, 0);
    tu_assert_contains(l.v[1].path, "layers-a/000.tar");
    assert_int_equal(l.v[1].upstream, 1);
    mx_ws_layers_free(&l);

    /* no upstream jobs: nothing */
    mx_ws_view none = {.persist_dir = "/x"};
    assert_int_equal(mx_ws_layers_list(&none, &l, &err), 0);
    assert_int_equal(l.n, 0);
    mx_ws_layers_free(&l);
}

static void test_layers_dir_unreadable(void **state)
{
    fixture *f = *state;
    tu_write_free(f->dir, "layers-b", "a file where a directory should be");
    mx_ws_layers l;
    mx_err err = {0};
    assert_int_equal(mx_ws_layers_list(&f->view, &l, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    tu_assert_contains(err.msg, f->layers[1]);
    assert_null(l.v); /* nothing left allocated */
}

static void test_layer_path(void **state)
{
    fixture *f = *state;
    char *p = mx_ws_layer_path(&f->view, 0);
    assert_string_equal(p, "/ws/me/000.tar");
    free(p);
    p = mx_ws_layer_path(&f->view, 12);
    assert_string_equal(p, "/ws/me/012.tar");
    free(p);
    p = mx_ws_layer_path(&f->view, 1000);
    assert_string_equal(p, "/ws/me/1000.tar");
    free(p);
}

/* Layers: a persisted out/x and out/shared/ (a directory); b out/y and out/shared/; c ./out/x
 * (the same file as a's, named as `persist_to_workspace: paths: [.]` would). */
static void make_layers(fixture *f)
{
    char *src = mx_path_join(f->dir, "src");
    tu_write_free(src, "out/x", "x");
    tu_write_free(src, "out/y", "y");
    tu_write_free(src, "out/shared/keep", "");
    for (size_t i = 0; i < 3; i++)
        tu_mkdir(f->layers[i], 0700);
    char *la = mx_path_join(f->layers[0], "000.tar");
    char *la2 = mx_path_join(f->layers[0], "001.tar");
    char *lb = mx_path_join(f->layers[1], "000.tar");
    char *lc = mx_path_join(f->layers[2], "000.tar");
    const char *a[] = {"out/x", NULL};
    const char *a2[] = {"--no-recursion", "out/shared/", "out/x", NULL};
    const char *b[] = {"--no-recursion", "out/", "out/shared/", "out/y", NULL};
    const char *c[] = {"./out/x", NULL};
    make_layer(src, la, a);
    make_layer(src, la2, a2); /* a's own two layers share out/x: a later layer, no conflict */
    make_layer(src, lb, b);
    make_layer(src, lc, c);
    free(la);
    free(la2);
    free(lb);
    free(lc);
    free(src);
}

static char *conflict_of(fixture *f)
{
    mx_ws_layers l;
    mx_err err = {0};
    if (mx_ws_layers_list(&f->view, &l, &err) < 0) fail_msg("%s", err.msg);
    char *conflict = (char *)"unset";
    if (mx_ws_check_layers(&f->view, &l, &conflict, &err) < 0) fail_msg("%s", err.msg);
    mx_ws_layers_free(&l);
    return conflict;
}

static void test_conflict(void **state)
{
    fixture *f = *state;
    make_layers(f);
    /* all three concurrent: a and c both have out/x */
    char *c = conflict_of(f);
    assert_non_null(c);
    tu_assert_contains(c, "\"out/x\"");
    tu_assert_contains(c, "both \"a\" and \"c\"");
    free(c);

    /* c requires a: c's out/x overwrites a's, as intended */
    f->ordered[0 * 3 + 2] = 1;
    assert_null(conflict_of(f));
    /* either direction of the relation counts */
    f->ordered[0 * 3 + 2] = 0;
    f->ordered[2 * 3 + 0] = 1;
    assert_null(conflict_of(f));

    /* a and b alone share only directories (out/shared/): never a conflict */
    memset(f->ordered, 0, sizeof f->ordered);
    f->view.nupstream = 2;
    assert_null(conflict_of(f));
}

static void test_conflict_first_pair_and_path(void **state)
{
    fixture *f = *state;
    char *src = mx_path_join(f->dir, "src");
    tu_write_free(src, "z", "");
    tu_write_free(src, "m", "");
    tu_write_free(src, "b", "");
    const char *zm[] = {"z", "m", NULL};
    const char *mz[] = {"m", "z", NULL};
    const char *bz[] = {"b", "z", NULL};
    for (size_t i = 0; i < 3; i++)
        tu_mkdir(f->layers[i], 0700);
    char *la = mx_path_join(f->layers[0], "000.tar");
    char *lb = mx_path_join(f->layers[1], "000.tar");
    char *lc = mx_path_join(f->layers[2], "000.tar");
    make_layer(src, la, zm);
    make_layer(src, lb, bz);
    make_layer(src, lc, mz);
    /* a and b are ordered; a-c (m and z) and b-c (z) conflict: a-c is reported, with the
     * first path in byte order */
    f->ordered[0 * 3 + 1] = 1;
    char *c = conflict_of(f);
    assert_non_null(c);
    tu_assert_contains(c, "\"m\" is in");
    tu_assert_contains(c, "both \"a\" and \"c\"");
    free(c);
    free(la);
    free(lb);
    free(lc);
    free(src);
}

/* A layer that is no tar is the job's problem: the attach is refused, naming it. */
static void test_bad_layer_refused(void **state)
{
    fixture *f = *state;
    make_layers(f);
    tu_write_free(f->layers[1], "003.tar", "this is not a tar file, and is long enough to tell");
    char *c = conflict_of(f);
    assert_non_null(c);
    tu_assert_contains(c, "workspace layer 003.tar of job \"b\": not a plain tar archive");
    free(c);
}

/* Layers written the way a hostile guest could: each is refused, naming the layer, the job and
 * what is wrong.  ws_layer.py writes them (GNU tar would not write most of these). */
static void hostile(fixture *f, size_t job, const char *name, const char *const *members)
{
    char *out = mx_path_join(f->layers[job], name);
    tu_mkdir(f->layers[job], 0700);
    const char *argv[32] = {MX_WS_LAYER_PY, out};
    size_t n = 2;
    for (; *members && n < 31; members++)
        argv[n++] = *members;
    argv[n] = NULL;
    mx_err err = {0};
    if (mx_proc_check(argv, NULL, NULL, &err) < 0) fail_msg("%s", err.msg);
    free(out);
}

/* The case: an earlier layer makes d -> /home/circleci, a later one writes d/.bashrc;
 * GNU tar in the downstream guest would follow the link out of the attach directory. */
static void test_symlink_escape_across_layers(void **state)
{
    fixture *f = *state;
    /* b requires a, c requires b: ordered, so nothing else stands in the way */
    f->ordered[0 * 3 + 1] = f->ordered[1 * 3 + 2] = f->ordered[0 * 3 + 2] = 1;
    hostile(f, 0, "000.tar", (const char *const[]){"l:d=/home/circleci", "f:ok", NULL});
    hostile(f, 1, "000.tar", (const char *const[]){"d:d", "f:d/.bashrc", NULL});
    char *c = conflict_of(f);
    assert_non_null(c);
    tu_assert_contains(c, "\"d/.bashrc\" in workspace layer 000.tar of job \"b\" would be written "
                          "through the symbolic link \"d\" that layer 000.tar of job \"a\" made");
    free(c);
    /* the same through a deeper path, a "./" spelling, and within one job's layers */
    tu_rmdir(mx_xstrdup(f->layers[1]));
    hostile(f, 1, "000.tar", (const char *const[]){"f:./d//sub/x", NULL});
    c = conflict_of(f);
    assert_non_null(c);
    tu_assert_contains(c, "\"d/sub/x\" in workspace layer 000.tar of job \"b\"");
    free(c);
    tu_rmdir(mx_xstrdup(f->layers[1]));
    hostile(f, 0, "001.tar", (const char *const[]){"f:d/x", NULL});
    c = conflict_of(f);
    assert_non_null(c);
    tu_assert_contains(c, "layer 001.tar of job \"a\" would be written through the symbolic "
                          "link \"d\" that layer 000.tar of job \"a\" made");
    free(c);
}

static void test_hardlink_through_symlink(void **state)
{
    fixture *f = *state;
    f->ordered[0 * 3 + 1] = 1;
    hostile(f, 0, "000.tar", (const char *const[]){"l:etc=/etc", NULL});
    hostile(f, 1, "000.tar", (const char *const[]){"h:pw=etc/passwd", NULL});
    char *c = conflict_of(f);
    assert_non_null(c);
    tu_assert_contains(c, "\"pw\" in workspace layer 000.tar of job \"b\" is a hard link through "
                          "the symbolic link \"etc\"");
    free(c);
}

/* What the host will not read: compressed layers (never inflated here), "..", huge names. */
static void test_layer_shapes_refused(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *members[3];
        const char *why;
    } cases[] = {
        {{"--gzip", "f:x", NULL}, "not a plain tar archive"},
        {{"f:../escape", NULL}, "member \"../escape\" has a \"..\" component"},
        {{"l:ok=../../etc", "f:a/../../x", NULL}, "has a \"..\" component"},
        {{"h:x=../y", NULL}, "a hard link points to \"../y\", which has a \"..\" component"},
        {{"f:LONG", NULL}, "a member name is missing or longer than 4096 bytes"},
    };
    char *longname = mx_xmalloc(5002);
    memcpy(longname, "f:", 2);
    memset(longname + 2, 'n', 4999);
    longname[5001] = '\0';
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *m[3] = {cases[i].members[0], cases[i].members[1], NULL};
        if (strcmp(m[0], "f:LONG") == 0) m[0] = longname;
        tu_rmdir(mx_xstrdup(f->layers[2]));
        hostile(f, 2, "000.tar", m);
        char *c = conflict_of(f);
        if (!c) fail_msg("case %zu accepted", i);
        tu_assert_contains(c, "workspace layer 000.tar of job \"c\": ");
        tu_assert_contains(c, cases[i].why);
        free(c);
    }
    free(longname);
    /* a symlink whose target leaves is fine on its own (tar writes links as they are); so is
     * an absolute member name (tar strips the "/") */
    tu_rmdir(mx_xstrdup(f->layers[2]));
    hostile(f, 2, "000.tar", (const char *const[]){"l:up=../../etc", "f:/abs", NULL});
    assert_null(conflict_of(f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layers_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_dir_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_first_pair_and_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_layer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_escape_across_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hardlink_through_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_shapes_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
