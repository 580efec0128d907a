/* catalog: NAME:TAG -> recipe, the recipe hash that keys the image store, and built detection,
 * all in a temporary images dir and store. */
#include "test_util.h"

#include "catalog.h"
#include "image_tag.h"

typedef struct fixture {
    char *root;   /* temp dir */
    char *images; /* root/images: catalog.yaml, debian-12/, other/, common/ */
    char *store;  /* root/store */
    mx_host_config hc;
} fixture;

static const char catalog_yaml[] = "# test catalog\n"
                                   "default: debian-12:current\n"
                                   "images:\n"
                                   "  debian-12:current: { recipe: debian-12 }\n"
                                   "  debian-12:edge:    { recipe: debian-12 }\n"
                                   "  debian-12:2024.01.1: { recipe: debian-12 }\n"
                                   "  debian-12:202201-02: { recipe: debian-12 }\n"
                                   "  other:1.0:\n"
                                   "    recipe: other\n"
                                   "    sha256: abc123\n";

static int setup(void **state)
{
    fixture *f = mx_xcalloc(1, sizeof *f);
    f->root = tu_mkdtemp();
    f->images = mx_path_join(f->root, "images");
    f->store = mx_path_join(f->root, "store");
    tu_write_free(f->images, "catalog.yaml", catalog_yaml);
    tu_write_free(f->images, "debian-12/recipe.sh", "#!/bin/sh\necho build debian\n");
    tu_write_free(f->images, "debian-12/files/etc/motd", "hello\n");
    tu_write_free(f->images, "other/recipe.sh", "#!/bin/sh\necho other\n");
    tu_write_free(f->images, "common/mexec-seed", "#!/bin/sh\n");
    tu_mkdir(f->store, 0755);
    f->hc.image_store = f->store;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmdir(f->root);
    free(f->images);
    free(f->store);
    free(f);
    return 0;
}

static void load_catalog(fixture *f, mx_catalog *cat)
{
    mx_err err = {0};
    if (mx_catalog_load(f->images, cat, &err) < 0) fail_msg("%s", err.msg);
}

static char *hash_of(fixture *f, const char *ref)
{
    mx_catalog cat;
    load_catalog(f, &cat);
    mx_image img;
    mx_err err = {0};
    if (mx_catalog_resolve(&cat, &f->hc, ref, &img, &err) < 0) fail_msg("%s", err.msg);
    char *h = mx_xstrdup(img.recipe_hash);
    mx_image_free(&img);
    mx_catalog_free(&cat);
    return h;
}

static void test_resolve_known(void **state)
{
    fixture *f = *state;
    mx_catalog cat;
    load_catalog(f, &cat);
    assert_string_equal(cat.default_ref, "debian-12:current");
    char *refs = mx_catalog_refs(&cat);
    assert_string_equal(refs, "debian-12:current, debian-12:edge, debian-12:2024.01.1, "
                              "debian-12:202201-02, other:1.0");
    free(refs);

    mx_image img;
    mx_err err = {0};
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:edge", &img, &err), 0);
    assert_string_equal(img.ref, "debian-12:edge");
    assert_string_equal(img.recipe, "debian-12");
    assert_null(img.pin);
    char *want = mx_path_join(f->images, "debian-12");
    assert_string_equal(img.recipe_dir, want);
    free(want);
    assert_int_equal(strlen(img.recipe_hash), 64);
    assert_int_equal(strspn(img.recipe_hash, "0123456789abcdef"), 64);
    want = mx_xasprintf("%s/debian-12/%s", f->store, img.recipe_hash);
    assert_string_equal(img.dir, want);
    free(want);
    want = mx_path_join(img.dir, "base.qcow2");
    assert_string_equal(img.base, want);
    free(want);
    want = mx_path_join(img.dir, "vmlinux");
    assert_string_equal(img.kernel, want);
    free(want);
    want = mx_path_join(img.dir, "initrd.img");
    assert_string_equal(img.initrd, want);
    free(want);
    assert_false(img.built);
    assert_null(img.cmdline);
    assert_null(img.sha256);
    assert_false(img.dated);
    assert_false(img.frozen);
    assert_null(img.tag_record);
    char *edge_hash = mx_xstrdup(img.recipe_hash);
    mx_image_free(&img);

    /* NULL: the catalog's default; same recipe, same hash */
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, NULL, &img, &err), 0);
    assert_string_equal(img.ref, "debian-12:current");
    assert_string_equal(img.recipe_hash, edge_hash);
    mx_image_free(&img);

    /* the host's default beats the catalog's */
    f->hc.default_image = "other:1.0";
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, NULL, &img, &err), 0);
    f->hc.default_image = NULL;
    assert_string_equal(img.ref, "other:1.0");
    assert_string_equal(img.pin, "abc123");
    assert_string_not_equal(img.recipe_hash, edge_hash);
    mx_image_free(&img);
    free(edge_hash);
    mx_catalog_free(&cat);
}

