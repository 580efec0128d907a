#!/bin/bash
# test-images.sh [--path] — the container image of the docker executor's VM tests, built from
# Debian packages (no Docker Hub), cached by the hash of this recipe.
#
# One image serves as primary and as service: Debian bookworm (mmdebstrap's "essential"
# variant: bash, coreutils, tar...) with redis-server and redis-cli, a user circleci (uid 3434,
# as CircleCI's cimg images), and redis-server (listening on every address, unprotected) as its
# command.  Written as an OCI layout (make_image.py --rootfs) under
#   ${MEXEC_TEST_IMAGES:-/var/lib/mexec/test-images}/HASH/oci   (tag "tools")
# which the VM tests push into their loopback registries with skopeo.
#
# Building needs the package archive (through the host's apt proxy), so it runs outside the
# tests' network namespace: scripts/test.sh calls it before the VM tests.  --path prints where
# the image is and fails if it is not built (what the tests call).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
store=${MEXEC_TEST_IMAGES:-/var/lib/mexec/test-images}
hash=$(cat "$0" "$here/make_image.py" | sha256sum | cut -c1-16)
out=$store/$hash

if [[ ${1:-} == --path ]]; then
    [[ -f $out/oci/index.json ]] || {
        echo "test-images: not built; run tests/registry/test-images.sh (outside the test namespace)" >&2
        exit 1
    }
    echo "$out/oci"
    exit 0
fi
if [[ -f $out/oci/index.json ]]; then
    echo "$out/oci"
    exit 0
fi

mirrors=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    if grep -Eq "^[[:space:]]*(deb[[:space:]].*[[:space:]]|Suites:([[:space:]].*)?[[:space:]])bookworm([[:space:]]|$)" "$f"; then
        mirrors+=("$f")
    fi
done
((${#mirrors[@]})) || mirrors=(http://deb.debian.org/debian)

mkdir -p "$store"
work=$(mktemp -d "$store/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT
# the hooks run in mmdebstrap's shell, with the tree as $1
# shellcheck disable=SC2016
mmdebstrap --mode=root --variant=essential --format=tar --skip=output/dev \
    --include=bash,redis-server,redis-tools \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='echo "circleci:x:3434:3434::/home/circleci:/bin/bash" >>"$1/etc/passwd"' \
    --customize-hook='echo "circleci:x:3434:" >>"$1/etc/group"' \
    --customize-hook='mkdir -p "$1/home/circleci" && chown 3434:3434 "$1/home/circleci"' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
    bookworm "$work/rootfs.tar" "${mirrors[@]}" >"$work/mmdebstrap.log" 2>&1 ||
    { tail -20 "$work/mmdebstrap.log" >&2; exit 1; }
/usr/bin/python3 "$here/make_image.py" "$work/oci" tools --rootfs "$work/rootfs.tar" \
    --cmd '["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]' >/dev/null
rm "$work/rootfs.tar"
mv "$work" "$out"
trap - EXIT
echo "$out/oci"
