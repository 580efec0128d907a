#!/bin/bash
# Configures and builds mexec into DIR (default build/) with any extra cmake arguments; used by
# the demo and the test suite so both build the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
