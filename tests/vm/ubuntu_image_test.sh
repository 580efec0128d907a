#!/bin/bash
# ubuntu_image_test.sh IMAGE VERSION_ID: the README example's job on an Ubuntu image, in one
# VM: /etc/os-release, the job user (circleci, /home/circleci, groups docker and sudo),
# passwordless sudo, the working directory and checkout, the tools CircleCI's images have,
# `docker login` + `docker run` of an image from a registry on this host's loopback,
# `docker build` of a Dockerfile FROM it (BuildKit via buildx), `docker compose` up/down of a
# one-service file, `docker buildx version`.  The image must be built before (scripts/test.sh
# builds it outside the network namespace); a missing build fails the test saying so.
if [[ -z ${MX_REG_TLS:-} ]]; then
    # start the registries in this (the test's) network namespace, then come back here
    export MX_REG_IN_NETNS=1 MX_REG_REALM_HOST=10.0.2.2
    exec "$(dirname "$0")/../registry/with-registries.sh" "$0" "$@"
fi
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
image=${1:?usage: $0 IMAGE VERSION_ID}
version=${2:?usage: $0 IMAGE VERSION_ID}
require_image "$image"
# htpasswd over HTTPS (the token server fixture answers only GET, and Docker 29 with
# containerd's resolver asks for tokens by POST)
use_tls_registry registry REG_USER REG_PASS
sed -e "s/@IMAGE@/$image/g" -e "s/@REG@/$reg/g" "$HERE/jobs/ubuntu.yml" >"$T/ubuntu.yml"
cfg=$(make_project "$T/ubuntu.yml")

run_job "$cfg" build --context registry --no-build --project-dir "$T/proj"
expect_rc 0
expect_out "hello from a machine job"
expect_out "version=$version"
expect_out "user=circleci home=/home/circleci shell=/bin/bash"
grep -qE '^groups=(.*,)?docker(,|$)' "$T/out" || fail "circleci is not in group docker"
grep -qE '^groups=(.*,)?sudo(,|$)' "$T/out" || fail "circleci is not in group sudo"
expect_out "pwd=/home/circleci/project CI=true CIRCLE_JOB=build"
expect_out "sudo=ok"
expect_out "project file"
for t in git jq curl python3 gcc g++ make ssh unzip zip; do expect_out "tool=$t"; done
expect_out "ca-certificates=ok"
expect_out "Login Succeeded"
expect_out "hello-from-private-image"
expect_out "github.com/docker/buildx"
expect_out "built-by-docker-build"
expect_out "Docker Compose version"
expect_out "hello-from-compose"
expect_out "compose-down=0"
if grep -qF secret "$T/out" "$T/err"; then fail "the registry password was printed"; fi
expect_no_leftovers
echo "PASS ubuntu_image $image"
