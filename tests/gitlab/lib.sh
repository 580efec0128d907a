# shellcheck shell=bash
# Shared by the GitLab driver's VM tests (sourced): tests/vm/lib.sh (own state directory, host
# config with the test.small class, expect_* helpers) plus running a job through runner.py,
# which plays GitLab Runner's part.  Runs inside tests/vm/netns-run.sh.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../vm/lib.sh"
GL=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# gl_job JOB.json [runner.py ARGS...]: the job log in $T/out (stderr of runner.py in $T/err),
# runner.py's verdict in $rc (0 passed, 1 build failure, 2 system failure, 3 cancelled).
gl_job() {
    rc=0
    /usr/bin/python3 "$GL/runner.py" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
}

# A job spec: gl_spec ID 'SCRIPT JSON ARRAY' 'AFTER_SCRIPT JSON ARRAY' ['EXTRA JSON MEMBERS']
gl_spec() {
    cat >"$T/job-$1.json" <<JSON
{"id": $1, "runner_id": 1, "name": "build", "image": "${GL_IMAGE:-debian-12:current}",
 "variables": [{"key": "MEXEC_RESOURCE_CLASS", "value": "test.small"}${GL_VARS:-}],
 "script": $2, "after_script": $3 ${4:+, $4}}
JSON
    echo "$T/job-$1.json"
}
