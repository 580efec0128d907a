#!/bin/bash
# `mexec run --workflow` with approval and no-op jobs, which need no VM: a hold is approved by
# --approve NAME or --approve-all, or on a terminal by answering y; without either it stays on
# hold and what requires it is blocked (exit 1); no-op jobs succeed at once.
set -euo pipefail
MEXEC=${MEXEC:?MEXEC must name the mexec binary}
T=$(mktemp -d /tmp/mexec-approval.XXXXXX)
trap 'rm -rf "$T"' EXIT
export MEXEC_HOST_CONFIG=$T/host.yaml XDG_CACHE_HOME=$T/cache
# an empty image store: a job that needed a VM could not start
printf 'orb_api: none\nimage_store: %s/store\nstate_dir: %s/jobs\n' "$T" "$T" >"$MEXEC_HOST_CONFIG"
failures=0 passed=0

cat >"$T/config.yml" <<'YAML'
version: 2.1
jobs:
  tests-passed: {type: no-op}
  released: {type: no-op}
workflows:
  release:
    jobs:
      - tests-passed
      - hold:
          type: approval
          requires: [tests-passed]
      - released:
          requires: [hold]
YAML

# check NAME EXPECTED-STATUS EXPECTED-TEXT MEXEC-RUN-ARGS...  (stdout+stderr; stdin not a tty)
check() {
    local name=$1 want=$2 text=$3 rc=0
    shift 3
    "$MEXEC" run -c "$T/config.yml" "$@" >"$T/out" 2>&1 </dev/null || rc=$?
    if [[ $rc -ne $want ]] || ! grep -qE -- "$text" "$T/out"; then
        echo "FAIL $name: status $rc (want $want), output:" >&2
        sed 's/^/  /' "$T/out" >&2
        failures=$((failures + 1))
    else
        passed=$((passed + 1))
    fi
}

check not-approved 1 'hold +on hold .*not approved \(mexec run --approve hold, or --approve-all\)' --workflow release
check blocked 1 'released +blocked .*requires hold, which ended on hold' --workflow release
check no-op 1 'tests-passed +success .*no-op' --workflow release
check approve 0 'released +success' --workflow release --approve hold
check approve-all 0 'hold +approved' --workflow release --approve-all
check approve-unknown 2 '--approve deploy: workflow release has no approval job of that name \(approval jobs: hold\)' --workflow release --approve deploy
check approve-job 2 '--approve and --approve-all are for --workflow' --job released --approve hold
check run-noop 2 'job "released" is a no-op job' --job released

# on a terminal the hold is asked about
for answer in y n; do
    rc=0
    printf '%s\n' "$answer" | script -qec "'$MEXEC' run -c '$T/config.yml' --workflow release" /dev/null >"$T/out" 2>&1 || rc=$?
    want=0 status=approved
    [[ $answer == y ]] || { want=1 status='on hold'; }
    if [[ $rc -eq $want ]] && grep -q 'approve hold? \[y/N\]' "$T/out" && grep -qE "hold +$status" "$T/out"; then
        passed=$((passed + 1))
    else
        echo "FAIL terminal-$answer: status $rc (want $want), output:" >&2
        sed 's/^/  /' "$T/out" >&2
        failures=$((failures + 1))
    fi
done
[[ -z $(ls -A "$T/jobs" 2>/dev/null) ]] || { echo "FAIL: job files left" >&2; failures=$((failures + 1)); }

echo "$passed passed, $failures failed"
((failures == 0))
