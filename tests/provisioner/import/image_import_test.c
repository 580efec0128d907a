/* image import without a VM: the file checks (sha256 before anything, formats told by their
 * first bytes, qcow2 images that point at other files refused by our own header reading and by
 * qemu-img info), conversion and the boot-sector check, the store (references, resolve through
 * the catalog, list, rm), and the whole import refusing bad input with nothing left behind.
 * Test images are made with qemu-img itself where it can make them. */
#include "test_util.h"

#include "catalog.h"
#include "image_import.h"
#include "mx_proc.h"

#include <signal.h>

static volatile sig_atomic_t no_stop = 0;

typedef struct fixture {
    char *root, *images, *store;
    mx_host_config hc;
} fixture;

static int setup(void **state)
{
    fixture *f = mx_xcalloc(1, sizeof *f);
    f->root = tu_mkdtemp();
    f->images = mx_path_join(f->root, "images");
    f->store = mx_path_join(f->root, "store");
    tu_write_free(
        f->images, "catalog.yaml",
        "default: debian-12:current\nimages:\n  debian-12:current: { recipe: debian-12 }\n");
    tu_write_free(f->images, "debian-12/recipe.sh", "#!/bin/sh\n");
    tu_mkdir(f->store, 0755);
    f->hc.image_store = f->store;
    f->hc.images_dir = f->images;
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

static void run_ok(const char *const argv[])
{
    mx_err err = {0};
    if (mx_proc_check(argv, NULL, NULL, &err) < 0) fail_msg("%s", err.msg);
}

/* path with len bytes: zeros, a few bytes of boot code unless code is 0, and the 0x55AA
 * signature unless sig is 0 */
static char *raw_disk(const char *dir, const char *name, size_t len, int code, int sig)
{
    char *path = mx_path_join(dir, name);
    unsigned char *b = mx_xcalloc(1, len);
    if (code) memcpy(b, "\xeb\x63\x90\x10\x8e\xd0", 6);
    if (sig) b[510] = 0x55, b[511] = 0xaa;
    mx_err err;
    if (mx_write_file(path, b, len, 0644, &err) < 0) fail_msg("%s", err.msg);
    free(b);
    return path;
}

static char *qemu_img_create(const char *dir, const char *name, const char *fmt,
                             const char *const extra[])
{
    char *path = mx_path_join(dir, name);
    const char *argv[16] = {"qemu-img", "create", "-q", "-f", fmt};
    size_t n = 5;
    for (size_t i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n++] = path;
    argv[n++] = "1M";
    argv[n] = NULL;
    run_ok(argv);
    return path;
}

static const char *sniff_file(const char *path, mx_err *err)
{
    char *data = tu_read(path); /* NUL-terminated; the length comes from stat */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    const char *fmt = NULL;
    int rc = mx_import_sniff((const unsigned char *)data, (size_t)st.st_size, &fmt, err);
    free(data);
    return rc == 0 ? fmt : NULL;
}

static void assert_sniff_refuses(const char *path, const char *why)
{
    mx_err err = {0};
    if (sniff_file(path, &err)) fail_msg("%s was accepted, expected: %s", path, why);
    assert_int_equal(err.status, MX_USAGE);
    tu_assert_contains(err.msg, why);
}

static void test_sniff_accepts_qcow2_and_partitioned_raw(void **state)
{
    fixture *f = *state;
    mx_err err = {0};
    char *q = qemu_img_create(f->root, "plain.qcow2", "qcow2", NULL);
    assert_string_equal(sniff_file(q, &err), "qcow2");
    const char *v2opts[] = {"-o", "compat=0.10", NULL};
    char *q2 = qemu_img_create(f->root, "v2.qcow2", "qcow2", v2opts);
    assert_string_equal(sniff_file(q2, &err), "qcow2");
    char *r = raw_disk(f->root, "disk.raw", 1 << 20, 1, 1);
    assert_string_equal(sniff_file(r, &err), "raw");
    free(q), free(q2), free(r);
}

/* A qcow2 naming /etc/shadow as its backing file or data file would make QEMU read it. */
static void test_sniff_refuses_qcow2_pointing_elsewhere(void **state)
{
    fixture *f = *state;
    const char *backing[] = {"-b", "/etc/shadow", "-F", "raw", "-u", NULL};
    char *b = qemu_img_create(f->root, "backing.qcow2", "qcow2", backing);
    assert_sniff_refuses(b, "backing file");
    char *data = mx_path_join(f->root, "data.raw");
    char *opt = mx_xasprintf("data_file=%s", data);
    const char *datafile[] = {"-o", opt, NULL};
    char *d = qemu_img_create(f->root, "datafile.qcow2", "qcow2", datafile);
    assert_sniff_refuses(d, "external");
    /* qcow2's own AES (LUKS needs a PBKDF benchmark that fails on a loaded machine: its
     * crypt_method 2 is set by hand in test_sniff_qcow2_header_fields) */
    const char *enc[] = {"--object", "secret,id=s0,data=not-a-secret", "-o",
                         "encrypt.format=aes,encrypt.key-secret=s0", NULL};
    char *e = qemu_img_create(f->root, "encrypted.qcow2", "qcow2", enc);
    assert_sniff_refuses(e, "encrypted");
    free(b), free(data), free(opt), free(d), free(e);
}

/* Header fields set by hand where qemu-img would not write them. */
static void test_sniff_qcow2_header_fields(void **state)
{
    fixture *f = *state;
    char *q = qemu_img_create(f->root, "base.qcow2", "qcow2", NULL);
    char *orig = tu_read(q);
    struct stat st;
    assert_int_equal(stat(q, &st), 0);
    size_t len = (size_t)st.st_size;
    unsigned char *h = (unsigned char *)orig;
    const struct {
        size_t off;
        unsigned char byte;
        const char *why;
    } cases[] = {
        {79, 0x01, "not closed cleanly"}, /* incompatible: dirty */
        {79, 0x02, "marked corrupt"},     /* incompatible: corrupt */
        {79, 0x04, "external file"},      /* incompatible: data file */
        {78, 0x01, "unknown features"},   /* an incompatible bit from the future */
        {35, 0x01, "encrypted"},          /* crypt_method AES */
        {35, 0x02, "encrypted"},          /* crypt_method LUKS */
        {7, 0x04, "version 4"},           /* version */
        {23, 0x1f, "cluster size"},       /* cluster_bits 31 */
        {19, 0x08, "backing file"},       /* backing_file_size without an offset */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned char *copy = mx_xmalloc(len);
        memcpy(copy, h, len);
        copy[cases[i].off] = cases[i].byte;
        const char *fmt = NULL;
        mx_err err = {0};
        if (mx_import_sniff(copy, len, &fmt, &err) == 0)
            fail_msg("case %zu accepted, expected: %s", i, cases[i].why);
        tu_assert_contains(err.msg, cases[i].why);
        free(copy);
    }
    /* a data-file header extension, even without the feature bit */
    unsigned char *copy = mx_xmalloc(len);
    memcpy(copy, h, len);
    size_t ext =
        (size_t)copy[100] << 24 | (size_t)copy[101] << 16 | (size_t)copy[102] << 8 | copy[103];
    memcpy(copy + ext, "\x44\x41\x54\x41\x00\x00\x00\x0b/etc/shadow\0\0\0\0\0\0\0\0\0\0\0\0", 32);
    const char *fmt = NULL;
    mx_err err = {0};
    assert_int_equal(mx_import_sniff(copy, len, &fmt, &err), -1);
    tu_assert_contains(err.msg, "external data file");
    /* a header cut short */
    assert_int_equal(mx_import_sniff(copy, 600, &fmt, &err), -1);
    free(copy);
    free(orig);
    free(q);
}

static void test_sniff_refuses_other_formats(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *fmt, *why;
    } made[] = {{"vmdk", "VMDK"}, {"vdi", "VDI"}, {"vhdx", "VHDX"}, {"vpc", "VHD"}, {"qed", "QED"}};
    for (size_t i = 0; i < sizeof made / sizeof *made; i++) {
        char *name = mx_xasprintf("x.%s", made[i].fmt);
        char *p = qemu_img_create(f->root, name, made[i].fmt, NULL);
        assert_sniff_refuses(p, made[i].why);
        free(p), free(name);
    }
    /* a VMDK descriptor names its extents: other files */
    char *desc = tu_write(f->root, "desc.vmdk",
                          "# Disk DescriptorFile\nversion=1\nRW 2048 FLAT \"/etc/shadow\" 0\n");
    assert_int_equal(truncate(desc, 4096), 0);
    assert_sniff_refuses(desc, "VMDK descriptor");
    char *gz = raw_disk(f->root, "img.gz", 4096, 0, 1);
    FILE *fp = fopen(gz, "r+");
    assert_non_null(fp);
    fwrite("\x1f\x8b\x08", 1, 3, fp);
    fclose(fp);
    assert_sniff_refuses(gz, "gzip");
    char *nosig = raw_disk(f->root, "nosig.raw", 1 << 20, 1, 0);
    assert_sniff_refuses(nosig, "neither qcow2 nor a raw disk");
    char *tiny = raw_disk(f->root, "tiny.raw", 100, 0, 0);
    assert_sniff_refuses(tiny, "too small");
    free(desc), free(gz), free(nosig), free(tiny);
}

