#!/bin/bash
# Registry orbs end to end: `mexec config process` against a fake of CircleCI's orb API on
# loopback (fake_orb_api.py, orb sources in tests/fixtures/orbs): exact, partial and volatile
# versions, orbs importing orbs, the cache with its digests, the lock file, offline runs, every
# missing orb named at once, and the bounds on what a config may make mexec fetch.
set -euo pipefail
MEXEC=${MEXEC:?MEXEC must name the mexec binary}
HERE=$(cd "$(dirname "$0")" && pwd)
ORBS=$HERE/../../fixtures/orbs
T=$(mktemp -d /tmp/mexec-orbreg.XXXXXX)
api_pid=
stop_api() { [[ -z $api_pid ]] || { kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; }; api_pid=; }
trap 'stop_api; rm -rf "$T"' EXIT
failures=0 passed=0

start_api() {
    rm -f "$T/port"
    python3 "$HERE/fake_orb_api.py" "$ORBS" "$T/port" "$T/asked" &
    api_pid=$!
    for _ in $(seq 100); do [[ -s $T/port ]] && break; sleep 0.1; done
    [[ -s $T/port ]] || { echo "the fake orb API did not start" >&2; exit 1; }
    API=http://127.0.0.1:$(cat "$T/port")/graphql-unstable
    echo "orb_api: $API" >"$T/host.yaml"
}
export MEXEC_HOST_CONFIG=$T/host.yaml XDG_CACHE_HOME=$T/cache MEXEC_ORB_DIR=$T/no-orbs
CACHE=$T/cache/mexec/orbs

ok() { passed=$((passed + 1)); }
# check NAME COMMAND...: the command succeeds
check() {
    local name=$1
    shift
    if "$@"; then ok; else echo "FAIL $name" >&2; failures=$((failures + 1)); fi
}
bad() { echo "FAIL $1" >&2; sed 's/^/  /' "$T/out" "$T/err" >&2; failures=$((failures + 1)); }
# process NAME WANT-STATUS CONFIG [ARGS...]: output in $T/out, $T/err
process() {
    local name=$1 want=$2 cfg=$3 rc=0
    shift 3
    "$MEXEC" config process -c "$cfg" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    if [[ $rc -ne $want ]]; then bad "$name: status $rc, want $want"; return 1; fi
}
has() { # has NAME TEXT: in stdout+stderr
    if cat "$T/out" "$T/err" | grep -qF -- "$2"; then ok; else bad "$1: no \"$2\""; fi
}
lacks() { if cat "$T/out" "$T/err" | grep -qF -- "$2"; then bad "$1: has \"$2\""; else ok; fi; }
asked() { [[ -f $T/asked ]] && grep -c . "$T/asked" || echo 0; }

mkdir -p "$T/p/.circleci"
CFG=$T/p/.circleci/config.yml
cat >"$CFG" <<'YAML'
version: 2.1
orbs:
  node: acme/node@5
  docker: circleci/docker@2.8.2
jobs:
  image:
    executor: docker/machine
    steps:
      - docker/check
workflows:
  ci:
    jobs:
      - node/test
      - image
YAML
LOCK=$T/p/.circleci/mexec-orbs.lock

start_api
# partial version: the newest 5.x; circleci/docker from the registry (not the built-in one),
# which imports circleci/jq@2.2 (the newest 2.2.x)
process resolve 0 "$CFG" && {
    has resolve "Install node lts (acme/node@5.2.0)"
    has resolve "image: cimg/node:20.11"
    has resolve "installing jq 1.6 from 2.2.3"
    has resolve "Docker login (orb source from the registry)"
    lacks resolve "docker/check:"
}
for f in acme/node/5.2.0.yml circleci/docker/2.8.2.yml circleci/jq/2.2.3.yml; do
    if [[ -f $CACHE/$f && $(cat "$CACHE/$f.sha256") == "sha256:$(sha256sum <"$CACHE/$f" | cut -d' ' -f1)" ]]; then ok; else
        echo "FAIL cache: $CACHE/$f and its digest" >&2; failures=$((failures + 1)); fi
done
# the lock pins exact versions with digests, imports included
if grep -q "^acme/node@5:" "$LOCK" && grep -A2 "^acme/node@5:" "$LOCK" | grep -q "version: 5.2.0" &&
    grep -A2 "^circleci/jq@2.2:" "$LOCK" | grep -q "digest: sha256:$(sha256sum <"$CACHE/circleci/jq/2.2.3.yml" | cut -d' ' -f1)"; then ok; else
    echo "FAIL lock:" >&2; cat "$LOCK" >&2; failures=$((failures + 1)); fi

# with the lock, pinned versions come from the cache: nothing is asked
before=$(asked)
process locked 0 "$CFG" && has locked "acme/node@5.2.0"
check "locked: the registry was not asked" test "$(asked)" -eq "$before"

