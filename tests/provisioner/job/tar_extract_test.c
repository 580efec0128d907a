/* Unpacking a guest's tar on the host: files and directories only, under the destination,
 * nothing through a symlink, names that leave refused, caps. Archives are made with tar(1). */
#include "test_util.h"

#include "tar_extract.h"

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL;
    assert_true(vasprintf(&cmd, fmt, ap) > 0);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static mx_tar_limits lim = {.max_bytes = 1 << 20, .max_files = 100};

static void test_files_dirs_and_skips(void **state)
{
    (void)state;
    char *t = tu_mkdtemp();
    tu_write_free(t, "src/a/b.txt", "hello");
    tu_write_free(t, "src/c.log", "x");
    sh("cd %s/src && chmod 4755 c.log && ln -s /etc/passwd link && mkfifo fifo && "
       "echo h > h1 && ln h1 h2 && tar -cf ../in.tar .",
       t);
    char *tar = mx_path_join(t, "in.tar"), *dest = mx_path_join(t, "out");
    mx_tar_result r;
    mx_err err;
    assert_int_equal(mx_tar_extract(tar, dest, "build/logs", &lim, &r, &err), 0);
    char *p = mx_path_join(dest, "build/logs/a/b.txt");
    char *got = tu_read(p);
    assert_string_equal(got, "hello");
    free(got);
    free(p);
    p = mx_path_join(dest, "build/logs/c.log");
    assert_int_equal(tu_mode(p), 0644); /* no setuid from the guest */
    free(p);
    p = mx_path_join(dest, "build/logs/link");
    struct stat st;
    assert_int_equal(lstat(p, &st), -1); /* symlinks are not made */
    free(p);
    /* b.txt, c.log and the first of h1/h2 written; the symlink, the fifo and the second name
     * of the hard link skipped */
    assert_int_equal(r.nfiles, 3);
    assert_int_equal(r.skipped, 3);
    assert_int_equal(r.bytes, 8);
    mx_tar_result_free(&r);
    free(tar);
    free(dest);
    tu_rmdir(t);
}

/* A member whose name leaves the destination: written with python's tarfile, which stores
 * names as given. */
static void test_escapes_refused(void **state)
{
    (void)state;
    char *t = tu_mkdtemp();
    sh("cd %s && python3 -c \"import tarfile,io\n"
       "with tarfile.open('up.tar','w') as f:\n"
       "  i=tarfile.TarInfo('ok/../../escaped'); i.size=1; f.addfile(i, io.BytesIO(b'x'))\"",
       t);
    sh("cd %s && python3 -c \"import tarfile,io\n"
       "with tarfile.open('abs.tar','w') as f:\n"
       "  i=tarfile.TarInfo('/tmp/abs-escape'); i.size=1; f.addfile(i, io.BytesIO(b'x'))\"",
       t);
    /* a symlink to a directory outside, then a file through it */
    sh("cd %s && python3 -c \"import tarfile,io\n"
       "with tarfile.open('via.tar','w') as f:\n"
       "  l=tarfile.TarInfo('d'); l.type=tarfile.SYMTYPE; l.linkname='%s/victim'; f.addfile(l)\n"
       "  i=tarfile.TarInfo('d/owned'); i.size=1; f.addfile(i, io.BytesIO(b'x'))\"",
       t, t);
    char *victim = mx_path_join(t, "victim");
    tu_mkdir(victim, 0755);
    mx_tar_result r;
    mx_err err;
    char *dest = mx_path_join(t, "out/x");
    char *up = mx_path_join(t, "up.tar"), *abs = mx_path_join(t, "abs.tar"),
         *via = mx_path_join(t, "via.tar");
    assert_int_equal(mx_tar_extract(up, dest, NULL, &lim, &r, &err), -1);
    tu_assert_contains(err.msg, "outside its directory");
    mx_tar_result_free(&r);
    char *esc = mx_path_join(t, "out/escaped");
    assert_false(mx_path_exists(esc));
    free(esc);
    assert_int_equal(mx_tar_extract(abs, dest, NULL, &lim, &r, &err), -1);
    mx_tar_result_free(&r);
    assert_int_equal(mx_tar_extract(via, dest, NULL, &lim, &r, &err), 0);
    /* the symlink was skipped, so d/owned is a real directory and file under dest */
    char *owned = mx_path_join(victim, "owned");
    assert_false(mx_path_exists(owned));
    free(owned);
    char *in = mx_path_join(dest, "d/owned");
    assert_true(mx_path_exists(in));
    free(in);
    mx_tar_result_free(&r);
    free(up);
    free(abs);
    free(via);
    free(dest);
    free(victim);
    tu_rmdir(t);
}

static void test_caps(void **state)
{
    (void)state;
    char *t = tu_mkdtemp();
    sh("cd %s && mkdir s && head -c 5000 /dev/zero > s/big && for i in 1 2 3 4; do echo $i > "
       "s/f$i; done && tar -cf in.tar -C s .",
       t);
    char *tar = mx_path_join(t, "in.tar"), *dest = mx_path_join(t, "out");
    mx_tar_result r;
    mx_err err;
    mx_tar_limits small = {.max_bytes = 4000, .max_files = 100};
    assert_int_equal(mx_tar_extract(tar, dest, NULL, &small, &r, &err), -1);
    tu_assert_contains(err.msg, "more bytes than the host keeps");
    mx_tar_result_free(&r);
    mx_tar_limits few = {.max_bytes = 1 << 20, .max_files = 3};
    assert_int_equal(mx_tar_extract(tar, dest, NULL, &few, &r, &err), -1);
    tu_assert_contains(err.msg, "more than 3 files");
    mx_tar_result_free(&r);
    char *junk = tu_write(t, "junk.tar", "this is not a tar file at all, just text........");
    assert_int_equal(mx_tar_extract(junk, dest, NULL, &lim, &r, &err), -1);
    mx_tar_result_free(&r);
    free(junk);
    free(tar);
    free(dest);
    tu_rmdir(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_dirs_and_skips),
        cmocka_unit_test(test_escapes_refused),
        cmocka_unit_test(test_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
