#!/bin/bash
# bench/first-step.sh [MEXEC-RUN-ARGS...]: one `mexec run` of job `build` in $CONFIG (mexec
# binary $MEXEC), timed from its start: prints the seconds until the step output line
# `first-output-line`, and, if the job prints it, on a second line until `docker-ready-line`.
# mexec's stderr goes to $ERRLOG if set (else nowhere).  Run it inside tests/vm/netns-run.sh
# (loopback only).  Used by bench/boot.sh and bench/images.sh.
set -euo pipefail
start=$(date +%s.%N)
"$MEXEC" run -c "$CONFIG" --job build "$@" 2>"${ERRLOG:-/dev/null}" | while IFS= read -r line; do
    if [[ $line == first-output-line || $line == docker-ready-line ]]; then
        echo "$(date +%s.%N) - $start" | bc
    fi
done
