#!/bin/bash
# bench/workflow.sh [RUNS]: what do concurrent workflow jobs buy on this host?
#
# The same workflow — three independent one-step jobs, 1 vCPU / 1536 MiB each — run twice per
# round: (a) reference: host capacity set to 1 vCPU, so admission lets one VM run at a time
# (the way workflows ran before jobs were concurrent); (b) the host's default capacity (its CPU
# count), so independent jobs boot side by side.  Wall time of `mexec run --workflow` for each;
# rounds interleave a and b so load drift hits both alike.  Prints every sample, the medians and
# the speed-up a/b.  Needs root and a built image; VMs run in loopback-only network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
mexec=$PWD/build/bin/mexec
T=$(mktemp -d /tmp/mexec-bench.XXXXXX)
# QEMU runs as libvirt-qemu and opens the job's disk below $T/jobs by path
chmod 0711 "$T"
trap 'rm -rf "$T"' EXIT

for mode in serial concurrent; do
    {
        echo "state_dir: $T/jobs-$mode"
        echo "resource_classes: { bench: { vcpus: 1, memory_mib: 1536 } }"
        [[ $mode == serial ]] && echo "capacity: { vcpus: 1 }"
    } >"$T/$mode.yaml"
done
mkdir -p "$T/proj/.circleci"
cat >"$T/proj/.circleci/config.yml" <<'YAML'
version: 2.1
executors:
  vm: { machine: { image: debian-12:current }, resource_class: bench }
jobs:
  one: { executor: vm, steps: [{ run: echo one }] }
  two: { executor: vm, steps: [{ run: echo two }] }
  three: { executor: vm, steps: [{ run: echo three }] }
workflows:
  ci: { jobs: [one, two, three] }
YAML

# One workflow run; prints its wall time in seconds.
cat >"$T/one.sh" <<'SH'
#!/bin/bash
set -euo pipefail
start=$(date +%s.%N)
"$MEXEC" run -c "$CONFIG" --workflow ci >/dev/null 2>&1
echo "$(date +%s.%N) - $start" | bc
SH
chmod +x "$T/one.sh"

# shellcheck source=bench/lib.sh
source bench/lib.sh
serial() { timed serial; }
concurrent() { timed concurrent; }
timed() { # timed MODE
    MEXEC=$mexec CONFIG=$T/proj/.circleci/config.yml MEXEC_HOST_CONFIG=$T/$1.yaml \
        tests/vm/netns-run.sh "$T/one.sh" 2>/dev/null
}

rounds "$runs" serial "one at a time" concurrent concurrent
printf 'median: one at a time %.2f s, concurrent %.2f s (capacity %s vCPUs)\n' "$median_a" "$median_b" "$(nproc)"
printf 'speed-up a/b: %.2f\n' "$(echo "$median_a / $median_b" | bc -l)"
