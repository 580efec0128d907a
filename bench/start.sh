#!/bin/bash
# bench/start.sh [RUNS]: instant starts against cold boots (mexec issue 12).
#
# Interleaved rounds of
#   (a) cold:    `mexec run --cold` of a one-step job, from start to the step's first output line
#                (boots the image: kernel, systemd, seed disk, sshd, agent upload);
#   (b) instant: `mexec run` of the same job, which restores the image's snapshot for the class
#                (provisioner/machine/snapshot.h), to the same line;
#   (c) qemu-system boot of the same image to the first SSH command, no libvirt, no mexec
#       (images/boot-reference.sh): what a cold boot costs at the least.
# All the same size (2 vCPUs, 2048 MiB).  One warm-up instant run first (not counted): it makes
# the snapshot if there is none.  Prints every sample, the medians, the ratios a/b and c/b, and
# where an instant start's time goes (MEXEC_TRACE of the last instant run).  The goal: b <= 3 s
# and a/b >= 5.  Host CPU per 100 MB of step output is bench/output.sh's.  Needs root and a
# built image; every VM runs in a loopback-only network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
mexec=$PWD/build/bin/mexec
img=$("$mexec" image path debian-12:current)
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_tmp
bench_first_step_job

# mexec_run [ARGS]: seconds to the first output line of `mexec run ARGS`
mexec_run() {
    MEXEC=$mexec CONFIG=$T/proj/.circleci/config.yml MEXEC_HOST_CONFIG=$T/host.yaml \
        ERRLOG=$T/err MEXEC_TRACE=1 tests/vm/netns-run.sh "$PWD/bench/first-step.sh" "$@" 2>/dev/null
}
cold() { mexec_run --cold; }
instant() { mexec_run; }
reference() { images/boot-reference.sh --smp 2 --mem 2048 "$img" 2>/dev/null; }

echo "warm-up (makes the snapshot if there is none): $(instant) s"
grep -q restoring "$T/err" || { echo "bench: the warm-up run did not restore a snapshot" >&2; exit 1; }
as=() bs=() cs=()
for ((i = 1; i <= runs; i++)); do
    a=$(cold)
    b=$(instant)
    cp "$T/err" "$T/instant-err"
    c=$(reference)
    [[ -n $a && -n $b && -n $c ]] || { echo "bench: run $i produced no timing" >&2; exit 1; }
    printf 'run %d: cold %.2f s   instant %.2f s   qemu-system %.2f s\n' "$i" "$a" "$b" "$c"
    as+=("$a") bs+=("$b") cs+=("$c")
done
ma=$(printf '%s\n' "${as[@]}" | median)
mb=$(printf '%s\n' "${bs[@]}" | median)
mc=$(printf '%s\n' "${cs[@]}" | median)
printf 'median over %d runs: (a) cold mexec run %.2f s, (b) instant mexec run %.2f s, (c) qemu-system boot to SSH %.2f s\n' \
    "$runs" "$ma" "$mb" "$mc"
printf 'ratios: cold/instant %.2f, qemu-system/instant %.2f\n' \
    "$(echo "$ma / $mb" | bc -l)" "$(echo "$mc / $mb" | bc -l)"
echo "where the last instant start's time went (MEXEC_TRACE, seconds since mexec started):"
grep '^mexec: trace:' "$T/instant-err" | sed 's/^mexec: trace: /  /'
