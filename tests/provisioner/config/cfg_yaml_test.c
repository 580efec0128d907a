/* cfg_yaml: nodes know their file:line:col, scalars know whether they were quoted, anchors and
 * merge keys are resolved, and hostile input is refused with a position. */
#include "test_util.h"

#include "cfg_yaml.h"

static mx_node *load(const char *text)
{
    mx_node *root = NULL;
    mx_err err = {0};
    if (mx_yaml_load_string("t.yml", text, strlen(text), &root, &err) < 0)
        fail_msg("load failed: %s", err.msg);
    assert_non_null(root);
    return root;
}

static void load_fails(const char *text, const char *want)
{
    mx_node *root = NULL;
    mx_err err = {0};
    if (mx_yaml_load_string("t.yml", text, strlen(text), &root, &err) == 0) {
        mx_node_free(root);
        fail_msg("accepted: %s", text);
    }
    assert_null(root);
    assert_int_equal(err.status, MX_USAGE);
    tu_assert_contains(err.msg, want);
}

static void assert_pos(const mx_node *n, int line, int col)
{
    assert_non_null(n);
    if (n->line != line || n->col != col)
        fail_msg("node \"%s\" at %d:%d, want %d:%d", n->value ? n->value : "(collection)", n->line,
                 n->col, line, col);
    assert_string_equal(n->file, "t.yml");
}

static void test_positions(void **state)
{
    (void)state;
    mx_node *root = load("version: 2.1\n"
                         "jobs:\n"
                         "  build:\n"
                         "    steps:\n"
                         "      - checkout\n"
                         "      - run:   echo hi\n"
                         "    flow: [a, \"b\"]\n");
    assert_int_equal(root->kind, MX_NODE_MAP);
    assert_pos(root, 1, 1);
    assert_pos(root->keys[0], 1, 1);
    assert_pos(mx_node_get(root, "version"), 1, 10);
    const mx_node *jobs = mx_node_get(root, "jobs");
    assert_pos(root->keys[1], 2, 1);
    assert_pos(jobs, 3, 3);
    const mx_node *build = mx_node_get(jobs, "build");
    const mx_node *steps = mx_node_get(build, "steps");
    assert_int_equal(steps->kind, MX_NODE_SEQ);
    assert_int_equal(steps->n, 2);
    assert_pos(steps, 5, 7);
    assert_pos(steps->items[0], 5, 9);
    assert_pos(steps->items[1], 6, 9);
    assert_pos(mx_node_get(steps->items[1], "run"), 6, 16);
    const mx_node *flow = mx_node_get(build, "flow");
    assert_pos(flow, 7, 11);
    assert_pos(flow->items[1], 7, 15);
    mx_node_free(root);
}

static void test_quoted_vs_plain(void **state)
{
    (void)state;
    mx_node *root = load("plain: true\n"
                         "single: 'true'\n"
                         "double: \"true\"\n"
                         "literal: |\n"
                         "  true\n"
                         "folded: >-\n"
                         "  yes\n"
                         "empty:\n"
                         "tilde: ~\n"
                         "null_word: Null\n"
                         "quoted_null: 'null'\n"
                         "quoted_empty: ''\n"
                         "number: 0755\n"
                         "escaped: \"a\\tb\\u00e9\"\n");
    const mx_node *n = mx_node_get(root, "plain");
    assert_false(n->quoted);
    assert_string_equal(n->value, "true");
    assert_true(mx_node_get(root, "single")->quoted);
    assert_string_equal(mx_node_get(root, "single")->value, "true");
    assert_true(mx_node_get(root, "double")->quoted);
    assert_true(mx_node_get(root, "literal")->quoted);
    assert_string_equal(mx_node_get(root, "literal")->value, "true\n");
    assert_true(mx_node_get(root, "folded")->quoted);
    assert_string_equal(mx_node_get(root, "folded")->value, "yes");
    assert_string_equal(mx_node_get(root, "number")->value, "0755"); /* text kept as written */
    assert_string_equal(mx_node_get(root, "escaped")->value, "a\tb\xc3\xa9");

    assert_true(mx_node_is_null(mx_node_get(root, "empty")));
    assert_true(mx_node_is_null(mx_node_get(root, "tilde")));
    assert_true(mx_node_is_null(mx_node_get(root, "null_word")));
    assert_true(mx_node_is_null(NULL));
    assert_false(mx_node_is_null(mx_node_get(root, "quoted_null")));
    assert_false(mx_node_is_null(mx_node_get(root, "quoted_empty")));
    assert_false(mx_node_is_null(mx_node_get(root, "plain")));
    assert_false(mx_node_is_null(root));
    assert_null(mx_node_get(root, "missing"));
    assert_null(mx_node_get(mx_node_get(root, "plain"), "x")); /* not a map */
    mx_node_free(root);
}

