#!/bin/bash
# `mexec config validate|process` as a user runs it: output, exit statuses, messages.
set -euo pipefail
MEXEC=${MEXEC:?MEXEC must name the mexec binary}
FIXTURES=${FIXTURES:?FIXTURES must name tests/fixtures/config-process}
T=$(mktemp -d /tmp/mexec-cfgcli.XXXXXX)
trap 'rm -rf "$T"' EXIT
export MEXEC_ORB_DIR=$T/no-orbs
# no orb registry (nothing leaves this machine) and a cache of this test's own
export MEXEC_HOST_CONFIG=$T/host.yaml XDG_CACHE_HOME=$T/cache
echo 'orb_api: none' >"$MEXEC_HOST_CONFIG"
failures=0 passed=0

# check NAME EXPECTED-STATUS EXPECTED-TEXT MEXEC-ARGS...  (text looked for in stdout+stderr)
# With LIMIT_KB set, mexec runs with that much address space (ulimit -v; not in a sanitizer
# build) and for 60 s at most.
check() {
    local name=$1 want=$2 text=$3 rc=0
    shift 3
    local run=("$MEXEC")
    # shellcheck disable=SC2016 # expanded by the inner bash
    [[ -n ${LIMIT_KB:-} ]] && run=(timeout 60 bash -c 'ulimit -v "$0" && exec "$@"' "$LIMIT_KB" "$MEXEC")
    # AddressSanitizer reserves terabytes of address space for its shadow: no ulimit -v there
    [[ -n ${LIMIT_KB:-} ]] && grep -qa __asan_init "$MEXEC" && run=(timeout 60 "$MEXEC")
    "${run[@]}" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    if [[ $rc -ne $want ]] || ! cat "$T/out" "$T/err" | grep -qF -- "$text"; then
        echo "FAIL $name: status $rc (want $want), output:" >&2
        sed 's/^/  /' "$T/out" "$T/err" >&2
        failures=$((failures + 1))
    else
        passed=$((passed + 1))
    fi
}

F=$FIXTURES
check valid 0 "Config file at $F/matrix.yml is valid." config validate -c "$F/matrix.yml"
check process 0 "test-bsd-2.0:" config process -c "$F/matrix.yml"
check process-docker 0 "docker_username: REG_USER" config process -c "$F/orb_docker_v2.yml"
check param 0 "deploying to prod" config process -c "$F/pipeline_params.yml" --param deploy=true --param target=prod
check param-unknown 2 'did you mean "deploy"?' config process -c "$F/pipeline_params.yml" --param deploi=true
check param-type 2 'parameter "retries" is an integer' config process -c "$F/pipeline_params.yml" --param retries=many
check param-syntax 2 "--param takes KEY=VALUE" config process -c "$F/pipeline_params.yml" --param nothing
check invalid 2 'did you mean "checkout"?' config validate -c "$F/err_unknown_step.yml"
check invalid-model 2 'a run step needs "command"' config validate -c "$F/err_run_no_command.yml"
# every executor is valid config; only `run` refuses what this host cannot run
check process-docker-executor 0 "image: cimg/node:20.0" config process -c "$F/executor_kinds.yml"
check validate-macos 0 "is valid" config validate -c "$F/executor_kinds.yml"
check missing-file 2 "cannot read $T/nope.yml" config validate -c "$T/nope.yml"
check no-subcommand 2 "usage: mexec config validate" config
check bad-subcommand 2 "usage: mexec config validate" config frobnicate
check extra-arg 2 'unexpected argument "extra"' config validate -c "$F/matrix.yml" extra
mkdir -p "$T/orbs/acme"
cp "$F/orbs/acme/tools.yml" "$T/orbs/acme/tools.yml"
MEXEC_ORB_DIR=$T/orbs check orb-dir 0 "echo hi lint" config process -c "$F/orb_file.yml"
check orb-dir-missing 3 "acme/tools@1.2.3 (as tools): not in the orb cache $T/cache/mexec/orbs, and offline (no orb registry) (an orb's source may also be put at $T/no-orbs/NAMESPACE/NAME.yml)" config process -c "$F/orb_file.yml"

