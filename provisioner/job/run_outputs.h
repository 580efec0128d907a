/* What a `mexec run` keeps: artifacts and test results under ARTIFACTS_DIR/RUN_ID/JOB/NODE/
 * (artifacts/..., test-results/...), listed with their sizes when the run ends. */
#ifndef MX_RUN_OUTPUTS_H
#define MX_RUN_OUTPUTS_H

#include <stdio.h>

/* A new run id: "YYYYmmdd-HHMMSS-PID" (UTC).  Caller frees. */
char *mx_run_id_new(void);

/* The default artifacts directory: ./mexec-artifacts made absolute.  Caller frees. */
char *mx_run_artifacts_default(void);

/* Lists every file of the run (paths relative to DIR/RUN_ID, sorted, with sizes) on out;
 * nothing when the run kept nothing.  Returns the number of files. */
size_t mx_run_outputs_report(const char *artifacts_dir, const char *run_id, FILE *out);

#endif
