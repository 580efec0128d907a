#!/bin/bash
# bench/images.sh [RUNS]: boot to the first step of a job, per machine image, against debian-12.
#
# For each image (debian-12, ubuntu-2004, ubuntu-2204, ubuntu-2404, all :current) `mexec run`
# of a job whose first step prints a line and whose second waits until `docker info` works:
# (a) seconds from mexec's start to the first step's output (libvirt domain, keys, seed, boot,
# SSH, agent upload and session), (b) to docker being ready.  Same size for all (2 vCPUs,
# 2048 MiB); in each round every image runs once, in turn, so load drift hits all alike.
# Prints every sample, then per image the medians and the ratios to debian-12's.  Needs root
# and the four images built (`mexec image build NAME:current`); VMs run in loopback-only
# network namespaces (tests/vm/netns-run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
mexec=$PWD/build/bin/mexec
images=(debian-12 ubuntu-2004 ubuntu-2204 ubuntu-2404)
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_tmp
for i in "${images[@]}"; do
    "$mexec" image path "$i:current" >/dev/null ||
        { echo "bench: build it first: $mexec image build $i:current" >&2; exit 1; }
    mkdir -p "$T/$i/.circleci"
    cat >"$T/$i/.circleci/config.yml" <<YAML
version: 2.1
jobs:
  build:
    machine: { image: "$i:current" }
    resource_class: bench
    steps:
      - run: echo first-output-line
      - run: until docker info >/dev/null 2>&1; do sleep 0.2; done; echo docker-ready-line
YAML
done

for ((r = 1; r <= runs; r++)); do
    line="run $r:"
    for i in "${images[@]}"; do
        mapfile -t t < <(MEXEC=$mexec CONFIG=$T/$i/.circleci/config.yml MEXEC_HOST_CONFIG=$T/host.yaml \
            ERRLOG=$T/err tests/vm/netns-run.sh "$PWD/bench/first-step.sh" --no-build 2>/dev/null)
        if [[ ${#t[@]} -ne 2 ]]; then
            echo "bench: run $r of $i produced no timing; mexec said:" >&2
            tail -n 5 "$T/err" >&2
            exit 1
        fi
        echo "${t[0]}" >>"$T/$i.step"
        echo "${t[1]}" >>"$T/$i.docker"
        line+=$(printf '  %s %.1f s / %.1f s' "$i" "${t[0]}" "${t[1]}")
    done
    echo "$line"
done

printf '\nmedian over %d runs (first step / docker ready), ratio to debian-12:\n' "$runs"
ref_step=$(median <"$T/debian-12.step")
ref_docker=$(median <"$T/debian-12.docker")
for i in "${images[@]}"; do
    s=$(median <"$T/$i.step")
    d=$(median <"$T/$i.docker")
    printf '%-12s first step %6.2f s (%.2fx)   docker ready %6.2f s (%.2fx)\n' "$i" "$s" \
        "$(echo "$s / $ref_step" | bc -l)" "$d" "$(echo "$d / $ref_docker" | bc -l)"
done
