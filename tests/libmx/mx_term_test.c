/* mx_term: what reaches the terminal cannot rewrite it, however the stream is chunked. */
#include "test_util.h"

#include "mx_term.h"

/* data fed cut at every position in two, and byte by byte, all give the same result */
static char *filter_all_splits(const char *data, size_t len)
{
    mx_buf whole;
    mx_buf_init(&whole);
    mx_buf_add(&whole, "", 0);
    mx_term t;
    mx_term_init(&t);
    mx_term_feed(&t, data, len, &whole);
    mx_term_end(&t, &whole);
    for (size_t cut = 0; cut <= len; cut++) {
        mx_buf b;
        mx_buf_init(&b);
        mx_buf_add(&b, "", 0);
        mx_term_feed(&t, data, cut, &b);
        mx_term_feed(&t, data + cut, len - cut, &b);
        mx_term_end(&t, &b);
        if (b.len != whole.len || memcmp(b.data, whole.data, b.len) != 0)
            fail_msg("cut at %zu of \"%s\": \"%s\" vs \"%s\"", cut, data, b.data, whole.data);
        mx_buf_free(&b);
    }
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_add(&b, "", 0);
    for (size_t i = 0; i < len; i++)
        mx_term_feed(&t, data + i, 1, &b);
    mx_term_end(&t, &b);
    if (b.len != whole.len || memcmp(b.data, whole.data, b.len) != 0)
        fail_msg("byte by byte of \"%s\": \"%s\" vs \"%s\"", data, b.data, whole.data);
    mx_buf_free(&b);
    return mx_buf_steal(&whole);
}

static void check(const char *in, const char *want)
{
    char *got = filter_all_splits(in, strlen(in));
    if (strcmp(got, want) != 0) fail_msg("\"%s\": got \"%s\", want \"%s\"", in, got, want);
    free(got);
}

static void test_text_and_colours_kept(void **state)
{
    (void)state;
    check("plain text\n\tindented\n", "plain text\n\tindented\n");
    check("", "");
    /* SGR colours pass; the end of the stream resets them */
    check("\x1b[31mred\x1b[0m ok\n", "\x1b[31mred\x1b[0m ok\n\x1b[0m");
    check("\x1b[1;38;5;196mx\x1b[m\n", "\x1b[1;38;5;196mx\x1b[m\n\x1b[0m");
    check("\x1b[38:2:10:20:30mx\n", "\x1b[38:2:10:20:30mx\n\x1b[0m");
    /* UTF-8 passes whole, also when split inside a character */
    check("gr\xc3\xbc\xc3\x9f \xe2\x9c\x93 \xf0\x9f\x98\x80\n",
          "gr\xc3\xbc\xc3\x9f \xe2\x9c\x93 \xf0\x9f\x98\x80\n");
}

static void test_rewriting_dropped(void **state)
{
    (void)state;
    /* OSC 52 (clipboard) and OSC 0 (title), ended by BEL or by ST */
    check("a\x1b]52;c;ZWNobyBwd25lZA==\x07"
          "b\n",
          "ab\n");
    check("a\x1b]0;owned\x1b\\b\n", "ab\n");
    /* DCS, SOS, PM, APC bodies */
    check("a\x1bPq#0;2;0;0;0\x1b\\b\x1bXsos\x1b\\c\x1b^pm\x1b\\d\x1b_apc\x1b\\e\n", "abcde\n");
    /* cursor movement, erase, save/restore, reset, scroll region, private modes */
    check("x\x1b[2K\x1b[1A\x1b[10;20H\x1b[?25l\x1b[3;5r\x1b"
          "7\x1b"
          "8\x1b"
          "cy\n",
          "xy\n");
    /* a CSI that looks like SGR but is not one */
    check("a\x1b[>4;2mb\x1b[ m\n", "ab\n");
    /* charset designation (ESC ( B), keypad modes */
    check("a\x1b(Bb\x1b=c\x1b>d\n", "abcd\n");
    /* other C0 controls and DEL: backspace could erase a prefix already shown */
    check("JOB | ok\b\b\b\b\b\b\b\bFAKE | x\x7f\x01\x07\n", "JOB | okFAKE | x\n");
    /* a lone \r would let a line overwrite the one before: shown as a new line */
    check("10%\r50%\r100%\r\n", "10%\n50%\n100%\n");
    check("a\r\nb\r\r\nc\r", "a\nb\n\nc\n");
    check("other | fake success\rreal\n", "other | fake success\nreal\n");
}

static void test_broken_input(void **state)
{
    (void)state;
    /* an OSC without terminator ends with its line: the rest of the output is kept */
    check("a\x1b]0;no end\nnext\n", "a\nnext\n");
    /* a lone ESC, and ESC before text */
    check("a\x1b", "a");
    check("a\x1b\nb", "a\nb");
    /* a CSI broken by a control byte: the byte counts on its own */
    check("a\x1b[12\nb\n", "a\nb\n");
    /* an SGR with absurdly many parameters is dropped */
    char big[200];
    int at = snprintf(big, sizeof big, "\x1b[");
    for (int i = 0; i < 60; i++)
        at += snprintf(big + at, sizeof big - (size_t)at, "1;");
    snprintf(big + at, sizeof big - (size_t)at, "31mx");
    check(big, "x");
    /* invalid UTF-8: one U+FFFD per stray byte, cut-short sequences too */
    check("a\xff"
          "b\xc3(\n",
          "a\xef\xbf\xbd"
          "b\xef\xbf\xbd(\n");
    check("\xe2\x9c", "\xef\xbf\xbd");
    check("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate */
    /* C1 controls, 8-bit and as UTF-8 (U+009B is CSI to some terminals) */
    check("a\x9b"
          "2Kb\n",
          "a\xef\xbf\xbd"
          "2Kb\n");
    check("a\xc2\x9b"
          "2Kb\xc2\xa0\n",
          "a2Kb\xc2\xa0\n");
    /* ST inside a string that another ESC sequence follows */
    check("a\x1b]0;t\x1b[31mred\n", "a\x1b[31mred\n\x1b[0m");
}

static void test_safe_text(void **state)
{
    (void)state;
    mx_secrets s;
    mx_secrets_init(&s);
    mx_secrets_add(&s, "hunter22");
    char *t = mx_term_safe(&s, "pw hunter22\x1b]52;c;aHVudGVyMjI=\x07 done");
    assert_string_equal(t, "pw ******** done");
    free(t);
    t = mx_term_safe(NULL, "\x1b[2Jcleared");
    assert_string_equal(t, "cleared");
    free(t);
    t = mx_term_text("x\ry");
    assert_string_equal(t, "x\ny");
    free(t);
    mx_secrets_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_colours_kept),
        cmocka_unit_test(test_rewriting_dropped),
        cmocka_unit_test(test_broken_input),
        cmocka_unit_test(test_safe_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
