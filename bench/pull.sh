#!/bin/bash
# bench/pull.sh [RUNS]: the registry client pulling an image vs skopeo doing the same.
#
# A ~250 MiB, 5-layer image (tests/registry/make_image.py, incompressible) is pushed to a
# loopback docker-registry (no auth, plain HTTP; tests/registry/with-registries.sh, in its own
# network namespace), then pulled into a fresh OCI layout, interleaved:
#   (a) reference: skopeo copy docker://REG/bench/img:v1 oci:DIR:v1
#   (b) client:    mx-reg-pull (libmx/mx_reg_pull_to_dir: parallel layers, SHA-256 checked)
# Prints every sample, the medians and the ratio a/b (>= 1.0: the client is at least as fast).
# Needs a build (cmake --build build) and scripts/setup-host.sh's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
pull=${MX_REG_PULL:-$PWD/build/tests/bin/mx-reg-pull}
[[ -x $pull ]] || { echo "pull.sh: $pull not built (cmake --build build)" >&2; exit 2; }

if [[ ${2:-} != --inner ]]; then
    export MX_REG_SKIP_IMAGES=1 MX_REG_PULL=$pull
    exec tests/registry/with-registries.sh "$0" "$runs" --inner
fi

T=$(mktemp -d /tmp/mexec-bench-pull.XXXXXX)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 tests/registry/make_image.py "$T/src" v1 --layers 5 \
    --layer-size $((50 * 1024 * 1024)) >/dev/null
skopeo copy -q oci:"$T/src":v1 "docker://$MX_REG_OPEN/bench/img:v1" --dest-tls-verify=false
size=$(du -sm "$T/src/blobs" | cut -f1)
rm -rf "$T/src"

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
# each pulls into a fresh directory and prints its seconds
skopeo_pull() {
    rm -rf "$T/a" && sync
    local t0
    t0=$(now)
    skopeo copy -q "docker://$MX_REG_OPEN/bench/img:v1" "oci:$T/a:v1" --src-tls-verify=false
    since "$t0"
}
mx_pull() {
    rm -rf "$T/b" && sync
    local t0
    t0=$(now)
    "$pull" --insecure "$MX_REG_OPEN/bench/img:v1" "$T/b" >/dev/null
    since "$t0"
}
# shellcheck source=bench/lib.sh
source bench/lib.sh
rounds "$runs" skopeo_pull skopeo mx_pull mx-reg-pull
ma=$median_a mb=$median_b
printf 'image: %s MiB, 5 layers, loopback registry (plain HTTP)\n' "$size"
printf 'median of %d: skopeo copy ... oci: %.3f s, mx-reg-pull %.3f s, ratio skopeo/mx %.2fx\n' \
    "$runs" "$ma" "$mb" "$(echo "$ma / $mb" | bc -l)"
