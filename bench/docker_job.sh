#!/bin/bash
# bench/docker_job.sh [RUNS]: time to the first step of a docker executor job vs a machine job.
#
# (a) reference: `mexec run` of a one-step machine job (debian-12:current);
# (b) `mexec run` of the same step as a docker job: the test image (tests/registry/
#     test-images.sh, 38 MB compressed) pulled from a registry on loopback into the VM's
#     dockerd, the primary container started, the step run in it.
# Both from mexec's start to the step's first output line, same size (1 vCPU, 1536 MiB),
# interleaved.  Prints every sample, the medians and the ratio b/a.  Everything runs inside one
# loopback-only network namespace (tests/vm/netns-run.sh); needs root, the built debian-12
# image and the test image (scripts/test.sh builds both).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${MX_BENCH_INNER:-} ]]; then
    oci=$(tests/registry/test-images.sh --path)
    MX_BENCH_INNER=$oci exec tests/vm/netns-run.sh "$0" "$@"
fi
runs=${1:-3}
mexec=$PWD/build/bin/mexec
T=$(mktemp -d /tmp/mexec-bench.XXXXXX)
# QEMU runs as libvirt-qemu and opens the job's disk below $T/jobs by path
chmod 0711 "$T"
reg=
trap '[[ -n $reg ]] && kill "$reg"; rm -rf "$T"' EXIT
ip link set lo up

cat >"$T/registry.yml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $T/storage}}
http: {addr: 127.0.0.1:5099, secret: mexec-bench}
YAML
setpriv --pdeathsig KILL -- docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
reg=$!
for ((i = 0; i < 100; i++)); do curl -s -o /dev/null http://127.0.0.1:5099/v2/ && break; sleep 0.1; done
skopeo copy -q "oci:$MX_BENCH_INNER:tools" docker://127.0.0.1:5099/bench/tools:1 --dest-tls-verify=false

cat >"$T/host.yaml" <<YAML
state_dir: $T/jobs
resource_classes:
  bench: { vcpus: 1, memory_mib: 1536 }
registries:
  10.0.2.2:5099: { insecure: true }
YAML
mkdir -p "$T/proj/.circleci"
cat >"$T/proj/.circleci/config.yml" <<'YAML'
version: 2.1
jobs:
  machine:
    machine: { image: debian-12:current }
    resource_class: bench
    steps:
      - run: echo first-output-line
  docker:
    docker:
      - image: 10.0.2.2:5099/bench/tools:1
    resource_class: bench
    steps:
      - run: echo first-output-line
YAML

# seconds from mexec's start to the first output line of job $1
first_line() {
    local start line
    start=$(date +%s%N)
    MEXEC_HOST_CONFIG=$T/host.yaml "$mexec" run -c "$T/proj/.circleci/config.yml" --job "$1" \
        2>/dev/null | while IFS= read -r line; do
        [[ $line == first-output-line ]] && awk -v ns=$(($(date +%s%N) - start)) 'BEGIN {printf "%.2f\n", ns / 1e9}'
    done
}
machine_job() { first_line machine; }
docker_job() { first_line docker; }

# shellcheck source=bench/lib.sh
source bench/lib.sh
rounds "$runs" machine_job "machine job" docker_job "docker job"
awk -v n="$runs" -v a="$median_a" -v b="$median_b" 'BEGIN {
    printf "median over %d runs: (a) machine job %.2f s, (b) docker job %.2f s to the first step, ratio b/a %.2f\n", n, a, b, b / a }'
