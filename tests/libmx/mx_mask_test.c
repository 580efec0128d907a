/* mx_mask: secrets never reach the output, however the stream is chunked. */
#include "test_util.h"

#include "mx_mask.h"

static void to_buf(void *ctx, const char *data, size_t len)
{
    assert_true(len > 0); /* an empty emit is harmless but means a bookkeeping slip */
    mx_buf_add(ctx, data, len);
}

/* Feeds text cut at the given positions (sorted, each within 0..len), then flushes. */
static char *mask_chunks(const mx_secrets *s, const char *text, size_t len, const size_t *cuts,
                         size_t ncuts)
{
    mx_buf out;
    mx_buf_init(&out);
    mx_mask_stream m;
    mx_mask_stream_init(&m, s);
    size_t prev = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        mx_mask_feed(&m, text + prev, end - prev, to_buf, &out);
        prev = end;
    }
    mx_mask_flush(&m, to_buf, &out);
    mx_mask_stream_free(&m);
    if (!out.data) mx_buf_add(&out, "", 0);
    return mx_buf_steal(&out);
}

/* Every way to cut text into 2 and 3 chunks, and byte by byte, gives `want`. */
static void check_all_splits(const mx_secrets *s, const char *text, const char *want)
{
    size_t len = strlen(text);
    char *got = mask_chunks(s, text, len, NULL, 0);
    assert_string_equal(got, want);
    free(got);
    for (size_t a = 0; a <= len; a++) {
        size_t cut1[1] = {a};
        got = mask_chunks(s, text, len, cut1, 1);
        if (strcmp(got, want) != 0)
            fail_msg("split at %zu of \"%s\": got \"%s\", want \"%s\"", a, text, got, want);
        free(got);
        for (size_t b = a; b <= len; b++) {
            size_t cut2[2] = {a, b};
            got = mask_chunks(s, text, len, cut2, 2);
            if (strcmp(got, want) != 0)
                fail_msg("split at %zu,%zu of \"%s\": got \"%s\", want \"%s\"", a, b, text, got,
                         want);
            free(got);
        }
    }
    size_t *every = mx_xcalloc(len + 1, sizeof *every);
    for (size_t i = 0; i < len; i++)
        every[i] = i + 1;
    got = mask_chunks(s, text, len, every, len ? len - 1 : 0);
    if (strcmp(got, want) != 0) fail_msg("byte by byte: got \"%s\", want \"%s\"", got, want);
    free(got);
    free(every);
}

static void secrets_of(mx_secrets *s, const char *const *values)
{
    mx_secrets_init(s);
    for (; *values; values++)
        mx_secrets_add(s, *values);
}

static void test_single_chunk(void **state)
{
    (void)state;
    mx_secrets s;
    secrets_of(&s, (const char *const[]){"hunter22", NULL});
    char *m = mx_secrets_mask(&s, "password is hunter22, again: hunter22hunter22.");
    assert_string_equal(m, "password is " MX_MASK_TEXT ", again: " MX_MASK_TEXT MX_MASK_TEXT ".");
    free(m);
    m = mx_secrets_mask(&s, "nothing to hide");
    assert_string_equal(m, "nothing to hide");
    free(m);
    m = mx_secrets_mask(&s, "");
    assert_string_equal(m, "");
    free(m);
    m = mx_secrets_mask(&s, "hunter22");
    assert_string_equal(m, MX_MASK_TEXT);
    free(m);
    mx_secrets_free(&s);
}

static void test_split_every_position(void **state)
{
    (void)state;
    mx_secrets s;
    secrets_of(&s, (const char *const[]){"s3cr3t-token", "p4ss", NULL});
    check_all_splits(&s, "token=s3cr3t-token and p4ss!",
                     "token=" MX_MASK_TEXT " and " MX_MASK_TEXT "!");
    check_all_splits(&s, "s3cr3t-tokens3cr3t-token", MX_MASK_TEXT MX_MASK_TEXT);
    check_all_splits(&s, "p4sp4ss", "p4s" MX_MASK_TEXT);
    check_all_splits(&s, "ss3cr3t-tokenn", "s" MX_MASK_TEXT "n");
    mx_secrets_free(&s);
}

static void test_overlapping_longest_wins(void **state)
{
    (void)state;
    mx_secrets s;
    /* added shortest first: the order of adding must not matter */
    secrets_of(&s, (const char *const[]){"abcd", "abcdef", "abcdefgh", NULL});
    check_all_splits(&s, "xabcdefghy", "x" MX_MASK_TEXT "y");
    check_all_splits(&s, "xabcdefy", "x" MX_MASK_TEXT "y");
    check_all_splits(&s, "xabcdey", "x" MX_MASK_TEXT "ey");
    /* the longer secret starting later does not leave part of it visible */
    check_all_splits(&s, "abcdefgabcdefgh", MX_MASK_TEXT "g" MX_MASK_TEXT);
    mx_secrets_free(&s);

    secrets_of(&s, (const char *const[]){"aaaa", "aaaaaa", NULL});
    check_all_splits(&s, "aaaaaaaaaa", MX_MASK_TEXT MX_MASK_TEXT);
    mx_secrets_free(&s);
}