static void test_unknown_ref(void **state)
{
    fixture *f = *state;
    mx_catalog cat;
    load_catalog(f, &cat);
    mx_image img;
    mx_err err = {0};
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "ubuntu-2204:current", &img, &err), -1);
    assert_int_equal(err.status, MX_USAGE);
    char *want = mx_xasprintf("machine image \"ubuntu-2204:current\" is not in the catalog "
                              "%s/catalog.yaml (available: debian-12:current, debian-12:edge, "
                              "debian-12:2024.01.1, debian-12:202201-02, other:1.0)",
                              f->images);
    assert_string_equal(err.msg, want);
    free(want);
    mx_image_free(&img);
    /* a built-only resolve fails the same way */
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "nope:1", &img, &err), -1);
    tu_assert_contains(err.msg, "machine image \"nope:1\" is not in the catalog");
    mx_image_free(&img);
    mx_catalog_free(&cat);
}

/* debian-12:current's recipe hash, computed afresh, must still be `before`... */
static void assert_hash_same(fixture *f, const char *before)
{
    char *now = hash_of(f, "debian-12:current");
    assert_string_equal(before, now);
    free(now);
}

/* ...or must differ from it. */
static void assert_hash_changed(fixture *f, const char *before)
{
    char *now = hash_of(f, "debian-12:current");
    assert_string_not_equal(before, now);
    free(now);
}

static void test_recipe_hash(void **state)
{
    fixture *f = *state;
    char *h1 = hash_of(f, "debian-12:current");
    assert_hash_same(f, h1); /* stable */
    /* rewriting a file with the same bytes (new mtime) changes nothing */
    tu_write_free(f->images, "debian-12/recipe.sh", "#!/bin/sh\necho build debian\n");
    assert_hash_same(f, h1);
    /* editing the catalog does not touch a recipe's hash */
    tu_write_free(f->images, "catalog.yaml",
                  "# edited\n"
                  "images:\n"
                  "  debian-12:current: { recipe: debian-12 }\n");
    assert_hash_same(f, h1);
    /* another recipe's change does not either */
    tu_write_free(f->images, "catalog.yaml", catalog_yaml);
    tu_write_free(f->images, "other/recipe.sh", "#!/bin/sh\necho other v2\n");
    assert_hash_same(f, h1);

    /* a changed recipe file changes it, and changing it back restores it */
    tu_write_free(f->images, "debian-12/recipe.sh", "#!/bin/sh\necho build debian!\n");
    assert_hash_changed(f, h1);
    tu_write_free(f->images, "debian-12/recipe.sh", "#!/bin/sh\necho build debian\n");
    assert_hash_same(f, h1);
    /* so do a nested file, a new file, a renamed file and the common dir */
    tu_write_free(f->images, "debian-12/files/etc/motd", "hello!\n");
    assert_hash_changed(f, h1);
    tu_write_free(f->images, "debian-12/files/etc/motd", "hello\n");
    tu_write_free(f->images, "debian-12/extra.conf", "");
    assert_hash_changed(f, h1);
    char *extra = mx_path_join(f->images, "debian-12/extra.conf");
    char *renamed = mx_path_join(f->images, "debian-12/other.conf");
    assert_int_equal(rename(extra, renamed), 0);
    assert_hash_changed(f, h1);
    unlink(renamed);
    free(renamed);
    free(extra);
    assert_hash_same(f, h1);
    tu_write_free(f->images, "common/mexec-seed", "#!/bin/sh\nexit 0\n");
    assert_hash_changed(f, h1);
    free(h1);
}

