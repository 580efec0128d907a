/* The host's cache store: per project, immutable keys, prefix restore newest first, LRU
 * eviction by last use, gc of what dead processes left. */
#include "test_util.h"

#include "cache_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

/* Saves a cache of size bytes under key; returns whether it existed already. */
static int save(const mx_cache *c, const char *key, size_t size, char fill)
{
    char *in = mx_cache_incoming(c);
    char *data = mx_xmalloc(size + 1);
    memset(data, fill, size);
    mx_err err;
    if (mx_write_file(in, data, size, 0600, &err) < 0) fail_msg("%s", err.msg);
    int existed = -1;
    if (mx_cache_commit(c, key, in, &existed, &err) < 0) fail_msg("%s", err.msg);
    assert_false(mx_path_exists(in)); /* moved in, or removed */
    free(data);
    free(in);
    return existed;
}

/* The restored content's first byte, or 0 when nothing matched. */
static char restore(const mx_cache *c, const char *const *keys, size_t n, char **key)
{
    mx_cache_hit hit;
    mx_err err;
    if (key) *key = NULL;
    int r = mx_cache_lookup(c, keys, n, &hit, &err);
    assert_true(r >= 0);
    if (r == 0) return 0;
    char *data = tu_read(hit.path);
    char first = data[0];
    if (key) *key = mx_xstrdup(hit.key);
    free(data);
    char *path = mx_xstrdup(hit.path);
    mx_cache_hit_free(&hit);
    assert_false(mx_path_exists(path)); /* the private link is gone */
    free(path);
    return first;
}

static void tick(void)
{
    /* last-use times are file times: let the clock move between uses */
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_project_identity(void **state)
{
    (void)state;
    char *p = mx_cache_project("https://user:s3cret@example.com/org/repo.git", "/x");
    assert_string_equal(p, "git:https://example.com/org/repo.git");
    free(p);
    p = mx_cache_project("git@example.com:org/repo.git", "/x");
    assert_string_equal(p, "git:git@example.com:org/repo.git");
    free(p);
    p = mx_cache_project(NULL, "/home/u/proj");
    assert_string_equal(p, "dir:/home/u/proj");
    free(p);
}

static void test_immutable_and_prefix_newest(void **state)
{
    (void)state;
    char *root = tu_mkdtemp();
    mx_cache c;
    mx_err err;
    assert_int_equal(mx_cache_open(&c, root, "git:a", 1 << 20, &err), 0);
    assert_int_equal(save(&c, "v1-main-aaa", 10, 'A'), 0);
    tick();
    assert_int_equal(save(&c, "v1-main-bbb", 10, 'B'), 0);
    tick();
    assert_int_equal(save(&c, "v1-dev-ccc", 10, 'C'), 0);
    /* a saved key is never overwritten */
    assert_int_equal(save(&c, "v1-main-aaa", 10, 'Z'), 1);
    assert_true(mx_cache_has(&c, "v1-main-aaa"));
    assert_false(mx_cache_has(&c, "v1-main"));
    char *key = NULL;
    const char *exact[] = {"v1-main-aaa", "v1-"};
    assert_int_equal(restore(&c, exact, 2, &key), 'A');
    assert_string_equal(key, "v1-main-aaa");
    free(key);
    /* a prefix takes the newest match; the first key that matches wins */
    const char *prefix[] = {"v1-feature-", "v1-main-", "v1-"};
    assert_int_equal(restore(&c, prefix, 3, &key), 'B');
    assert_string_equal(key, "v1-main-bbb");
    free(key);
    const char *any[] = {"v1-"};
    assert_int_equal(restore(&c, any, 1, NULL), 'C');
    const char *none[] = {"v2-", "v1-main-x"};
    assert_int_equal(restore(&c, none, 2, NULL), 0);
    mx_cache_close(&c);
    tu_rmdir(root);
}

static void test_projects_are_separate(void **state)
{
    (void)state;
    char *root = tu_mkdtemp();
    mx_cache a, b;
    mx_err err;
    assert_int_equal(mx_cache_open(&a, root, "git:https://example.com/a", 1 << 20, &err), 0);
    assert_int_equal(mx_cache_open(&b, root, "dir:/srv/b", 1 << 20, &err), 0);
    assert_int_equal(save(&a, "deps", 4, 'a'), 0);
    assert_int_equal(save(&b, "deps", 4, 'b'), 0); /* same key, other project: its own */
    const char *k[] = {"deps"};
    assert_int_equal(restore(&a, k, 1, NULL), 'a');
    assert_int_equal(restore(&b, k, 1, NULL), 'b');
    char *proj = mx_path_join(a.dir, "project");
    tu_assert_file(a.dir, "project", "git:https://example.com/a");
    free(proj);
    mx_cache_close(&a);
    mx_cache_close(&b);
    tu_rmdir(root);
}

static void test_lru_eviction(void **state)
{
    (void)state;
    char *root = tu_mkdtemp();
    mx_cache c, d;
    mx_err err;
    /* 100 bytes for the whole store, two projects sharing it */
    assert_int_equal(mx_cache_open(&c, root, "git:c", 100, &err), 0);
    assert_int_equal(mx_cache_open(&d, root, "git:d", 100, &err), 0);
    save(&c, "one", 40, '1');
    tick();
    save(&d, "two", 40, '2');
    tick();
    /* using "one" makes "two" the least recently used */
    const char *k1[] = {"one"};
    assert_int_equal(restore(&c, k1, 1, NULL), '1');
    tick();
    save(&c, "three", 40, '3'); /* 120 > 100: one cache goes */
    assert_true(mx_cache_has(&c, "one"));
    assert_false(mx_cache_has(&d, "two"));
    assert_true(mx_cache_has(&c, "three"));
    /* a cache larger than the whole store is refused */
    char *in = mx_cache_incoming(&c);
    char big[101];
    memset(big, 'x', sizeof big);
    assert_int_equal(mx_write_file(in, big, sizeof big, 0600, &err), 0);
    int existed;
    assert_int_equal(mx_cache_commit(&c, "big", in, &existed, &err), -1);
    tu_assert_contains(err.msg, "cache_max_bytes");
    assert_false(mx_path_exists(in));
    free(in);
    int removed;
    assert_int_equal(mx_cache_evict(root, 0, &removed, &err), 0);
    assert_int_equal(removed, 2);
    assert_false(mx_cache_has(&c, "one"));
    mx_cache_close(&c);
    mx_cache_close(&d);
    tu_rmdir(root);
}

static void test_gc_leftovers(void **state)
{
    (void)state;
    char *root = tu_mkdtemp();
    mx_cache c;
    mx_err err;
    assert_int_equal(mx_cache_open(&c, root, "git:g", 1 << 20, &err), 0);
    /* pid 2^22+1 is above the kernel's maximum: never a live process */
    tu_write_free(c.dir, ".incoming-4194305-0", "x");
    tu_write_free(c.dir, "..incoming-4194305-1.AbCdEf", "x");
    char *mine = mx_xasprintf(".incoming-%ld-9", (long)getpid());
    tu_write_free(c.dir, mine, "x");
    assert_int_equal(mx_cache_gc(root), 2);
    char *p = mx_path_join(c.dir, mine);
    assert_true(mx_path_exists(p));
    free(p);
    free(mine);
    mx_cache_close(&c);
    tu_rmdir(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_project_identity),
        cmocka_unit_test(test_immutable_and_prefix_newest),
        cmocka_unit_test(test_projects_are_separate),
        cmocka_unit_test(test_lru_eviction),
        cmocka_unit_test(test_gc_leftovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