static void test_check_info(void **state)
{
    (void)state;
    unsigned long long vs = 0;
    mx_err err = {0};
    const unsigned long long max = 1ULL << 40;
    assert_int_equal(mx_import_check_info("{\"format\": \"qcow2\", \"virtual-size\": 2361393152, "
                                          "\"format-specific\": {\"type\": \"qcow2\", \"data\": "
                                          "{\"compat\": \"1.1\", \"corrupt\": false}}}",
                                          "qcow2", max, &vs, &err),
                     0);
    assert_true(vs == 2361393152ULL);
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"{\"format\": \"raw\", \"virtual-size\": 1}", "as raw, not qcow2"},
        {"{\"format\": \"qcow2\", \"virtual-size\": 1, \"backing-filename\": \"/etc/shadow\"}",
         "backing file"},
        {"{\"format\": \"qcow2\", \"virtual-size\": 1, \"format-specific\": {\"data\": "
         "{\"data-file\": \"/etc/shadow\"}}}",
         "external data file"},
        {"{\"format\": \"qcow2\", \"virtual-size\": 1, \"encrypted\": true}", "encrypted"},
        {"{\"format\": \"qcow2\", \"virtual-size\": 1, \"format-specific\": {\"data\": "
         "{\"corrupt\": true}}}",
         "corrupt"},
        {"{\"format\": \"qcow2\", \"virtual-size\": 2199023255552}", "more than the 1024 GiB"},
        {"{\"format\": \"qcow2\"}", "no virtual size"},
        {"not json", "unreadable"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (mx_import_check_info(bad[i].json, "qcow2", max, &vs, &err) == 0)
            fail_msg("accepted %s", bad[i].json);
        tu_assert_contains(err.msg, bad[i].why);
    }
}

