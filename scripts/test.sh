#!/bin/bash
# README command 2 (and what .ci/run runs): the whole test suite on a fresh Debian 12 machine.
# Installs packages, builds with gcc, clang and clang+ASan/UBSan, runs the unit
# tests in the gcc and sanitizer builds, builds the debian-12 and Ubuntu machine images (cached), then runs the VM tests
# inside a loopback-only network namespace with a private libvirtd.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s\n' "$*"; }

step "host packages"
scripts/setup-host.sh --no-daemons

step "host packages: every tool the scripts and tests run is installed by setup-host.sh"
scripts/check-packages.py

step "style"
shellcheck -x scripts/*.sh provisioner/*/*.sh tests/scripts/*.sh tests/vm/*.sh tests/provisioner/*/*.sh tests/registry/*.sh tests/gitlab/*.sh tests/images/*.sh images/*/recipe.sh images/*.sh images/import/*.sh bench/*.sh .ci/run
git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror
# library code reports through the sink; only provisioner/cli/ prints
scripts/check-print.sh

step "build: gcc"
scripts/build.sh build
step "source checks: include cycles, bans, headers on their own, cppcheck, clang-tidy"
scripts/check-src.sh build

step "build: clang"
CC=clang scripts/build.sh build-clang
step "build: clang + AddressSanitizer + UBSan"
CC=clang scripts/build.sh build-asan -DMEXEC_SANITIZE=ON

step "unit tests (gcc)"
(cd build && ctest -L unit --output-on-failure)
step "unit tests (ASan+UBSan)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --output-on-failure)

step "fuzz: config loader + 2.1 expander, agent protocol reader, agent HTTP response parser, terminal filter"
CC=clang scripts/build.sh build-fuzz -DMEXEC_FUZZ=ON -DMEXEC_SANITIZE=ON
# fuzz TARGET SECONDS: a fresh working corpus seeded from tests/fuzz/corpus/TARGET; the pipeline
# fails when the fuzzer does (pipefail), i.e. on any crash, leak, hang or abort
fuzz() {
    local corpus
    corpus=$(mktemp -d)
    build-fuzz/tests/bin/"$1"_fuzz -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "$corpus" "tests/fuzz/corpus/$1" 2>&1 |
        grep -E "stat::(number_of_executed_units|new_units_added)|ERROR|SUMMARY"
    rm -rf "$corpus"
}
fuzz cfg "${MEXEC_FUZZ_SECONDS:-60}"
fuzz proto "${MEXEC_FUZZ_SECONDS:-30}"
fuzz agent_http "${MEXEC_FUZZ_SECONDS:-30}"
fuzz term "${MEXEC_FUZZ_SECONDS:-30}"

step "machine image debian-12:current"
build/bin/mexec image build debian-12:current
# The Ubuntu images from Ubuntu's archive (cached by recipe hash like debian-12).  A failed
# build (e.g. the archive cannot be reached: the recipe says so) does not stop the suite here:
# the VM tests of that image then fail, naming the image that is not built.
for img in ubuntu-2004 ubuntu-2204 ubuntu-2404; do
    step "machine image $img:current"
    build/bin/mexec image build "$img:current" || echo "test.sh: $img:current was not built (see above); its VM tests will fail"
done
step "cloud-style image and its packages for the import test (needs the network: outside the namespace)"
tests/vm/make_cloud_image.sh >/dev/null
step "container image of the docker executor's VM tests (Debian packages, cached)"
tests/registry/test-images.sh

step "VM tests (network namespace with only lo)"
tests/vm/netns-run.sh bash -c 'cd build && ctest -L vm --output-on-failure'
