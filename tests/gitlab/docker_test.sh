#!/bin/bash
# A private image pulled in the job with credentials from DOCKER_AUTH_CONFIG (token-auth
# registry) and from the job payload's registry credentials (htpasswd over TLS with a CA):
# prepare logs the guest's dockerd in; no secret is printed.
if [[ -z ${MX_REG_TLS:-} ]]; then
    export MX_REG_IN_NETNS=1 MX_REG_REALM_HOST=10.0.2.2
    exec "$(dirname "$0")/../registry/with-registries.sh" "$0" "$@"
fi
# shellcheck source=tests/gitlab/lib.sh
source "$(dirname "$0")/lib.sh"
use_test_registries
auth=$(printf 'alice:secret' | base64)
dac="{\\\"auths\\\": {\\\"10.0.2.2:$token\\\": {\\\"auth\\\": \\\"$auth\\\"}}}"
GL_VARS=", {\"key\": \"DOCKER_AUTH_CONFIG\", \"value\": \"$dac\"}"
spec=$(gl_spec 501 "[\"docker pull -q 10.0.2.2:$token/private/app:run\",
  \"docker run --rm 10.0.2.2:$token/private/app:run\",
  \"docker pull -q 10.0.2.2:$tls/private/app:run\",
  \"docker run --rm 10.0.2.2:$tls/private/app:run\",
  \"jq -r '.auths | keys[]' ~/.docker/config.json\"]" '[]' \
  "\"credentials\": [{\"type\": \"registry\", \"url\": \"10.0.2.2:$tls\", \"username\": \"alice\", \"password\": \"secret\"}]")
gl_job "$spec"
expect_rc 0
expect_out "logging the guest's dockerd in to 10.0.2.2:$token as alice"
expect_out "logging the guest's dockerd in to 10.0.2.2:$tls as alice"
[[ $(grep -c '^hello-from-private-image$' "$T/out") -eq 2 ]] || fail "the two private images did not both run"
for s in secret "$auth"; do
    if grep -qF -- "$s" "$T/out" "$T/err"; then fail "a secret was printed: ${s:0:3}..."; fi
done
expect_no_leftovers
echo "PASS gitlab_docker"
