/* JUnit XML test results (store_test_results): parsed on the host with libxml2, bounded, with
 * no DTD at all (a document declaring one is refused before parsing, so no entity is ever
 * expanded: "billion laughs" and external entities cannot reach the parser), summarized per
 * job and kept as timings for `circleci tests split --split-by=timings`. */
#ifndef MX_JUNIT_H
#define MX_JUNIT_H

#include "mx_buf.h"
#include "mx_err.h"

#include <stddef.h>

/* One file's bytes at most, and test cases kept per job at most. */
#define MX_JUNIT_MAX_FILE (16u * 1024 * 1024)
#define MX_JUNIT_MAX_CASES 200000

enum mx_junit_result { MX_JUNIT_PASSED, MX_JUNIT_FAILED, MX_JUNIT_ERROR, MX_JUNIT_SKIPPED };

typedef struct mx_junit_case {
    char *file; /* the testcase's file=, else its suite's; may be NULL */
    char *classname;
    char *name;
    double time; /* seconds; 0 when absent or not a number */
    enum mx_junit_result result;
} mx_junit_case;

typedef struct mx_junit {
    mx_junit_case *v;
    size_t n, cap;
    size_t files;   /* files parsed */
    size_t refused; /* files not parsed (not XML, a DTD, too big); why is in notes */
    size_t dropped; /* cases past MX_JUNIT_MAX_CASES */
    mx_buf notes;   /* one line per refused file */
} mx_junit;

void mx_junit_init(mx_junit *j);
void mx_junit_free(mx_junit *j);

/* Adds the test cases of one file (name: for messages).  A file that is not JUnit XML is
 * noted and skipped, as CircleCI skips what it cannot read; never fails otherwise. */
void mx_junit_add(mx_junit *j, const char *name, const char *data, size_t len);

/* "Tests: 12 (failures 1, errors 0, skipped 2) in 3.2 s" and the slowest cases, up to
 * slowest of them, one per line. */
void mx_junit_summary(const mx_junit *j, size_t slowest, mx_buf *out);

/* The cases as the timings file the guest's `circleci tests split` reads: a JSON array of
 * {"file", "classname", "name", "time"}.  Caller frees. */
char *mx_junit_timings_json(const mx_junit *j);

#endif