static void test_bool(void **state)
{
    (void)state;
    mx_node *root = load("t: [true, True, TRUE, yes, Yes, on, ON, y, Y]\n"
                         "f: [false, False, FALSE, no, No, off, OFF, n, N]\n"
                         "bad: ['true', \"yes\", 1, 0, truthy, '', [true], {a: b}]\n");
    const mx_node *t = mx_node_get(root, "t"), *f = mx_node_get(root, "f"),
                  *bad = mx_node_get(root, "bad");
    for (size_t i = 0; i < t->n; i++) {
        int b = -1;
        assert_int_equal(mx_node_bool(t->items[i], &b), 0);
        assert_int_equal(b, 1);
    }
    for (size_t i = 0; i < f->n; i++) {
        int b = -1;
        assert_int_equal(mx_node_bool(f->items[i], &b), 0);
        assert_int_equal(b, 0);
    }
    for (size_t i = 0; i < bad->n; i++) {
        int b = 42;
        if (mx_node_bool(bad->items[i], &b) != -1)
            fail_msg("item %zu (%s) taken as a bool", i, bad->items[i]->value);
        assert_int_equal(b, 42); /* untouched */
    }
    int b;
    assert_int_equal(mx_node_bool(NULL, &b), -1);
    mx_node_free(root);
}

static void test_kind_names(void **state)
{
    (void)state;
    mx_node *root = load("m: {a: 1}\ns: [1]\nv: x\n");
    assert_string_equal(mx_node_kind_name(mx_node_get(root, "m")), "a map");
    assert_string_equal(mx_node_kind_name(mx_node_get(root, "s")), "a list");
    assert_string_equal(mx_node_kind_name(mx_node_get(root, "v")), "a scalar");
    assert_string_equal(mx_node_kind_name(NULL), "nothing");
    mx_node_free(root);
}

static void test_anchors_and_merge(void **state)
{
    (void)state;
    mx_node *root = load("base: &base\n"
                         "  a: 1\n"
                         "  b: 2\n"
                         "more: &more {c: 3, a: from-more}\n"
                         "list: &list [x, y]\n"
                         "one:\n"
                         "  <<: *base\n"
                         "  b: override\n"
                         "two:\n"
                         "  <<: [*base, *more]\n"
                         "  z: first\n"
                         "  y: last\n"
                         "copy: *list\n"
                         "'<<': quoted key is an ordinary key\n");
    const mx_node *one = mx_node_get(root, "one");
    assert_int_equal(one->n, 2);
    assert_string_equal(mx_node_get(one, "a")->value, "1");
    assert_string_equal(mx_node_get(one, "b")->value, "override");
    assert_null(mx_node_get(one, "<<"));
    const mx_node *two = mx_node_get(root, "two");
    assert_int_equal(two->n, 5);
    /* written keys keep their order, merged ones follow; earlier merged maps win */
    assert_string_equal(two->keys[0]->value, "z");
    assert_string_equal(two->keys[1]->value, "y");
    assert_string_equal(mx_node_get(two, "a")->value, "1");
    assert_string_equal(mx_node_get(two, "b")->value, "2");
    assert_string_equal(mx_node_get(two, "c")->value, "3");
    const mx_node *copy = mx_node_get(root, "copy");
    assert_int_equal(copy->kind, MX_NODE_SEQ);
    assert_int_equal(copy->n, 2);
    assert_string_equal(copy->items[1]->value, "y");
    assert_string_equal(mx_node_get(root, "<<")->value, "quoted key is an ordinary key");
    /* an alias is a copy: it does not share nodes with its anchor */
    assert_ptr_not_equal(copy, mx_node_get(root, "list"));
    assert_ptr_not_equal(copy->items[0], mx_node_get(root, "list")->items[0]);
    mx_node_free(root);
}

static void test_merge_errors(void **state)
{
    (void)state;
    load_fails("s: &s hello\nm:\n  <<: *s\n", "a merge key (<<) takes a map or a list of maps");
    load_fails("m:\n  <<: [{a: 1}, [x]]\n", "t.yml:2:16: a merge key");
    load_fails("a: *nope\n", "t.yml:1:4: unknown anchor *nope");
    /* an anchor is known only after its node: no self reference */
    load_fails("a: &x [*x]\n", "unknown anchor *x");
}

