#!/bin/bash
# bench/boot.sh [RUNS]: how much slower is `mexec run` than booting the same image by hand?
#
# (a) reference: plain qemu-system-x86_64 booting the debian-12 image to the first successful
#     SSH command (images/boot-reference.sh: overlay, seed, keys, pinned host key, no libvirt);
# (b) mexec: `mexec run` of a one-step job, from start to the step's first output line
#     (includes libvirt, seed and key generation, agent upload and the agent session).
# Same size for both (2 vCPUs, 2048 MiB); runs are interleaved so load drift hits both alike.
# Prints every sample, the medians and the ratio b/a.  Needs root and a built image
# (scripts/demo.sh or scripts/test.sh).  All VMs run in loopback-only network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
mexec=$PWD/build/bin/mexec
img=$("$mexec" image path debian-12:current)
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_tmp
bench_first_step_job

reference() { images/boot-reference.sh --smp 2 --mem 2048 "$img" 2>/dev/null; }
mexec_run() {
    MEXEC=$mexec CONFIG=$T/proj/.circleci/config.yml MEXEC_HOST_CONFIG=$T/host.yaml \
        tests/vm/netns-run.sh "$PWD/bench/first-step.sh" 2>/dev/null
}

rounds "$runs" reference qemu-system mexec_run "mexec run"
ma=$median_a
mb=$median_b
printf 'median over %d runs: (a) qemu-system boot to SSH %.2f s, (b) mexec run to first output %.2f s, ratio b/a %.2f\n' \
    "$runs" "$ma" "$mb" "$(echo "$mb / $ma" | bc -l)"
