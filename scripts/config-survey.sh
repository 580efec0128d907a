#!/bin/bash
# Runs `mexec config process` on every CONFIG.yml in the directories given and sorts the outcomes:
# processed, stopped on orbs mexec could not have (registry out of reach, not cached), or refused
# for another reason (each printed).  For trying mexec on collections of real configs; not part
# of the test suite, which must not depend on data outside the repository.
#   scripts/config-survey.sh [-m MEXEC] DIR...
set -euo pipefail
MEXEC=$(dirname "$0")/../build/bin/mexec
offline=(--offline)
while [[ ${1:-} == -* ]]; do
    case $1 in
    -m) MEXEC=$2 && shift 2 ;;
    -r) offline=() && shift ;;
    *) echo "usage: $0 [-m MEXEC] [-r] DIR..." >&2 && exit 2 ;;
    esac
done
(($#)) || { echo "usage: $0 [-m MEXEC] [-r] DIR..." >&2; exit 2; }
ok=0 orbs=0 other=0
for dir in "$@"; do
    for cfg in "$dir"/*.yml; do
        [[ -f $cfg ]] || continue
        rc=0
        err=$("$MEXEC" config process -c "$cfg" "${offline[@]}" 2>&1 >/dev/null) || rc=$?
        if ((rc == 0)); then
            ok=$((ok + 1))
            echo "ok      $cfg"
        elif [[ $err == *" not available: "* ]]; then
            orbs=$((orbs + 1))
            echo "orbs    $cfg: ${err:0:300}"
        else
            other=$((other + 1))
            echo "refused $cfg: ${err:0:300}"
        fi
    done
done
echo "processed $ok, missing orbs $orbs, refused $other"