static void test_secret_at_end_of_stream(void **state)
{
    (void)state;
    mx_secrets s;
    secrets_of(&s, (const char *const[]){"topsecret", "topsecret-extended", NULL});
    /* "topsecret" could still grow into the longer one: only the flush decides */
    mx_buf out;
    mx_buf_init(&out);
    mx_mask_stream m;
    mx_mask_stream_init(&m, &s);
    mx_mask_feed(&m, "value: topsecret", 16, to_buf, &out);
    assert_null(out.data ? strstr(out.data, "topsecret") : NULL);
    assert_true(out.len <= strlen("value: "));
    mx_mask_flush(&m, to_buf, &out);
    assert_string_equal(out.data, "value: " MX_MASK_TEXT);
    /* a flush with nothing held emits nothing */
    size_t before = out.len;
    mx_mask_flush(&m, to_buf, &out);
    assert_int_equal(out.len, before);
    mx_mask_stream_free(&m);
    mx_buf_free(&out);
    check_all_splits(&s, "topsecret", MX_MASK_TEXT);
    check_all_splits(&s, "topsecret-extended", MX_MASK_TEXT);
    check_all_splits(&s, "topsecret-extende", MX_MASK_TEXT "-extende");
    mx_secrets_free(&s);
}

static void test_near_miss_released(void **state)
{
    (void)state;
    mx_secrets s;
    secrets_of(&s, (const char *const[]){"correcthorse", NULL});
    check_all_splits(&s, "correcthors", "correcthors");      /* prefix, then end */
    check_all_splits(&s, "correcthorsE", "correcthorsE");    /* differs in the last byte */
    check_all_splits(&s, "ccorrecthorse", "c" MX_MASK_TEXT); /* starts one byte late */
    check_all_splits(&s, "correctcorrecthorse", "correct" MX_MASK_TEXT);
    /* a held-back prefix comes out once the next byte rules the secret out */
    mx_buf out;
    mx_buf_init(&out);
    mx_mask_stream m;
    mx_mask_stream_init(&m, &s);
    mx_mask_feed(&m, "abc correct", 11, to_buf, &out);
    assert_string_equal(out.data, "abc ");
    mx_mask_feed(&m, "ion", 3, to_buf, &out);
    assert_string_equal(out.data, "abc correction");
    mx_mask_stream_free(&m);
    mx_buf_free(&out);
    mx_secrets_free(&s);
}

static void test_binary_and_no_secrets(void **state)
{
    (void)state;
    mx_secrets s;
    mx_secrets_init(&s);
    /* no secrets: bytes pass through untouched, NULs included, nothing held back */
    mx_buf out;
    mx_buf_init(&out);
    mx_mask_stream m;
    mx_mask_stream_init(&m, &s);
    mx_mask_feed(&m, "a\0b", 3, to_buf, &out);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "a\0b", 3);
    mx_mask_flush(&m, to_buf, &out);
    assert_int_equal(out.len, 3);
    mx_mask_stream_free(&m);
    mx_buf_free(&out);

    mx_secrets_add(&s, "\xff\xfe\x00"); /* as a C string: two bytes, too short */
    assert_int_equal(s.n, 0);
    mx_secrets_add(&s, "k\xc3\xa9y!");
    mx_mask_stream_init(&m, &s);
    mx_mask_feed(&m, "\0k\xc3", 3, to_buf, &out);
    mx_mask_feed(&m, "\xa9y!\0", 4, to_buf, &out);
    mx_mask_flush(&m, to_buf, &out);
    assert_int_equal(out.len, 2 + strlen(MX_MASK_TEXT));
    assert_memory_equal(out.data, "\0" MX_MASK_TEXT "\0", out.len);
    mx_mask_stream_free(&m);
    mx_buf_free(&out);
    mx_secrets_free(&s);
}

static void test_short_and_boolean_not_masked(void **state)
{
    (void)state;
    mx_secrets s;
    secrets_of(&s, (const char *const[]){"", "a", "ab", "abc", "true", "false", "TRUE", "False",
                                         "yes", "no", "on", "off", NULL});
    assert_int_equal(s.n, 0);
    char *m = mx_secrets_mask(&s, "abc true false TRUE yes off");
    assert_string_equal(m, "abc true false TRUE yes off");
    free(m);
    /* exactly MX_MASK_MIN_LEN is masked; "truex" is not a boolean */
    mx_secrets_add(&s, "abcd");
    mx_secrets_add(&s, "truex");
    assert_int_equal(s.n, 2);
    m = mx_secrets_mask(&s, "abc abcd true truex");
    assert_string_equal(m, "abc " MX_MASK_TEXT " true " MX_MASK_TEXT);
    free(m);
    mx_secrets_free(&s);
}

static void test_secrets_add_sorted_unique(void **state)
{
    (void)state;
    mx_secrets s;
    secrets_of(&s, (const char *const[]){"mid-len", "short", "a-much-longer-one", "mid-len",
                                         "xshort", "short", NULL});
    assert_int_equal(s.n, 4);
    for (size_t i = 1; i < s.n; i++)
        assert_true(strlen(s.v[i - 1]) >= strlen(s.v[i]));
    assert_string_equal(s.v[0], "a-much-longer-one");
    assert_string_equal(s.v[3], "short");
    mx_secrets_free(&s);
    assert_int_equal(s.n, 0);
    assert_null(s.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_chunk),
        cmocka_unit_test(test_split_every_position),
        cmocka_unit_test(test_overlapping_longest_wins),
        cmocka_unit_test(test_secret_at_end_of_stream),
        cmocka_unit_test(test_near_miss_released),
        cmocka_unit_test(test_binary_and_no_secrets),
        cmocka_unit_test(test_short_and_boolean_not_masked),
        cmocka_unit_test(test_secrets_add_sorted_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