/* qemu-img info itself refuses what the header check refuses (the second line of defence). */
static void test_probe(void **state)
{
    fixture *f = *state;
    mx_import_file info = {0};
    mx_err err = {0};
    char *r = raw_disk(f->root, "disk.raw", 3 << 20, 1, 1);
    assert_int_equal(mx_import_probe(r, &mx_import_default_limits, &info, &err), 0);
    assert_string_equal(info.format, "raw");
    assert_true(info.vsize == 3 << 20);
    mx_import_limits small = mx_import_default_limits;
    small.max_virtual_bytes = 1 << 20;
    assert_int_equal(mx_import_probe(r, &small, &info, &err), -1);
    tu_assert_contains(err.msg, "more than");
    const char *backing[] = {"-b", "/etc/shadow", "-F", "raw", "-u", NULL};
    char *b = qemu_img_create(f->root, "backing.qcow2", "qcow2", backing);
    assert_int_equal(mx_import_probe(b, &mx_import_default_limits, &info, &err), -1);
    tu_assert_contains(err.msg, "backing file");
    free(r), free(b);
}

static void test_copy_verified(void **state)
{
    fixture *f = *state;
    char *src = tu_write(f->root, "src", "abc");
    char *dst = mx_path_join(f->root, "dst");
    const char *abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    mx_import_file info;
    mx_err err = {0};
    assert_int_equal(
        mx_import_copy_verified(src, dst, abc, &mx_import_default_limits, &no_stop, &info, &err),
        0);
    assert_string_equal(info.sha256, abc);
    assert_true(info.size == 3);
    tu_assert_file(f->root, "dst", "abc");
    assert_int_equal(tu_mode(dst), 0600);
    unlink(dst);
    /* upper case is the same digest; no digest at all copies and reports it */
    char *upper = mx_xstrdup(abc);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 'a' + 'A');
    assert_int_equal(
        mx_import_copy_verified(src, dst, upper, &mx_import_default_limits, &no_stop, &info, &err),
        0);
    unlink(dst);
    assert_int_equal(
        mx_import_copy_verified(src, dst, NULL, &mx_import_default_limits, &no_stop, &info, &err),
        0);
    assert_string_equal(info.sha256, abc);
    unlink(dst);
    /* a wrong digest: refused, and the copy is gone */
    char wrong[65];
    snprintf(wrong, sizeof wrong, "%s", abc);
    wrong[0] = 'c';
    assert_int_equal(
        mx_import_copy_verified(src, dst, wrong, &mx_import_default_limits, &no_stop, &info, &err),
        -1);
    assert_int_equal(err.status, MX_USAGE);
    tu_assert_contains(err.msg, "not imported");
    assert_false(mx_path_exists(dst));
    /* not a digest */
    assert_int_equal(
        mx_import_copy_verified(src, dst, "abc", &mx_import_default_limits, &no_stop, &info, &err),
        -1);
    tu_assert_contains(err.msg, "64 hexadecimal digits");
    /* too large */
    mx_import_limits small = mx_import_default_limits;
    small.max_file_bytes = 2;
    assert_int_equal(mx_import_copy_verified(src, dst, NULL, &small, &no_stop, &info, &err), -1);
    tu_assert_contains(err.msg, "larger than");
    /* not a regular file */
    assert_int_equal(mx_import_copy_verified(f->root, dst, NULL, &mx_import_default_limits,
                                             &no_stop, &info, &err),
                     -1);
    tu_assert_contains(err.msg, "not a regular file");
    free(src), free(dst), free(upper);
}