static void test_hash_dirs(void **state)
{
    fixture *f = *state;
    /* the same tree in another place hashes the same: names are relative */
    char *a = mx_path_join(f->root, "a"), *b = mx_path_join(f->root, "b/deeper");
    tu_write_free(a, "x/y.txt", "data");
    tu_write_free(a, "z", "");
    tu_write_free(b, "z", "");
    tu_write_free(b, "x/y.txt", "data");
    char ha[65], hb[65];
    mx_err err = {0};
    const char *da[] = {a}, *db[] = {b};
    assert_int_equal(mx_hash_dirs(da, 1, ha, &err), 0);
    assert_int_equal(mx_hash_dirs(db, 1, hb, &err), 0);
    assert_string_equal(ha, hb);
    /* moving content between name and data must not collide ("ab"+"c" vs "a"+"bc") */
    char *c = mx_path_join(f->root, "c"), *d = mx_path_join(f->root, "d");
    tu_write_free(c, "ab", "c");
    tu_write_free(d, "a", "bc");
    const char *dc[] = {c}, *dd[] = {d};
    char hc[65], hd[65];
    assert_int_equal(mx_hash_dirs(dc, 1, hc, &err), 0);
    assert_int_equal(mx_hash_dirs(dd, 1, hd, &err), 0);
    assert_string_not_equal(hc, hd);
    /* a missing directory is an error naming it */
    char *missing = mx_path_join(f->root, "missing");
    const char *dm[] = {missing};
    assert_int_equal(mx_hash_dirs(dm, 1, hd, &err), -1);
    tu_assert_contains(err.msg, missing);
    free(missing);
    free(c);
    free(d);
    free(a);
    free(b);
}

static void make_build(fixture *f, const char *hash, int with_cmdline)
{
    char *dir = mx_xasprintf("%s/debian-12/%s", f->store, hash);
    tu_write_free(dir, "base.qcow2", "QFI");
    tu_write_free(dir, "vmlinux", "kernel");
    tu_write_free(dir, "initrd.img", "initrd");
    if (with_cmdline) tu_write_free(dir, "cmdline", "console=ttyS0 root=/dev/vda \n\n");
    free(dir);
}

static void test_built_detection(void **state)
{
    fixture *f = *state;
    mx_catalog cat;
    load_catalog(f, &cat);
    mx_image img;
    mx_err err = {0};
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:current", &img, &err), 0);
    char *hash = mx_xstrdup(img.recipe_hash);
    assert_false(img.built);
    mx_image_free(&img);

    /* not built: resolve_built says how to build it */
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "debian-12:current", &img, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    char *want = mx_xasprintf("machine image debian-12:current is not built yet (recipe "
                              "debian-12, hash %.12s); run: mexec image build debian-12:current",
                              hash);
    assert_string_equal(err.msg, want);
    free(want);
    mx_image_free(&img);

    /* three files of four are not a build */
    make_build(f, hash, 0);
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:current", &img, &err), 0);
    assert_false(img.built);
    mx_image_free(&img);
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "debian-12:current", &img, &err), -1);
    tu_assert_contains(err.msg, "run: mexec image build debian-12:current");
    mx_image_free(&img);

    make_build(f, hash, 1);
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "debian-12:current", &img, &err), 0);
    assert_true(img.built);
    assert_string_equal(img.cmdline, "console=ttyS0 root=/dev/vda");
    mx_image_free(&img);
    /* the other tag of the same recipe shares the build */
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "debian-12:edge", &img, &err), 0);
    mx_image_free(&img);

    /* a recipe change makes the old build stale */
    tu_write_free(f->images, "debian-12/recipe.sh", "#!/bin/sh\necho v2\n");
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:current", &img, &err), 0);
    assert_false(img.built);
    assert_string_not_equal(img.recipe_hash, hash);
    mx_image_free(&img);
    free(hash);
    mx_catalog_free(&cat);
}

