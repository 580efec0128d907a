#!/bin/bash
# A CircleCI docker executor job: a private primary image pulled with auth: from a context
# (htpasswd over HTTPS with a private CA), a service from a token-auth registry with credentials
# from DOCKER_AUTH_CONFIG reached on localhost and by its name, steps as the image's user in
# ~/project with the checkout owned by it, a background step, setup_remote_docker, a
# no_output_timeout then an on_fail step; no secret printed or on any command line; a refused
# pull fails the job naming image and registry; nothing left.
if [[ -z ${MX_REG_TLS:-} ]]; then
    oci=$("$(dirname "$0")/../registry/test-images.sh" --path) || exit 1
    export MX_REG_IN_NETNS=1 MX_REG_REALM_HOST=10.0.2.2 MX_REG_EXTRA_IMAGE=$oci:tools
    exec "$(dirname "$0")/../registry/with-registries.sh" "$0" "$@"
fi
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
use_test_registries
export MEXEC_CONTEXTS_DIR=$T/contexts
mkdir -p "$MEXEC_CONTEXTS_DIR"
auth=$(printf 'alice:secret' | base64)
cat >"$MEXEC_CONTEXTS_DIR/registry.yaml" <<YAML
REG_USER: alice
REG_PASS: secret
WRONG_PASS: not-the-password
DOCKER_AUTH_CONFIG: '{"auths": {"10.0.2.2:$token": {"auth": "$auth"}}}'
YAML
sed -e "s/@TLS@/$tls/g" -e "s/@TOKEN@/$token/g" "$HERE/jobs/docker_executor.yml" >"$T/config.yml"
config=$(make_project "$T/config.yml")
git -C "$T/proj" init -q && git -C "$T/proj" add -A &&
    git -C "$T/proj" -c user.name=t -c user.email=t@t commit -qm init

start=$(date +%s%N)
run_job "$config" build --context registry
echo "docker job: $((($(date +%s%N) - start) / 1000000)) ms"
grep -F "mexec:" "$T/err" || true
expect_rc 1 # the deliberate no_output_timeout
expect_out "Spin up environment"
expect_out "user=circleci uid=3434 home=/home/circleci pwd=/home/circleci/project"
expect_out "owner=circleci project file"
expect_out "env=primary-env/job-value/true"
expect_out "shell=/usr/bin/bash"
expect_out "via-name=hello-from-service"
expect_out "PONG"
expect_out "password-on-argv=no"
expect_out "masked: ********"
expect_out "docker-host=unix:///var/run/docker.sock socket=socket"
expect_out "Too long with no output (exceeded 3s)"
expect_out "on-fail-ran in /home/circleci/project"
for s in secret "$auth" not-the-password; do
    if grep -qF -- "$s" "$T/out" "$T/err"; then fail "a secret was printed: ${s:0:3}..."; fi
done
expect_no_leftovers

run_job "$config" wrong-password --context registry
expect_rc 1
expect_no_out "must-not-run"
# the step's stderr, as a failing command's
expect_err "pull 10.0.2.2:$tls/private/app:tools (registry 10.0.2.2:$tls)"
grep -qiE 'unauthorized|401|no basic auth' "$T/err" || fail "the registry's refusal is not shown"
expect_no_leftovers
echo "PASS run_docker_executor"