static unsigned long long virtual_size(const char *qcow2)
{
    const char *argv[] = {"qemu-img", "info", "-f", "qcow2", "--output=json", qcow2, NULL};
    mx_buf out;
    mx_buf_init(&out);
    mx_err err = {0};
    if (mx_proc_check(argv, NULL, &out, &err) < 0) fail_msg("%s", err.msg);
    unsigned long long vs = 0;
    if (mx_import_check_info(out.data, "qcow2", ~0ULL, &vs, &err) < 0) fail_msg("%s", err.msg);
    mx_buf_free(&out);
    return vs;
}

static void test_convert_and_bootable(void **state)
{
    fixture *f = *state;
    mx_err err = {0};
    mx_import_file info = {0};
    char *r = raw_disk(f->root, "disk.raw", 1 << 20, 1, 1);
    assert_int_equal(mx_import_probe(r, &mx_import_default_limits, &info, &err), 0);
    char *out = mx_path_join(f->root, "out.qcow2");
    assert_int_equal(
        mx_import_convert(r, &info, out, 8 << 20, &mx_import_default_limits, &no_stop, &err), 0);
    assert_true(virtual_size(out) == 8 << 20);
    assert_int_equal(mx_import_check_bootable(out, f->root, &err), 0);
    /* never shrunk */
    unlink(out);
    assert_int_equal(
        mx_import_convert(r, &info, out, 4096, &mx_import_default_limits, &no_stop, &err), 0);
    assert_true(virtual_size(out) == 1 << 20);
    /* a protective MBR without boot code (a UEFI-only disk) */
    char *efi = raw_disk(f->root, "efi.raw", 1 << 20, 0, 1);
    char *efi_q = mx_path_join(f->root, "efi.qcow2");
    assert_int_equal(
        mx_import_convert(efi, &info, efi_q, 0, &mx_import_default_limits, &no_stop, &err), 0);
    assert_int_equal(mx_import_check_bootable(efi_q, f->root, &err), -1);
    tu_assert_contains(err.msg, "UEFI");
    free(r), free(out), free(efi), free(efi_q);
}