static void test_tag_kinds(void **state)
{
    (void)state;
    assert_int_equal(mx_tag_kind_of("current"), MX_TAG_CURRENT);
    assert_int_equal(mx_tag_kind_of("edge"), MX_TAG_EDGE);
    /* CircleCI's two dated formats */
    const char *dated[] = {"2024.01.1", "2022.04.2", "2023.10.12", "202201-02", "202010-01"};
    for (size_t i = 0; i < sizeof dated / sizeof *dated; i++)
        if (mx_tag_kind_of(dated[i]) != MX_TAG_DATED) fail_msg("%s is dated", dated[i]);
    const char *other[] = {"",          "1.0",         "2024.1.1",   "2024.13.1", "2024.00.1",
                           "2024.01.0", "2024.01.123", "2024.01.",   "202213-01", "202201-2",
                           "202201_02", "2022010-02",  "2024-01-01", "Current",   "202201-02x"};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++)
        if (mx_tag_kind_of(other[i]) != MX_TAG_OTHER) fail_msg("\"%s\" is not dated", other[i]);
    assert_string_equal(mx_ref_tag("ubuntu-2204:2024.01.1"), "2024.01.1");
    assert_string_equal(mx_ref_tag("no-tag"), "");
    assert_true(mx_ref_has_name("ubuntu-2204:edge", "ubuntu-2204", 11));
    assert_false(mx_ref_has_name("ubuntu-2204:edge", "ubuntu-22", 9));
    assert_false(mx_ref_has_name("ubuntu-2204", "ubuntu-2204", 11));
}

static void test_unknown_dated_tag(void **state)
{
    fixture *f = *state;
    mx_catalog cat;
    load_catalog(f, &cat);
    mx_image img;
    mx_err err = {0};
    /* both formats: the image's dated tags are listed */
    const char *refs[] = {"debian-12:2019.01.1", "debian-12:201901-01"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(mx_catalog_resolve(&cat, &f->hc, refs[i], &img, &err), -1);
        assert_int_equal(err.status, MX_USAGE);
        char *want = mx_xasprintf("machine image %s: %s is not a dated tag the catalog "
                                  "%s/catalog.yaml knows for debian-12 (known: 2024.01.1, "
                                  "202201-02; or current, edge)",
                                  refs[i], mx_ref_tag(refs[i]), f->images);
        assert_string_equal(err.msg, want);
        free(want);
        mx_image_free(&img);
    }
    /* an image without dated tags, and a tag that is not dated: the whole catalog */
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "other:2024.01.1", &img, &err), -1);
    tu_assert_contains(err.msg, "is not in the catalog");
    mx_image_free(&img);
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:nightly", &img, &err), -1);
    tu_assert_contains(err.msg, "(available: debian-12:current, ");
    mx_image_free(&img);
    mx_catalog_free(&cat);
}