# pipeline values from the project's git repository, as the circleci CLI reads them: the remote
# gives the slug and URL (never its credentials), the upstream the base revision
R=$T/repo
mkdir -p "$R/.circleci"
cp "$F/pipeline_values.yml" "$R/.circleci/config.yml"
(
    cd "$R"
    export GIT_CONFIG_GLOBAL=/dev/null GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
    git init -q -b main . && git add . && git commit -q -m one
    git remote add origin https://me:s3cret@github.com/acme/widget.git
    git update-ref refs/remotes/origin/main HEAD
    git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main
    git branch -q --set-upstream-to=origin/main
    git commit -q --allow-empty -m two
)
base=$(git -C "$R" rev-parse HEAD~1) head=$(git -C "$R" rev-parse HEAD)
check git-slug 0 "SLUG: gh/acme/widget" config process -c "$R/.circleci/config.yml"
check git-compare 0 "COMPARE: https://github.com/acme/widget/compare/$base..$head" config process -c "$R/.circleci/config.yml"
check git-branch 0 'echo "webhook main push"' config process -c "$R/.circleci/config.yml"
check git-default-branch 0 "serial-group: gh/acme/widget/deploy" config process -c "$R/.circleci/config.yml"
if "$MEXEC" config process -c "$R/.circleci/config.yml" | grep -q "not the default branch\|s3cret"; then
    echo "FAIL git-is-default: main is the default branch; no credentials in the output" >&2
    failures=$((failures + 1))
else
    passed=$((passed + 1))
fi
check git-other-branch 0 "not the default branch" config process -c "$R/.circleci/config.yml" --branch topic

# Input limits: each of these would allocate until it dies (exit 134, "out of memory") without
# them; with them each is refused with exit 2 and file:line:col within 300 MB of address space.
for bomb in alias_bomb command_steps command_fanout param_text param_steps matrix; do
    LIMIT_KB=300000 check "limit-$bomb" 2 "$F/err_limit_$bomb.yml:" config validate -c "$F/err_limit_$bomb.yml"
done
LIMIT_KB=300000 check limit-alias-message 2 "alias *a4 makes the config larger than 250000 nodes" config process -c "$F/err_limit_alias_bomb.yml"
# orbs: each file within the loader's limit (200 000 nodes through aliases), three together
# over the config's budget of 500 000
mkdir -p "$T/big-orbs/acme"
for o in o1 o2 o3; do
    {
        printf 'version: 2.1\nexamples:\n  x:\n    a: &a [%s0]\n    b: [' "$(printf '0, %.0s' {1..98})"
        printf '*a, %.0s' {1..1999}
        printf '*a]\n'
    } >"$T/big-orbs/acme/$o.yml"
done
printf 'version: 2.1\norbs: {a: acme/o1@1.0.0, b: acme/o2@1.0.0, c: acme/o3@1.0.0}\njobs:\n  j: {machine: true, steps: [checkout]}\n' >"$T/big-orbs.yml"
MEXEC_ORB_DIR=$T/big-orbs LIMIT_KB=300000 check limit-orbs 2 "orb acme/o3@1.0.0: $T/big-orbs.yml:2:47: expanding the config here makes it larger than 500000 nodes" config validate -c "$T/big-orbs.yml"
head -c 5000000 /dev/zero | tr '\0' '#' >"$T/huge.yml"
LIMIT_KB=300000 check limit-file-size 2 "huge.yml is larger than 4194304 bytes" config validate -c "$T/huge.yml"

# the output is a config mexec accepts as it is
"$MEXEC" config process -c "$F/orb_inline.yml" >"$T/processed.yml"
check reprocess 0 "kit/test:" config process -c "$T/processed.yml"

echo "$passed passed, $failures failed"
((failures == 0))