# the lock wins over the registry's newer versions
sed -i "s/version: 5.2.0/version: 5.1.0/" "$LOCK"
sed -i "/^acme\/node@5:/,/digest/ s/digest: .*/digest: sha256:$(sha256sum <"$ORBS/acme/node/5.1.0.yml" | cut -d' ' -f1)/" "$LOCK"
process pinned 0 "$CFG" && has pinned "acme/node@5.1.0"
# a registry source that is not the pinned one is refused
sed -i "/^acme\/node@5:/,/digest/ s/digest: .*/digest: sha256:$(printf '%064d' 0)/" "$LOCK"
rm -f "$CACHE/acme/node/5.1.0.yml"
process pinned-digest 2 "$CFG" && has pinned-digest "is not the one $LOCK pins"
rm -f "$LOCK"

# volatile and X.Y; --lock FILE puts the lock elsewhere
cat >"$T/p/v.yml" <<'YAML'
version: 2.1
orbs:
  newest: acme/node@volatile
  minor: acme/node@5.1
workflows:
  ci:
    jobs: [newest/test, minor/test]
YAML
process versions 0 "$T/p/v.yml" --lock "$T/other.lock" && {
    has versions "(acme/node@6.0.0)"
    has versions "(acme/node@5.1.0)"
}
check "--lock FILE" test -f "$T/other.lock" -a ! -f "$T/p/mexec-orbs.lock"

# a damaged cached copy is not used: fetched again
echo "# edited" >>"$CACHE/acme/node/5.2.0.yml"
rm -f "$LOCK"
process damaged 0 "$CFG" && has damaged "acme/node@5.2.0"
check "damaged: fetched again" test "$(cat "$CACHE/acme/node/5.2.0.yml.sha256")" = \
    "sha256:$(sha256sum <"$CACHE/acme/node/5.2.0.yml" | cut -d' ' -f1)"

# what the registry does not know is named with its file:line:col, all at once
cat >"$T/p/unknown.yml" <<'YAML'
version: 2.1
orbs:
  a: acme/nothing@1.0.0
  b: acme/node@9
workflows:
  ci:
    jobs: [a/x]
YAML
process unknown 2 "$T/p/unknown.yml" && {
    has unknown "2 orbs are not available: $T/p/unknown.yml:3:6: acme/nothing@1.0.0 (as a): orb registry $API: there is no orb acme/nothing@1.0.0"
    has unknown "$T/p/unknown.yml:4:6: acme/node@9 (as b): orb registry $API: there is no orb acme/node@9"
}
# bounds: a source over the size limit, a server error, orbs importing each other
printf 'version: 2.1\norbs:\n  h: acme/huge@1\n' >"$T/p/huge.yml"
process huge 3 "$T/p/huge.yml" && has huge "larger than"
printf 'version: 2.1\norbs:\n  x: acme/broken@1\n' >"$T/p/broken.yml"
process broken 3 "$T/p/broken.yml" && has broken "acme/broken@1 (as x): not in the orb cache $CACHE, and orb registry $API: acme/broken@1: HTTP status 500"
printf 'version: 2.1\norbs:\n  a: acme/loop-a@1\n' >"$T/p/loop.yml"
process loop 2 "$T/p/loop.yml" && has loop "orbs import each other: acme/loop-a imports acme/loop-b imports acme/loop-a"

# offline: the cache serves what was fetched, even for partial versions without a lock
stop_api
rm -f "$LOCK"
process offline 0 "$CFG" && has offline "acme/node@5.2.0"
rm -f "$LOCK"
start_api
before=$(asked)
process offline-flag 0 "$CFG" --offline && has offline-flag "acme/node@5.2.0"
check "--offline: the registry was not asked" test "$(asked)" -eq "$before"
stop_api

# neither cached nor reachable: every such orb named, with why; circleci/docker falls back to
# the built-in stand-in
rm -rf "$CACHE" "$LOCK"
cat >"$T/p/missing.yml" <<'YAML'
version: 2.1
orbs:
  node: acme/node@5
  go: acme/go@1.7
  docker: circleci/docker@2.8.2
jobs:
  b: {machine: true, steps: [docker/check]}
YAML
process missing 3 "$T/p/missing.yml" && {
    has missing "2 orbs are not available: $T/p/missing.yml:3:9: acme/node@5 (as node), $T/p/missing.yml:4:7: acme/go@1.7 (as go): not in the orb cache $CACHE, and orb registry $API:"
    lacks missing "circleci/docker"
}
printf 'version: 2.1\norbs:\n  docker: circleci/docker@2.8.2\njobs:\n  b: {machine: true, steps: [docker/check]}\n' >"$T/p/builtin.yml"
process builtin 0 "$T/p/builtin.yml" && has builtin "docker_username: DOCKER_LOGIN"
check "builtin: no lock written" test ! -f "$T/p/mexec-orbs.lock"

echo "$passed passed, $failures failed"
((failures == 0))
