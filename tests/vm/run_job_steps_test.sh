#!/bin/bash
# Caches, test results, artifacts and SSH keys of real jobs: a workflow run twice on one host.
# The first run saves its caches (the node orb's own steps, from the fake orb API, and the
# job's own keyed by checksum and environment); the second restores exactly what the first
# saved and leaves the saved keys as they are; both runs list their artifacts and test results;
# the host's deploy key reaches ~/.ssh (0600) and never the output.  One VM per run.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
python3 "$HERE/../provisioner/config/fake_orb_api.py" "$HERE/../fixtures/orbs" "$T/api-port" "$T/asked" &
api=$!
cleanup_api() { kill "$api" 2>/dev/null || true; cleanup_t; }
trap cleanup_api EXIT
wait_for "$T/api-port" "" 10
ssh-keygen -q -t ed25519 -N '' -C deploy -f "$T/deploy_key"
sed -i "s|^orb_api: none|orb_api: http://127.0.0.1:$(cat "$T/api-port")/graphql-unstable|" "$MEXEC_HOST_CONFIG"
cat >>"$MEXEC_HOST_CONFIG" <<YAML
cache_dir: $T/caches
ssh_keys:
  deploy: {path: $T/deploy_key, hostname: git.example.com}
YAML
mkdir -p "$T/proj/.circleci"
cp "$HERE/jobs/job_steps.yml" "$T/proj/.circleci/config.yml"

run_twice() { # run_twice N: run N, output in $T/outN, $T/errN
    rc=0
    "$MEXEC" run -c "$T/proj/.circleci/config.yml" --project-dir "$T/proj" --workflow ci \
        --artifacts-dir "$T/art" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    cp "$T/out" "$T/out$1"
    cp "$T/err" "$T/err$1"
    expect_rc 0
}
line() { grep -Eq "^build +\| $1" "$T/out" || fail "stdout lacks the line: $1"; }
# A key's base64 holds '+' and '/': matched as a fixed string, not a pattern.
fixed_line() { sed -E 's/^build +\| //' "$T/out" | grep -Fxq "$1" || fail "stdout lacks the line: $1"; }

run_twice 1
line "npm ci stand-in: cache empty, fetching packages"
line "No cache is found for key: node-deps-linux-amd64-[0-9]+_[0-9]+-v1-"
line "Stored the cache of key node-deps-linux-amd64-"
line "tools made: made-by-"
stamp=$(sed -n 's/.*tools made: //p' "$T/out" | head -1)
line "timings: none"
line "key mode: 600"
fixed_line "public: $(cut -d' ' -f2 "$T/deploy_key.pub")"
line "ssh config: has git.example.com"
expect_no_out "PRIVATE KEY"
line "Tests: 3 \(failures 1, errors 0, skipped 1\)"
grep -q "test results: Slowest:" "$T/err" || fail "no per-job test summary on stderr"
line "Skipped 1 entry: only files and directories are stored"
grep -q "circleci/node@5.2" "$T/asked" || fail "the node orb was not asked of the orb API"
run1=$(basename "$(find "$T/art" -mindepth 1 -maxdepth 1)")
for f in build/0/artifacts/logs/deep/run.log build/0/artifacts/single.txt \
    build/0/test-results/test-results/unit/results.xml; do
    grep -Eq "^ +[0-9]+  $f\$" "$T/out" || fail "run 1's listing lacks $f"
    [[ -f $T/art/$run1/$f ]] || fail "run 1 did not keep $f"
done
[[ ! -e $T/art/$run1/build/0/artifacts/logs/link ]] || fail "a symlink from the guest was made"
[[ $(find "$T/caches" -name "*.tar" | wc -l) -eq 2 ]] || fail "the store does not hold 2 caches"

run_twice 2
line "Found a cache at key node-deps-linux-amd64-"
line "npm ci stand-in: packages from the cache: fetched-by-"
line "Found a cache at key v1-tools-"
line "tools restored: $stamp"
line "Skipping cache generation, cache already exists for key: v1-tools-"
line "timings: /tmp/mexec-timings-"
line '"name":"adds"'
run2=
for d in "$T"/art/*; do [[ ${d##*/} == "$run1" ]] || run2=${d##*/}; done
[[ -n $run2 ]] || fail "run 2 kept nothing of its own"
for f in build/0/artifacts/logs/deep/run.log build/0/test-results/test-results/unit/results.xml; do
    grep -Eq "^ +[0-9]+  $f\$" "$T/out" || fail "run 2's listing lacks $f"
    [[ -f $T/art/$run2/$f ]] || fail "run 2 did not keep $f"
done
[[ $(find "$T/caches" -name "*.tar" | wc -l) -eq 2 ]] || fail "run 2 added a cache for a saved key"
expect_no_leftovers
echo "PASS run_job_steps"