static void test_parse_ref(void **state)
{
    (void)state;
    char *name = NULL, *tag = NULL;
    mx_err err = {0};
    assert_int_equal(mx_imported_parse_ref("ubuntu-2204:stock.1_a", &name, &tag, &err), 0);
    assert_string_equal(name, "ubuntu-2204");
    assert_string_equal(tag, "stock.1_a");
    free(name), free(tag);
    const char *bad[] = {"noTag", "a:b:c", ":x",    "x:",    "../x:y", "x:../y", ".x:y",
                         "x:.y",  "X:y",   "x y:z", "x/y:z", "x:y/z",  "x:y\n",  NULL};
    for (size_t i = 0; bad[i]; i++) {
        if (mx_imported_parse_ref(bad[i], &name, &tag, &err) == 0) fail_msg("accepted %s", bad[i]);
        assert_int_equal(err.status, MX_USAGE);
    }
    char long_name[80];
    memset(long_name, 'a', 70);
    memcpy(long_name + 70, ":t", 3);
    assert_int_equal(mx_imported_parse_ref(long_name, &name, &tag, &err), -1);
}

/* An imported image as import leaves it. */
static void fake_import(fixture *f, const char *name, const char *tag, const char *sha)
{
    char *rel = mx_xasprintf("imported/%s/%s/manifest.json", name, tag);
    char *json = mx_xasprintf("{\"ref\": \"%s:%s\", \"firmware\": \"bios\", \"source\": "
                              "{\"sha256\": \"%s\"}}",
                              name, tag, sha);
    tu_write_free(f->store, rel, json);
    free(rel);
    rel = mx_xasprintf("imported/%s/%s/base.qcow2", name, tag);
    tu_write_free(f->store, rel, "not really qcow2");
    free(rel);
    free(json);
}

static int collect(const mx_image *img, void *ud, mx_err *err)
{
    (void)err;
    mx_buf *b = ud;
    mx_buf_printf(b, "%s %s %s|", img->ref, img->firmware, img->recipe_hash);
    return 0;
}

static void test_store(void **state)
{
    fixture *f = *state;
    fake_import(f, "zeta", "1", "aaaa");
    fake_import(f, "alpha", "b", "bbbb");
    fake_import(f, "alpha", "a", "cccc");
    /* an unfinished import is not an image */
    tu_write_free(f->store, "imported/.work/XYZ/lock", "");
    mx_buf b;
    mx_buf_init(&b);
    mx_err err = {0};
    assert_int_equal(mx_imported_each(&f->hc, collect, &b, &err), 0);
    assert_string_equal(b.data, "alpha:a bios cccc|alpha:b bios bbbb|zeta:1 bios aaaa|");
    mx_buf_free(&b);

    /* through the catalog: its own images first, then imported ones */
    mx_catalog cat;
    assert_int_equal(mx_catalog_load(f->images, &cat, &err), 0);
    mx_image img;
    assert_int_equal(mx_catalog_resolve_built(&cat, &f->hc, "alpha:b", &img, &err), 0);
    assert_string_equal(img.firmware, "bios");
    assert_null(img.kernel);
    tu_assert_contains(img.base, "/imported/alpha/b/base.qcow2");
    mx_image_free(&img);
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "debian-12:current", &img, &err), 0);
    assert_null(img.firmware);
    mx_image_free(&img);
    assert_int_equal(mx_catalog_resolve(&cat, &f->hc, "alpha:zz", &img, &err), -1);
    tu_assert_contains(err.msg, "is not in the catalog");

    /* rm: gone, the name's directory with its last tag, and the others stay */
    assert_int_equal(mx_imported_remove(&f->hc, "alpha:a", &err), 0);
    assert_int_equal(mx_imported_resolve(&f->hc, "alpha:a", &img, &err), 0);
    assert_int_equal(mx_imported_resolve(&f->hc, "alpha:b", &img, &err), 1);
    mx_image_free(&img);
    assert_int_equal(mx_imported_remove(&f->hc, "alpha:b", &err), 0);
    char *alpha = mx_path_join(f->store, "imported/alpha");
    assert_false(mx_path_exists(alpha));
    assert_int_equal(mx_imported_remove(&f->hc, "alpha:b", &err), -1);
    assert_int_equal(err.status, MX_USAGE);
    assert_int_equal(mx_imported_resolve(&f->hc, "zeta:1", &img, &err), 1);
    mx_image_free(&img);

    /* a broken manifest is an error, not "no such image" */
    tu_write_free(f->store, "imported/zeta/2/manifest.json", "{\"firmware\": \"efi\"}");
    tu_write_free(f->store, "imported/zeta/2/base.qcow2", "");
    assert_int_equal(mx_imported_resolve(&f->hc, "zeta:2", &img, &err), -1);
    tu_assert_contains(err.msg, "unknown firmware");
    free(alpha);
    mx_catalog_free(&cat);
}

