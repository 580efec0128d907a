#!/bin/bash
# docker/check and docker/pull against real registries on this host's loopback (reached from
# the guest at 10.0.2.2): htpasswd over HTTPS with a private CA, and token auth with
# credentials resolved on the host from DOCKER_AUTH_CONFIG; the pulled images run; a wrong
# password fails with the registry's message; no secret is printed.
if [[ -z ${MX_REG_TLS:-} ]]; then
    # start the registries in this (the test's) network namespace, then come back here
    export MX_REG_IN_NETNS=1 MX_REG_REALM_HOST=10.0.2.2
    exec "$(dirname "$0")/../registry/with-registries.sh" "$0" "$@"
fi
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
use_test_registries
open=${MX_REG_OPEN##*:}
echo "  10.0.2.2:$open: { insecure: true }" >>"$MEXEC_HOST_CONFIG"
sed -e "s/@TLS@/$tls/g" -e "s/@TOKEN@/$token/g" -e "s/@OPEN@/$open/g" "$HERE/jobs/docker.yml" >"$T/docker.yml"
export MEXEC_CONTEXTS_DIR=$T/contexts
mkdir -p "$MEXEC_CONTEXTS_DIR"
auth=$(printf 'alice:secret' | base64)
cat >"$MEXEC_CONTEXTS_DIR/registry.yaml" <<YAML
REG_USER: alice
REG_PASS: secret
WRONG_PASS: not-the-password
DOCKER_AUTH_CONFIG: '{"auths": {"10.0.2.2:$token": {"auth": "$auth"}}}'
YAML

run_job "$T/docker.yml" build --context registry
expect_rc 0
expect_out "Login Succeeded"
[[ $(grep -c '^hello-from-private-image$' "$T/out") -eq 2 ]] || fail "the two pulled images did not both run"
expect_out "mode=600"
expect_out "password-on-argv=no"
expect_out "10.0.2.2:$tls"
for s in secret "$auth" not-the-password; do
    if grep -qF -- "$s" "$T/out" "$T/err"; then fail "a secret was printed: ${s:0:3}..."; fi
done
expect_no_leftovers

run_job "$T/docker.yml" wrong-password --context registry
expect_rc 1
expect_out "pull-error-ignored"
expect_no_out "must-not-run"
grep -qiE 'unauthorized|401' "$T/out" || fail "the registry's refusal is not shown"
expect_no_leftovers
echo "PASS run_docker"
