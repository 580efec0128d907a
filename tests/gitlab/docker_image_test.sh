#!/bin/bash
# A GitLab job whose image is a container image: a private job image (credentials from
# DOCKER_AUTH_CONFIG, token auth) and a service from another registry (the job payload's
# credentials, htpasswd over TLS) reached by its alias; the sources the VM fetched are in the
# job container; the job log says where credentials came from; no secret printed.  Then an
# image that does not exist: prepare fails with BUILD_FAILURE_EXIT_CODE (the job's mistake, not
# retried as a system failure).  Nothing left.
if [[ -z ${MX_REG_TLS:-} ]]; then
    oci=$("$(dirname "$0")/../registry/test-images.sh" --path) || exit 1
    export MX_REG_IN_NETNS=1 MX_REG_REALM_HOST=10.0.2.2 MX_REG_EXTRA_IMAGE=$oci:tools
    exec "$(dirname "$0")/../registry/with-registries.sh" "$0" "$@"
fi
# shellcheck source=tests/gitlab/lib.sh
source "$(dirname "$0")/lib.sh"
use_test_registries
auth=$(printf 'alice:secret' | base64)
dac="{\\\"auths\\\": {\\\"10.0.2.2:$token\\\": {\\\"auth\\\": \\\"$auth\\\"}}}"
GL_VARS=", {\"key\": \"DOCKER_AUTH_CONFIG\", \"value\": \"$dac\"},
  {\"key\": \"DATABASE_URL\", \"value\": \"redis://cache:6379/0\"},
  {\"key\": \"CI_JOB_TIMEOUT\", \"value\": \"3600\"}"
GL_IMAGE=10.0.2.2:$token/private/app:tools
spec=$(gl_spec 601 "[\"id -un\", \"cat README\", \"redis-cli -h cache ping\",
  \"redis-cli -u \$DATABASE_URL set k from-the-job-container\",
  \"echo service-says-\$(redis-cli -h cache get k)\"]" \
  "[\"echo after-script-in-\$(id -un)\"]" \
  "\"services\": [{\"name\": \"10.0.2.2:$tls/private/app:tools\", \"alias\": \"cache\"}],
   \"credentials\": [{\"type\": \"registry\", \"url\": \"10.0.2.2:$tls\", \"username\": \"alice\", \"password\": \"secret\"}]")
gl_job "$spec"
expect_rc 0
expect_out "Authenticating with credentials from \$DOCKER_AUTH_CONFIG"
expect_out "Authenticating with credentials from job payload (GitLab Registry)"
expect_out "project"
expect_out "PONG"
expect_out "service-says-from-the-job-container"
expect_out "after-script-in-root"
expect_out "Job succeeded"
for s in secret "$auth"; do
    if grep -qF -- "$s" "$T/out" "$T/err"; then fail "a secret was printed: ${s:0:3}..."; fi
done
expect_no_leftovers

GL_IMAGE=10.0.2.2:$token/private/app:no-such-tag
spec=$(gl_spec 602 '["echo must-not-run"]' '[]')
gl_job "$spec"
expect_rc 1 # a build failure: the runner does not retry it as a system failure
expect_no_out "must-not-run"
expect_out "10.0.2.2:$token/private/app:no-such-tag"
grep -qiE 'not found|manifest unknown' "$T/out" || fail "the registry's answer is not shown"
expect_no_leftovers
echo "PASS gitlab_docker_image"