/* Nothing from a refused import stays in the store. */
static void assert_store_clean(fixture *f)
{
    char *work = mx_path_join(f->store, "imported/.work");
    const char *argv[] = {"find", work, "-mindepth", "1", NULL};
    mx_buf out;
    mx_buf_init(&out);
    mx_err err = {0};
    mx_proc_run(argv, NULL, &out, &err);
    if (out.len) fail_msg("left behind in %s:\n%s", work, out.data);
    mx_buf_free(&out);
    free(work);
}

static void test_import_refuses_before_booting(void **state)
{
    fixture *f = *state;
    mx_catalog cat;
    mx_err err = {0};
    assert_int_equal(mx_catalog_load(f->images, &cat, &err), 0);
    char *r = raw_disk(f->root, "disk.raw", 1 << 20, 1, 1);
    mx_import_opts o = {.ref = "debian-12:current", .file = r};
    assert_int_equal(mx_image_import(&f->hc, &cat, &o, &no_stop, &err), -1);
    assert_int_equal(err.status, MX_USAGE);
    tu_assert_contains(err.msg, "is an image of the catalog");

    o.ref = "Bad:Ref";
    assert_int_equal(mx_image_import(&f->hc, &cat, &o, &no_stop, &err), -1);
    tu_assert_contains(err.msg, "not an image reference");

    o.ref = "cloud:1";
    o.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(mx_image_import(&f->hc, &cat, &o, &no_stop, &err), -1);
    tu_assert_contains(err.msg, "not imported");
    assert_store_clean(f);

    const char *backing[] = {"-b", "/etc/shadow", "-F", "raw", "-u", NULL};
    char *b = qemu_img_create(f->root, "backing.qcow2", "qcow2", backing);
    o.file = b;
    o.sha256 = NULL;
    assert_int_equal(mx_image_import(&f->hc, &cat, &o, &no_stop, &err), -1);
    tu_assert_contains(err.msg, "backing file");
    assert_store_clean(f);

    char *efi = raw_disk(f->root, "efi.raw", 1 << 20, 0, 1);
    o.file = efi;
    assert_int_equal(mx_image_import(&f->hc, &cat, &o, &no_stop, &err), -1);
    tu_assert_contains(err.msg, "UEFI");
    assert_store_clean(f);

    fake_import(f, "cloud", "1", "aaaa");
    o.file = r;
    assert_int_equal(mx_image_import(&f->hc, &cat, &o, &no_stop, &err), -1);
    tu_assert_contains(err.msg, "imported already");
    free(r), free(b), free(efi);
    mx_catalog_free(&cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sniff_accepts_qcow2_and_partitioned_raw, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sniff_refuses_qcow2_pointing_elsewhere, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sniff_qcow2_header_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sniff_refuses_other_formats, setup, teardown),
        cmocka_unit_test(test_check_info),
        cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_verified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_convert_and_bootable, setup, teardown),
        cmocka_unit_test(test_parse_ref),
        cmocka_unit_test_setup_teardown(test_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_refuses_before_booting, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
