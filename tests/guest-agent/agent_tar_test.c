/* agent_tar: the container steps' tar writer and owner patcher, checked against GNU tar (which
 * writes the archives the patcher reads and reads the ones the writer writes), and the Engine
 * API stream demultiplexer fed every split of a stream. */
#include "test_util.h"

#include "agent_ctr.h"
#include "agent_tar.h"
#include "mx_proc.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void run_ok(const char *const argv[], mx_buf *out)
{
    mx_err err;
    if (mx_proc_check(argv, NULL, out, &err) < 0) fail_msg("%s", err.msg);
}

static void test_numbers(void **state)
{
    (void)state;
    assert_int_equal(mxt_parse_number((const unsigned char *)"0000644\0", 8), 0644);
    assert_int_equal(mxt_parse_number((const unsigned char *)"  1750 \0", 8), 01750);
    assert_int_equal(mxt_parse_number((const unsigned char *)"\0\0\0\0\0\0\0\0", 8), 0);
    /* GNU base-256: 0x80, then big-endian */
    const unsigned char b256[8] = {0x80, 0, 0, 0, 0, 0x12, 0x34, 0x56};
    assert_int_equal(mxt_parse_number(b256, 8), 0x123456);
    const unsigned char neg[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    assert_int_equal(mxt_parse_number(neg, 8), -1);
    assert_int_equal(mxt_parse_number((const unsigned char *)"12x4\0\0\0\0", 8), -1);
    assert_int_equal(mxt_parse_number((const unsigned char *)"0009\0\0\0\0", 8), -1);
}

/* A tree with a long path, a symlink, an empty file and a fifo. */
static char *make_tree(const char *dir)
{
    char *root = mx_path_join(dir, "tree");
    char *deep = mx_path_join(root, "out/a-directory-whose-name-is-long-enough/"
                                    "to-need-more-than-the-hundred-bytes-of-a-ustar-name/x");
    mx_err err;
    if (mx_mkdir_p(deep, 0755, &err) < 0) fail_msg("%s", err.msg);
    free(tu_write(deep, "file.txt", "deep content\n"));
    char *out = mx_path_join(root, "out");
    free(tu_write(out, "empty", ""));
    char *link = mx_path_join(out, "link");
    assert_int_equal(symlink("empty", link), 0);
    char *fifo = mx_path_join(out, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    free(deep);
    free(out);
    free(link);
    free(fifo);
    return root;
}

static void test_writer_roundtrip(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *root = make_tree(dir);
    char *tar = mx_path_join(dir, "layer.tar");
    int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    char *out = mx_path_join(root, "out");
    long skipped = 0;
    mx_err err;
    if (mxt_write_tree(fd, out, "out", &skipped, &err) < 0 || mxt_write_end(fd, &err) < 0)
        fail_msg("%s", err.msg);
    close(fd);
    assert_int_equal(skipped, 1); /* the fifo */
    /* GNU tar reads it back whole: names over 100 bytes, the link, the empty file */
    char *dest = mx_path_join(dir, "dest");
    assert_int_equal(mkdir(dest, 0700), 0);
    const char *x[] = {"tar", "-xf", tar, "-C", dest, NULL};
    run_ok(x, NULL);
    char *got = mx_path_join(dest, "out");
    const char *diff[] = {"diff", "-r", "--no-dereference", out, got, NULL};
    mx_buf d;
    mx_buf_init(&d);
    mx_proc_run(diff, NULL, &d, &err);
    /* only the fifo differs */
    tu_assert_contains(d.data ? d.data : "", "Only in");
    tu_assert_contains(d.data, "fifo");
    tu_assert_not_contains(d.data, "file.txt");
    mx_buf_free(&d);
    char *lnk = mx_path_join(got, "link");
    char target[64] = "";
    assert_int_equal(readlink(lnk, target, sizeof target - 1), 5);
    assert_string_equal(target, "empty");
    free(lnk);
    free(got);
    free(dest);
    free(out);
    free(tar);
    free(root);
    tu_rmdir(dir);
}

/* Patches tar (written by GNU tar in format) to uid/gid 3434 and lists it numerically. */
static char *patched_listing(const char *dir, const char *format, const char *owner,
                             size_t *size_in, size_t *size_out)
{
    char *root = make_tree(dir);
    char *fifo = mx_path_join(root, "out/fifo");
    unlink(fifo);
    free(fifo);
    char *tar = mx_path_join(dir, "in.tar");
    char *fmt = mx_xasprintf("--format=%s", format);
    char *own = mx_xasprintf("--owner=%s", owner);
    const char *c[] = {"tar", "-C", root, fmt, own, "--group=:7", "-cf", tar, "out", NULL};
    run_ok(c, NULL);
    free(fmt);
    free(own);
    int in = open(tar, O_RDONLY);
    assert_true(in >= 0);
    struct stat st;
    assert_int_equal(fstat(in, &st), 0);
    *size_in = (size_t)st.st_size;
    mxt_patch p;
    mxt_patch_init(&p, in, 3434, 3434);
    char *outp = mx_path_join(dir, "out.tar");
    int out = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    /* odd-sized reads: the patcher keeps its own block boundaries */
    char buf[777];
    size_t got = 0, total = 0;
    mx_err err;
    do {
        if (mxt_patch_read(&p, buf, sizeof buf, &got, &err) < 0) fail_msg("%s", err.msg);
        assert_int_equal(write(out, buf, got), (ssize_t)got);
        total += got;
    } while (got);
    close(out);
    close(in);
    mxt_patch_free(&p);
    *size_out = total;
    const char *l[] = {"tar", "--numeric-owner", "-tvf", outp, NULL};
    mx_buf b;
    mx_buf_init(&b);
    run_ok(l, &b);
    /* and it still extracts */
    char *dest = mx_path_join(dir, "x");
    mkdir(dest, 0700);
    const char *x[] = {"tar", "-xf", outp, "-C", dest, NULL};
    run_ok(x, NULL);
    free(dest);
    free(outp);
    free(tar);
    tu_rmdir(root);
    return mx_buf_steal(&b);
}

static void test_patch_formats(void **state)
{
    (void)state;
    /* GNU (long names as ././@LongLink members), pax (long names in extended headers), and a
     * uid too large for the octal field (pax writes it as a "uid" record, which would win over
     * the header if the patcher left it) */
    const char *cases[][2] = {
        {"gnu", "1234"}, {"pax", "1234"}, {"pax", ":3000000"}, {"gnu", ":3000000"}};
    for (size_t i = 0; i < 4; i++) {
        char *dir = tu_mkdtemp();
        size_t in = 0, out = 0;
        char *list = patched_listing(dir, cases[i][0], cases[i][1], &in, &out);
        assert_int_equal(in, out); /* same length: sent with the file's Content-Length */
        tu_assert_contains(list, "to-need-more-than-the-hundred-bytes-of-a-ustar-name/x/file.txt");
        tu_assert_contains(list, "3434/3434");
        tu_assert_not_contains(list, "1234");
        tu_assert_not_contains(list, "3000000");
        tu_assert_not_contains(list, "/7 ");
        free(list);
        tu_rmdir(dir);
    }
}

static int patch_file(const char *path, mx_err *err)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    mxt_patch p;
    mxt_patch_init(&p, fd, 1, 1);
    char buf[4096];
    size_t got = 0;
    int rc;
    do {
        rc = mxt_patch_read(&p, buf, sizeof buf, &got, err);
    } while (rc == 0 && got);
    mxt_patch_free(&p);
    close(fd);
    return rc;
}

static void test_patch_refuses(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mx_err err;
    /* not a tar archive */
    char *junk = tu_write(dir, "junk",
                          "this is not an archive, but it is long enough to fill a block "
                          "of five hundred and twelve bytes? no: it is short.");
    assert_int_equal(patch_file(junk, &err), -1);
    tu_assert_contains(err.msg, "truncated");
    /* a flipped byte in a header */
    char *src = tu_write(dir, "f.txt", "x\n");
    char *tar = mx_path_join(dir, "a.tar");
    const char *c[] = {"tar", "-C", dir, "-cf", tar, "f.txt", NULL};
    run_ok(c, NULL);
    int fd = open(tar, O_RDWR);
    assert_int_equal(pwrite(fd, "Z", 1, 3), 1);
    close(fd);
    assert_int_equal(patch_file(tar, &err), -1);
    tu_assert_contains(err.msg, "not a tar archive (checksum)");
    /* a member cut short */
    run_ok(c, NULL);
    assert_int_equal(truncate(tar, 512 + 100), 0);
    assert_int_equal(patch_file(tar, &err), -1);
    tu_assert_contains(err.msg, "truncated");
    free(junk);
    free(src);
    free(tar);
    tu_rmdir(dir);
}

typedef struct frames {
    mx_buf out, err;
} frames;

static int on_frame(void *ctx, int stream, const char *data, size_t len, mx_err *err)
{
    (void)err;
    frames *f = ctx;
    mx_buf_add(stream == 2 ? &f->err : &f->out, data, len);
    return 0;
}

static void test_demux_every_split(void **state)
{
    (void)state;
    /* stdout "hello", stderr "oops", an empty frame, stdout "!" */
    const unsigned char s[] = {1, 0, 0, 0, 0, 0, 0, 5,   'h', 'e', 'l', 'l', 'o', 2,
                               0, 0, 0, 0, 0, 0, 4, 'o', 'o', 'p', 's', 1,   0,   0,
                               0, 0, 0, 0, 0, 1, 0, 0,   0,   0,   0,   0,   1,   '!'};
    for (size_t cut1 = 0; cut1 <= sizeof s; cut1++)
        for (size_t cut2 = cut1; cut2 <= sizeof s; cut2++) {
            mxc_demux d = {0};
            frames f;
            mx_buf_init(&f.out);
            mx_buf_init(&f.err);
            mx_err err;
            const char *p = (const char *)s;
            assert_int_equal(mxc_demux_feed(&d, p, cut1, on_frame, &f, &err), 0);
            assert_int_equal(mxc_demux_feed(&d, p + cut1, cut2 - cut1, on_frame, &f, &err), 0);
            assert_int_equal(mxc_demux_feed(&d, p + cut2, sizeof s - cut2, on_frame, &f, &err), 0);
            assert_int_equal(f.out.len, 6);
            assert_memory_equal(f.out.data, "hello!", 6);
            assert_int_equal(f.err.len, 4);
            assert_memory_equal(f.err.data, "oops", 4);
            mx_buf_free(&f.out);
            mx_buf_free(&f.err);
        }
    /* a frame header that is not one */
    const unsigned char bad[] = {7, 0, 0, 0, 0, 0, 0, 1, 'x'};
    mxc_demux d = {0};
    frames f;
    mx_buf_init(&f.out);
    mx_buf_init(&f.err);
    mx_err err;
    assert_int_equal(mxc_demux_feed(&d, (const char *)bad, sizeof bad, on_frame, &f, &err), -1);
    tu_assert_contains(err.msg, "bad frame");
    mx_buf_free(&f.out);
    mx_buf_free(&f.err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),           cmocka_unit_test(test_writer_roundtrip),
        cmocka_unit_test(test_patch_formats),     cmocka_unit_test(test_patch_refuses),
        cmocka_unit_test(test_demux_every_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
