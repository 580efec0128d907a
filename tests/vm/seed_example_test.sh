#!/bin/bash
# The issue's seed example runs unchanged on ubuntu-2004:current: `resource_class: large`
# (more than this host has: --fit-to-host), `working_directory: ~/my_app`, checkout, a plain
# `docker login` (the docker CLI, password on stdin) against a registry on this host's
# loopback (htpasswd over HTTPS, its CA given to the guest by host.yaml) and `docker run`.
if [[ -z ${MX_REG_TLS:-} ]]; then
    export MX_REG_IN_NETNS=1 MX_REG_REALM_HOST=10.0.2.2
    exec "$(dirname "$0")/../registry/with-registries.sh" "$0" "$@"
fi
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
require_image ubuntu-2004:current
use_tls_registry docker DOCKER_USER DOCKER_PASS
sed -e "s/@REG@/$reg/g" "$HERE/jobs/seed_example.yml" >"$T/seed.yml"
cfg=$(make_project "$T/seed.yml")

run_job "$cfg" build --context docker --fit-to-host --no-build --project-dir "$T/proj"
expect_rc 0
expect_err "resource class large fitted to this host"
expect_out "Login Succeeded"
expect_out "hello-from-private-image"
expect_out "pwd=/home/circleci/my_app"
expect_out "hello.txt"
if grep -qF secret "$T/out" "$T/err"; then fail "the registry password was printed"; fi
expect_no_leftovers
echo "PASS seed_example"