/* A dated tag follows the recipe until it has a record; then it is the recorded build. */
static void test_frozen_tag(void **state)
{
    fixture *f = *state;
    mx_catalog cat;
    load_catalog(f, &cat);
    mx_image img;
    mx_err err = {0};
    char *hash = hash_of(f, "debian-12:current");
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:2024.01.1", &img, &err), 0);
    assert_true(img.dated);
    assert_false(img.frozen);
    assert_string_equal(img.recipe_hash, hash);
    char *want = mx_xasprintf("%s/debian-12/tags/2024.01.1.json", f->store);
    assert_string_equal(img.tag_record, want);
    free(want);
    mx_image_free(&img);

    /* a record made by mx_tag_record_create from an old build's manifest */
    const char *old = "1111111111111111111111111111111111111111111111111111111111111111";
    char *olddir = mx_xasprintf("%s/debian-12/%s", f->store, old);
    tu_write_free(olddir, "manifest.json",
                  "{\"artifacts\": {\"base.qcow2\": {\"sha256\": \"abcd\", \"size\": 3}}}\n");
    char *rec = mx_tag_record_path(f->store, "debian-12", "2024.01.1");
    char *manifest = mx_path_join(olddir, "manifest.json");
    int existing = -1;
    assert_int_equal(mx_tag_record_create(rec, "debian-12:2024.01.1", "debian-12", old, manifest,
                                          &existing, &err),
                     0);
    assert_int_equal(existing, 0);
    /* a second create finds it and leaves it alone */
    assert_int_equal(mx_tag_record_create(rec, "debian-12:2024.01.1", "debian-12", hash, manifest,
                                          &existing, &err),
                     0);
    assert_int_equal(existing, 1);
    char got[65];
    assert_int_equal(mx_tag_record_read(rec, got, &err), 1);
    assert_string_equal(got, old);

    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:2024.01.1", &img, &err), 0);
    assert_true(img.frozen);
    assert_string_equal(img.recipe_hash, old);
    assert_string_equal(img.dir, olddir);
    assert_false(img.built);
    mx_image_free(&img);
    /* gone from the store: an error that does not suggest rebuilding from today's recipe */
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "debian-12:2024.01.1", &img, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    tu_assert_contains(err.msg, "is frozen to the build ");
    tu_assert_contains(err.msg, "remove ");
    mx_image_free(&img);
    /* built: sha256 comes from its manifest; the other dated tag still follows the recipe */
    tu_write_free(olddir, "base.qcow2", "QFI");
    tu_write_free(olddir, "vmlinux", "k");
    tu_write_free(olddir, "initrd.img", "i");
    tu_write_free(olddir, "cmdline", "console=ttyS0\n");
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "debian-12:2024.01.1", &img, &err), 0);
    assert_string_equal(img.sha256, "abcd");
    mx_image_free(&img);
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:202201-02", &img, &err), 0);
    assert_false(img.frozen);
    assert_string_equal(img.recipe_hash, hash);
    mx_image_free(&img);

    /* a record that names no build is an error naming it */
    tu_write_free(f->store, "debian-12/tags/2024.01.1.json", "{\"build\": \"../etc\"}\n");
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:2024.01.1", &img, &err), -1);
    tu_assert_contains(err.msg, "machine image debian-12:2024.01.1: frozen tag record ");
    tu_assert_contains(err.msg, "has no \"build\"");
    mx_image_free(&img);
    tu_write_free(f->store, "debian-12/tags/2024.01.1.json", "{\"build\": ");
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:2024.01.1", &img, &err), -1);
    tu_assert_contains(err.msg, "2024.01.1.json:1:");
    mx_image_free(&img);
    /* a manifest without artifacts cannot make a record */
    tu_write_free(olddir, "manifest.json", "{}\n");
    unlink(rec);
    assert_int_equal(mx_tag_record_create(rec, "debian-12:2024.01.1", "debian-12", old, manifest,
                                          &existing, &err),
                     -1);
    tu_assert_contains(err.msg, "has no \"artifacts\"");
    assert_false(mx_path_exists(rec));
    free(rec);
    free(manifest);
    free(olddir);
    free(hash);
    mx_catalog_free(&cat);
}