static void test_duplicate_and_bad_keys(void **state)
{
    (void)state;
    load_fails("a: 1\nb: 2\na: 3\n", "t.yml:3:1: duplicate key \"a\"");
    load_fails("m:\n  k: 1\n  'k': 2\n", "t.yml:3:3: duplicate key \"k\"");
    load_fails("? [a, b]\n: v\n", "t.yml:1:3: map keys must be plain strings");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    load_fails("a: [1, 2\n", "t.yml:2:1:");
    load_fails("a: b: c\n", "t.yml:1:5: mapping values are not allowed in this context");
    load_fails("key: \"unterminated\n", "t.yml:2:1: found unexpected end of stream");
    load_fails("", "t.yml:1:1: the file is empty");
    load_fails("# only a comment\n", "the file is empty");
    load_fails("a: 1\n---\nb: 2\n", "t.yml:2:1: only one YAML document is allowed");
}

static char *nested(char open, char close, int depth, const char *inner)
{
    mx_buf b;
    mx_buf_init(&b);
    for (int i = 0; i < depth; i++)
        mx_buf_add(&b, &open, 1);
    mx_buf_adds(&b, inner);
    for (int i = 0; i < depth; i++)
        mx_buf_add(&b, &close, 1);
    return mx_buf_steal(&b);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    /* 256 nested lists (the document itself is level 0) load */
    char *ok = nested('[', ']', 256, "x");
    mx_node *root = load(ok);
    const mx_node *n = root;
    int depth = 0;
    while (n->kind == MX_NODE_SEQ) {
        n = n->items[0];
        depth++;
    }
    assert_int_equal(depth, 256);
    assert_string_equal(n->value, "x");
    mx_node_free(root);
    free(ok);
    /* one more is refused with the position of the first node too deep */
    char *deep = nested('[', ']', 258, "x");
    load_fails(deep, "t.yml:1:258: nesting deeper than 256 levels");
    free(deep);
    /* very deep input is refused without exhausting the stack */
    char *hostile = nested('[', ']', 100000, "");
    load_fails(hostile, "nesting deeper than 256 levels");
    free(hostile);
    /* maps count the same way */
    mx_buf b;
    mx_buf_init(&b);
    for (int i = 0; i < 300; i++)
        mx_buf_adds(&b, "{a: ");
    mx_buf_adds(&b, "x");
    for (int i = 0; i < 300; i++)
        mx_buf_adds(&b, "}");
    load_fails(b.data, "nesting deeper than 256 levels");
    mx_buf_free(&b);
}

static void test_copy(void **state)
{
    (void)state;
    mx_node *root = load("a: {b: [1, '2', {c: d}]}\n");
    mx_node *c = mx_node_copy(root);
    mx_node_free(root); /* the copy owns everything it points to */
    const mx_node *b = mx_node_get(mx_node_get(c, "a"), "b");
    assert_int_equal(b->n, 3);
    assert_true(b->items[1]->quoted);
    assert_false(b->items[0]->quoted);
    assert_string_equal(mx_node_get(b->items[2], "c")->value, "d");
    assert_pos(b->items[2], 1, 17);
    mx_node_free(c);
    mx_node_free(NULL);
}

static void test_load_file(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = tu_write(dir, "conf.yml", "x:\n  - y\n");
    mx_node *root = NULL;
    mx_err err = {0};
    assert_int_equal(mx_yaml_load_file(path, &root, &err), 0);
    assert_string_equal(root->file, path);
    assert_int_equal(mx_node_get(root, "x")->items[0]->line, 2);
    mx_node_free(root);
    root = NULL;
    char *missing = mx_path_join(dir, "missing.yml");
    assert_int_equal(mx_yaml_load_file(missing, &root, &err), -1);
    assert_null(root);
    tu_assert_contains(err.msg, missing);
    free(missing);
    free(path);
    tu_rmdir(dir);
}

/* The node limit counts copies: an alias bomb stops at the first alias over it, a config just
 * under it loads, and merges and anchors count too. */
