/* JUnit XML on the host: the common shapes, hostile documents (billion laughs, external
 * entities, not XML, deep nesting) refused or read without expanding anything, the summary
 * and the timings file. */
#include "test_util.h"

#include "junit.h"

static void add(mx_junit *j, const char *name, const char *xml)
{
    mx_junit_add(j, name, xml, strlen(xml));
}

static void test_shapes_and_summary(void **state)
{
    (void)state;
    mx_junit j;
    mx_junit_init(&j);
    add(&j, "a.xml",
        "<?xml version=\"1.0\"?>\n<testsuites><testsuite name=\"s\" file=\"spec/a_spec.rb\">"
        "<testcase classname=\"A\" name=\"works\" time=\"0.5\"/>"
        "<testcase classname=\"A\" name=\"breaks\" time=\"1,200.25\"><failure message=\"x\">"
        "boom</failure></testcase>"
        "<testcase classname=\"A\" name=\"later\" time=\"0\"><skipped/></testcase>"
        "<testsuite name=\"nested\"><testcase classname=\"B\" name=\"err\" file=\"b.py\" "
        "time=\"2\"><error/></testcase></testsuite>"
        "</testsuite></testsuites>");
    add(&j, "b.xml", "<testsuite><testcase name=\"bare\" time=\"oops\"/></testsuite>");
    assert_int_equal(j.n, 5);
    assert_int_equal(j.files, 2);
    assert_string_equal(j.v[0].file, "spec/a_spec.rb"); /* the suite's file */
    assert_string_equal(j.v[3].file, "b.py");           /* its own wins */
    assert_true(j.v[1].time > 1200.2 && j.v[1].time < 1200.3);
    assert_int_equal(j.v[1].result, MX_JUNIT_FAILED);
    assert_int_equal(j.v[2].result, MX_JUNIT_SKIPPED);
    assert_int_equal(j.v[3].result, MX_JUNIT_ERROR);
    assert_true(j.v[4].time == 0);
    assert_null(j.v[4].classname);
    mx_buf s;
    mx_buf_init(&s);
    mx_junit_summary(&j, 2, &s);
    mx_buf_adds(&s, "");
    tu_assert_contains(s.data, "Tests: 5 (failures 1, errors 1, skipped 1)");
    tu_assert_contains(s.data, "from 2 files");
    tu_assert_contains(s.data, "Slowest:\n  1200.250 s  A breaks\n     2.000 s  B err\n");
    tu_assert_not_contains(s.data, "works");
    mx_buf_free(&s);
    char *json = mx_junit_timings_json(&j);
    tu_assert_contains(json,
                       "{\"file\":\"b.py\",\"classname\":\"B\",\"name\":\"err\",\"time\":2.0}");
    tu_assert_contains(json, "{\"name\":\"bare\",\"time\":0.0}]");
    free(json);
    mx_junit_free(&j);
}

static void test_billion_laughs_refused(void **state)
{
    (void)state;
    const char *lol = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
                      " <!ENTITY lol \"lol\">\n"
                      " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                      " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
                      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                      " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
                      " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
                      " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
                      " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
                      " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
                      " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
                      "]>\n<testsuite><testcase name=\"&lol9;\" classname=\"&lol9;\"/></testsuite>";
    mx_junit j;
    mx_junit_init(&j);
    add(&j, "lol.xml", lol);
    assert_int_equal(j.n, 0);
    assert_int_equal(j.refused, 1);
    mx_buf_adds(&j.notes, "");
    tu_assert_contains(j.notes.data, "lol.xml: not read: it declares a DTD");
    /* an external entity: refused the same way, nothing read from the host */
    add(&j, "xxe.xml",
        "<!DOCTYPE t [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><testsuite>"
        "<testcase name=\"&x;\"/></testsuite>");
    assert_int_equal(j.refused, 2);
    assert_int_equal(j.n, 0);
    mx_junit_free(&j);
}

static void test_undeclared_entity_and_junk(void **state)
{
    (void)state;
    mx_junit j;
    mx_junit_init(&j);
    /* without a DTD an entity reference is not well-formed: refused, not expanded */
    add(&j, "ent.xml", "<testsuite><testcase name=\"&x;\"/></testsuite>");
    add(&j, "junk.xml", "not xml at all \x01\x02");
    add(&j, "html.xml", "<html><body/></html>");
    char *deep = mx_xcalloc(200001, 1);
    for (int i = 0; i < 100000; i++)
        memcpy(deep + i * 2, "<a", 2); // NOLINT(bugprone-not-null-terminated-result): unclosed tags
    add(&j, "deep.xml", deep);
    free(deep);
    assert_int_equal(j.n, 0);
    assert_int_equal(j.refused, 4);
    mx_buf_adds(&j.notes, "");
    tu_assert_contains(j.notes.data, "html.xml: not read: not JUnit XML");
    tu_assert_contains(j.notes.data, "junk.xml: not read: not well-formed XML");
    /* predefined entities are plain text */
    add(&j, "ok.xml", "<testsuite><testcase name=\"a &amp; b &lt;c&gt;\"/></testsuite>");
    assert_int_equal(j.n, 1);
    assert_string_equal(j.v[0].name, "a & b <c>");
    mx_junit_free(&j);
}

static void test_case_cap(void **state)
{
    (void)state;
    mx_junit j;
    mx_junit_init(&j);
    mx_buf x;
    mx_buf_init(&x);
    mx_buf_adds(&x, "<testsuite>");
    for (int i = 0; i < MX_JUNIT_MAX_CASES + 5; i++)
        mx_buf_adds(&x, "<testcase name=\"t\"/>");
    mx_buf_adds(&x, "</testsuite>");
    mx_junit_add(&j, "many.xml", x.data, x.len);
    assert_int_equal(j.n, MX_JUNIT_MAX_CASES);
    assert_int_equal(j.dropped, 5);
    mx_buf_free(&x);
    mx_junit_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes_and_summary),
        cmocka_unit_test(test_billion_laughs_refused),
        cmocka_unit_test(test_undeclared_entity_and_junk),
        cmocka_unit_test(test_case_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