/* An entry's sha256: pin must match what the build's manifest records. */
static void test_pin(void **state)
{
    fixture *f = *state;
    tu_write_free(
        f->images, "catalog.yaml",
        "images:\n  pinned:1: {recipe: other, sha256: feed}\n  free:1: {recipe: other}\n");
    mx_catalog cat;
    load_catalog(f, &cat);
    mx_image img;
    mx_err err = {0};
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "pinned:1", &img, &err), 0);
    tu_write_free(img.dir, "base.qcow2", "QFI");
    tu_write_free(img.dir, "vmlinux", "k");
    tu_write_free(img.dir, "initrd.img", "i");
    tu_write_free(img.dir, "cmdline", "console=ttyS0\n");
    mx_image_free(&img);
    /* no manifest: nothing recorded, so the pin cannot hold */
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "pinned:1", &img, &err), -1);
    tu_assert_contains(err.msg, "the catalog pins base.qcow2 sha256 feed, the build in ");
    tu_assert_contains(err.msg, " has none recorded");
    tu_write_free(img.dir, "manifest.json",
                  "{\"artifacts\": {\"base.qcow2\": {\"sha256\": \"beef\"}}}\n");
    mx_image_free(&img);
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "pinned:1", &img, &err), -1);
    tu_assert_contains(err.msg, " has beef");
    tu_write_free(img.dir, "manifest.json",
                  "{\"artifacts\": {\"base.qcow2\": {\"sha256\": \"feed\"}}}\n");
    mx_image_free(&img);
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "pinned:1", &img, &err), 0);
    mx_image_free(&img);
    /* unpinned: any build will do */
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "free:1", &img, &err), 0);
    mx_image_free(&img);
    mx_catalog_free(&cat);
}

static void catalog_fails(fixture *f, const char *yaml, const char *want)
{
    tu_write_free(f->images, "catalog.yaml", yaml);
    mx_catalog cat;
    mx_err err = {0};
    if (mx_catalog_load(f->images, &cat, &err) == 0) {
        mx_catalog_free(&cat);
        fail_msg("accepted catalog:\n%s", yaml);
    }
    mx_catalog_free(&cat);
    tu_assert_contains(err.msg, want);
}

static void test_catalog_errors(void **state)
{
    fixture *f = *state;
    catalog_fails(f, "default: x:y\n", "catalog.yaml:1:1: catalog needs an images: map");
    catalog_fails(f, "images: [a]\n", "catalog.yaml:1:9: catalog needs an images: map");
    catalog_fails(f, "images:\n  debian: {recipe: debian-12}\n",
                  "catalog.yaml:2:3: catalog entries are NAME:TAG, not \"debian\"");
    catalog_fails(f, "images:\n  a:b: {recipe: ../etc}\n",
                  "catalog.yaml:2:8: catalog entry a:b needs recipe: DIRECTORY-NAME");
    catalog_fails(f, "images:\n  a:b: {recipe: x/y}\n", "needs recipe: DIRECTORY-NAME");
    catalog_fails(f, "images:\n  a:b: {}\n", "needs recipe: DIRECTORY-NAME");
    catalog_fails(f, "images: {\n", "image catalog: ");
    char *absent = mx_path_join(f->root, "absent");
    mx_catalog cat;
    mx_err err = {0};
    assert_int_equal(mx_catalog_load(absent, &cat, &err), -1);
    mx_catalog_free(&cat);
    tu_assert_contains(err.msg, "image catalog: cannot read ");
    tu_assert_contains(err.msg, absent);
    free(absent);

    /* an entry whose recipe directory is missing */
    tu_write_free(f->images, "catalog.yaml", "images:\n  gone:1: {recipe: gone}\n");
    load_catalog(f, &cat);
    mx_image img;
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, NULL, &img, &err), -1);
    tu_assert_contains(err.msg, "no default machine image (set default: in ");
    mx_image_free(&img);
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "gone:1", &img, &err), -1);
    tu_assert_contains(err.msg, "/images/gone for gone:1 does not exist");
    mx_image_free(&img);
    mx_catalog_free(&cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_ref, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recipe_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_built_detection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tag_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_dated_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
