/* Helpers shared by the unit tests: temporary directories and small file operations that fail
 * the test (not return codes) when the machinery itself breaks. */
#ifndef MX_TEST_UTIL_H
#define MX_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
/* cmocka's failure (fail_msg, every assert_*) never returns (it leaves the test by longjmp or
 * exit) but is not declared so: saying it lets the compilers and clang's analyzer see that
 * nothing after a failed check runs. */
void _fail(const char *const file, const int line) __attribute__((noreturn));

#include "mx_buf.h"
#include "mx_err.h"
#include "mx_fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory under $TMPDIR (or /tmp); caller frees and removes with tu_rmdir(). */
static inline char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = mx_xasprintf("%s/mexec-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        fail_msg("mkdtemp failed");
        return NULL; /* fail_msg does not return; the analyzers do not know it */
    }
    /* realpath: some tests compare against what a child process sees as its cwd */
    char *real = realpath(tmpl, NULL);
    free(tmpl);
    assert_non_null(real);
    return real;
}

static inline void tu_rmdir(char *dir)
{
    if (!dir) return;
    mx_err err;
    if (mx_rm_rf(dir, &err) < 0) fprintf(stderr, "cleanup: %s\n", err.msg);
    free(dir);
}

/* Creates dir and its missing parents. */
static inline void tu_mkdir(const char *dir, mode_t mode)
{
    mx_err err;
    if (mx_mkdir_p(dir, mode, &err) < 0) fail_msg("%s", err.msg);
}

/* The permission bits of path itself (a symlink is not followed). */
static inline mode_t tu_mode(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) fail_msg("lstat %s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

/* Writes text to dir/name, creating parent directories. */
static inline char *tu_write(const char *dir, const char *name, const char *text)
{
    char *path = mx_path_join(dir, name);
    char *parent = mx_dirname(path);
    tu_mkdir(parent, 0755);
    free(parent);
    mx_err err;
    if (mx_write_file(path, text, strlen(text), 0644, &err) < 0) fail_msg("%s", err.msg);
    return path;
}

static inline void tu_write_free(const char *dir, const char *name, const char *text)
{
    free(tu_write(dir, name, text));
}

/* The file's contents (NUL-terminated); fails the test if it cannot be read. */
static inline char *tu_read(const char *path)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_err err;
    if (mx_read_file(path, &b, &err) < 0) fail_msg("%s", err.msg);
    return mx_buf_steal(&b);
}

/* dir/name must hold exactly want. */
static inline void tu_assert_file(const char *dir, const char *name, const char *want)
{
    char *path = mx_path_join(dir, name);
    char *got = tu_read(path);
    assert_string_equal(got, want);
    free(got);
    free(path);
}

#define tu_assert_contains(haystack, needle)                                                       \
    do {                                                                                           \
        const char *h_ = (haystack), *n_ = (needle);                                               \
        if (!h_ || !strstr(h_, n_))                                                                \
            fail_msg("expected to find \"%s\" in \"%s\"", n_, h_ ? h_ : "(null)");                 \
    } while (0)

#define tu_assert_not_contains(haystack, needle)                                                   \
    do {                                                                                           \
        const char *h_ = (haystack), *n_ = (needle);                                               \
        if (h_ && strstr(h_, n_)) fail_msg("did not expect \"%s\" in \"%s\"", n_, h_);             \
    } while (0)

#endif
