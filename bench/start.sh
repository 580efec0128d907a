#!/bin/bash
# bench/start.sh [RUNS]: instant starts against cold boots (mexec issue 12).
#
# Interleaved rounds of
#   (a) cold:    `mexec run --cold` of a one-step job, from start to the step's first output line
#                (boots the image: kernel, systemd, seed disk, sshd, agent upload);
#   (b) instant: `mexec run` of the same job with a warm spare ready (provisioner/machine/
#                spare.h: the snapshot restored ahead, as the previous run or `mexec image
#                prepare` leaves it), to the same line;
#   (d) restore: `mexec run` of the same job with no spare (host.yaml warm_spares: 0): it
#                restores the image's snapshot for the class itself (snapshot.h);
#   (c) qemu-system boot of the same image to the first SSH command, no libvirt, no mexec
#       (images/boot-reference.sh): what a cold boot costs at the least.
# All the same size (2 vCPUs, 2048 MiB).  One warm-up run first (not counted): it makes the
# snapshot if there is none.  No spare is left up while (a), (c) or (d) run.  Prints every
# sample, the medians, the ratios a/b, c/b and d/b, and where an instant start's time goes
# (MEXEC_TRACE of the last (b)).  The goal: b <= 3 s and a/b >= 5.  Host CPU per 100 MB of
# step output is bench/output.sh's.  Needs root and a built image; it runs inside
# tests/vm/netns-run.sh (loopback only, a private libvirtd that the spares live in).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
# one namespace and private libvirtd for the whole bench: the spares live there between runs
[[ -n ${MEXEC_BENCH_INSIDE:-} ]] ||
    exec env MEXEC_BENCH_INSIDE=1 tests/vm/netns-run.sh "$PWD/bench/start.sh" "$@"
mexec=$PWD/build/bin/mexec
img=$("$mexec" image path debian-12:current)
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_tmp
bench_first_step_job

sed 's/^state_dir:/warm_spares: 0\nstate_dir:/' "$T/host.yaml" >"$T/host0.yaml"

# mexec_run HOST_YAML [ARGS]: seconds to the first output line of `mexec run ARGS`
mexec_run() {
    local hy=$1
    shift
    MEXEC=$mexec CONFIG=$T/proj/.circleci/config.yml MEXEC_HOST_CONFIG=$hy ERRLOG=$T/err \
        MEXEC_TRACE=1 bench/first-step.sh "$@"
}
# spares_end: ends the spare a run left (once it is up: it starts in the background)
spares_end() {
    local i
    for ((i = 0; i < 600; i++)); do
        compgen -G "$T/jobs/*/claim.sock" >/dev/null && break
        sleep 0.2
    done
    MEXEC_HOST_CONFIG=$T/host0.yaml "$mexec" gc >/dev/null
}
cold() { mexec_run "$T/host0.yaml" --cold; }
restore() { mexec_run "$T/host0.yaml"; }
instant() {
    MEXEC_HOST_CONFIG=$T/host.yaml "$mexec" image prepare debian-12:current bench >/dev/null
    mexec_run "$T/host.yaml"
}
reference() { images/boot-reference.sh --smp 2 --mem 2048 "$img" 2>/dev/null; }

echo "warm-up (makes the snapshot if there is none): $(restore) s"
grep -q restoring "$T/err" || { echo "bench: the warm-up run did not restore a snapshot" >&2; exit 1; }
as=() bs=() cs=() ds=()
for ((i = 1; i <= runs; i++)); do
    a=$(cold)
    d=$(restore)
    b=$(instant)
    cp "$T/err" "$T/instant-err"
    grep -q "a warm spare of" "$T/err" || { echo "bench: run $i did not start from a spare" >&2; exit 1; }
    spares_end
    c=$(reference)
    [[ -n $a && -n $b && -n $c && -n $d ]] || { echo "bench: run $i produced no timing" >&2; exit 1; }
    printf 'run %d: cold %.2f s   instant %.2f s   restore %.2f s   qemu-system %.2f s\n' \
        "$i" "$a" "$b" "$d" "$c"
    as+=("$a") bs+=("$b") cs+=("$c") ds+=("$d")
done
ma=$(printf '%s\n' "${as[@]}" | median)
mb=$(printf '%s\n' "${bs[@]}" | median)
mc=$(printf '%s\n' "${cs[@]}" | median)
md=$(printf '%s\n' "${ds[@]}" | median)
printf 'median over %d runs: (a) cold mexec run %.2f s, (b) instant mexec run (warm spare) %.2f s, (d) restoring mexec run %.2f s, (c) qemu-system boot to SSH %.2f s\n' \
    "$runs" "$ma" "$mb" "$md" "$mc"
printf 'ratios: cold/instant %.2f, qemu-system/instant %.2f, restore/instant %.2f\n' \
    "$(echo "$ma / $mb" | bc -l)" "$(echo "$mc / $mb" | bc -l)" "$(echo "$md / $mb" | bc -l)"
echo "where the last instant start's time went (MEXEC_TRACE, seconds since mexec started):"
grep '^mexec: trace:' "$T/instant-err" | sed 's/^mexec: trace: /  /'
