#!/bin/bash
# README command 1: from a fresh Debian 12 machine (as root) to the example job run in a VM.
# Installs and starts what mexec needs, builds it, builds the default machine image (cached by
# recipe hash), then runs examples/hello's job `build`.  The example runs in a network
# namespace with only loopback (tests/vm/netns-run.sh) so that trying it reaches nothing
# outside this machine; your own jobs run with plain `build/bin/mexec run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-host.sh
scripts/build.sh build
build/bin/mexec image build debian-12:current
exec tests/vm/netns-run.sh build/bin/mexec run -c examples/hello/.circleci/config.yml --job build
