# shellcheck shell=bash
# Shared by the bench scripts (sourced): interleaved rounds of a reference and of mexec, so load
# drift hits both alike, and the medians.

# median: the median of the numbers on stdin, one per line.
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# rounds RUNS FN_A LABEL_A FN_B LABEL_B: runs FN_A then FN_B (each prints seconds) RUNS times,
# printing every sample; leaves the medians in $median_a and $median_b.
rounds() {
    local runs=$1 fa=$2 la=$3 fb=$4 lb=$5 i a b as=() bs=()
    for ((i = 1; i <= runs; i++)); do
        a=$("$fa")
        b=$("$fb")
        [[ -n $a && -n $b ]] || { echo "bench: run $i produced no timing" >&2; return 1; }
        printf 'run %d: %s %.2f s   %s %.2f s\n' "$i" "$la" "$a" "$lb" "$b"
        as+=("$a")
        bs+=("$b")
    done
    # shellcheck disable=SC2034 # the callers' results
    median_a=$(printf '%s\n' "${as[@]}" | median)
    # shellcheck disable=SC2034
    median_b=$(printf '%s\n' "${bs[@]}" | median)
}

# bench_tmp: a temporary directory $T (removed on exit) with $T/host.yaml: job state inside
# it and the resource class `bench` (2 vCPUs, 2048 MiB), as bench/boot.sh and bench/images.sh
# boot their VMs.
bench_tmp() {
    T=$(mktemp -d /tmp/mexec-bench.XXXXXX)
    # QEMU and the guest network run as libvirt-qemu and open the job's files below $T/jobs
    chmod 0711 "$T"
    trap 'rm -rf "$T"' EXIT
    printf 'state_dir: %s/jobs\nresource_classes:\n  bench: { vcpus: 2, memory_mib: 2048 }\n' "$T" >"$T/host.yaml"
}

# bench_first_step_job: $T/proj/.circleci/config.yml, a one-step job on debian-12:current in the
# class `bench` that prints `first-output-line` (what bench/first-step.sh times), as
# bench/boot.sh and bench/start.sh run it.
bench_first_step_job() {
    mkdir -p "$T/proj/.circleci"
    cat >"$T/proj/.circleci/config.yml" <<'YAML'
version: 2.1
jobs:
  build:
    machine: { image: debian-12:current }
    resource_class: bench
    steps:
      - run: echo first-output-line
YAML
}