static void test_node_limit(void **state)
{
    (void)state;
    /* nine levels of nine aliases: 9^9 nodes if copied; the second alias of line 6 is over */
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "x0: &a0 [l,l,l,l,l,l,l,l,l]\n");
    for (int i = 1; i < 10; i++) {
        mx_buf_printf(&b, "x%d: &a%d [", i, i);
        for (int k = 0; k < 9; k++)
            mx_buf_printf(&b, "%s*a%d", k ? "," : "", i - 1);
        mx_buf_adds(&b, "]\n");
    }
    load_fails(b.data, "t.yml:6:14: alias *a4 makes the config larger than 250000 nodes");
    mx_buf_free(&b);
    /* a list of n scalars is n + 1 nodes, the map holding it 3 more (map, key, the list):
     * exactly the limit loads, one more node does not, naming where it would be */
    for (int extra = 0; extra < 2; extra++) {
        mx_buf_init(&b);
        mx_buf_adds(&b, "k: [");
        for (int i = 0; i < MX_YAML_MAX_NODES - 3 + extra; i++)
            mx_buf_adds(&b, i ? ",x" : "x");
        mx_buf_adds(&b, "]\n");
        if (extra) {
            char want[64];
            snprintf(want, sizeof want, "t.yml:1:%d: this node makes the config larger",
                     2 * (MX_YAML_MAX_NODES - 3) + 5);
            load_fails(b.data, want);
        } else {
            mx_node *root = load(b.data);
            assert_int_equal(mx_node_count(root, SIZE_MAX), MX_YAML_MAX_NODES);
            mx_node_free(root);
        }
        mx_buf_free(&b);
    }
    /* an anchored list of 100000 costs as much again when anchored, and again per alias */
    mx_buf_init(&b);
    mx_buf_adds(&b, "a: &big [");
    for (int i = 0; i < 100000; i++)
        mx_buf_adds(&b, i ? ",x" : "x");
    mx_buf_adds(&b, "]\nb: *big\n");
    load_fails(b.data, "t.yml:2:4: alias *big makes the config larger");
    mx_buf_free(&b);
    /* merges copy the merged values: counted at the << key (here the alias's copy and the
     * merged copy of it together are over) */
    mx_buf_init(&b);
    mx_buf_adds(&b, "a: &m {k: [");
    for (int i = 0; i < 70000; i++)
        mx_buf_adds(&b, i ? ",x" : "x");
    mx_buf_adds(&b, "]}\nb: {<<: *m}\nc: {<<: [*m]}\n");
    load_fails(b.data, "t.yml:2:5: this merge (<<) makes the config larger than 250000 nodes");
    mx_buf_free(&b);
    assert_int_equal(mx_node_count(NULL, 10), 0);
}

static void test_file_size_limit(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "a: \"");
    while (b.len < MX_YAML_MAX_FILE_BYTES - 1)
        mx_buf_adds(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    b.len = MX_YAML_MAX_FILE_BYTES - 1;
    mx_buf_adds(&b, "\"");
    char *path = tu_write(dir, "max.yml", b.data); /* exactly the limit: loads */
    mx_node *root = NULL;
    mx_err err = {0};
    assert_int_equal(mx_yaml_load_file(path, &root, &err), 0);
    mx_node_free(root);
    root = NULL;
    free(path);
    mx_buf_adds(&b, "\n");
    path = tu_write(dir, "over.yml", b.data);
    assert_int_equal(mx_yaml_load_file(path, &root, &err), -1);
    assert_null(root);
    assert_int_equal(err.status, MX_USAGE);
    tu_assert_contains(err.msg, "over.yml is larger than 4194304 bytes");
    /* a device that never ends is refused too, after reading no more than the limit */
    assert_int_equal(mx_yaml_load_file("/dev/zero", &root, &err), -1);
    tu_assert_contains(err.msg, "/dev/zero is larger than 4194304 bytes");
    free(path);
    mx_buf_free(&b);
    tu_rmdir(dir);
}

static void test_node_fail(void **state)
{
    (void)state;
    mx_node *root = load("a:\n  b: x\n");
    mx_err err = {0};
    assert_int_equal(mx_node_fail(&err, mx_node_get(mx_node_get(root, "a"), "b"), "bad %s", "b"),
                     -1);
    assert_string_equal(err.msg, "t.yml:2:6: bad b");
    assert_int_equal(err.status, MX_USAGE);
    assert_int_equal(mx_node_fail(&err, NULL, "no position"), -1);
    assert_string_equal(err.msg, "no position");
    mx_node_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_quoted_vs_plain),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_anchors_and_merge),
        cmocka_unit_test(test_merge_errors),
        cmocka_unit_test(test_duplicate_and_bad_keys),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_node_fail),
        cmocka_unit_test(test_node_limit),
        cmocka_unit_test(test_file_size_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
