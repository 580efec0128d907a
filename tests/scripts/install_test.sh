#!/bin/bash
# mexec installed as hosts install software (cmake/install.cmake, provisioner/host/install_dirs.c):
#   - `cmake --install BUILD --prefix P` gives a mexec that finds the catalog and recipes under
#     P/share/mexec/images and the agent in P/libexec/mexec, not in the checkout it was built
#     from, and still does after the whole prefix is moved; it lists the images (with the same
#     recipe hashes as the build tree's mexec, so both share the image store's builds),
#     validates the installed example, and `mexec doctor` reports the installed agent and QEMU
#     wrapper (mexec-qemu);
#   - `cpack -G DEB` makes mexec_VERSION_ARCH.deb holding the binaries, the catalog and every
#     recipe, whose Depends has libvirt and QEMU (and the shared libraries, from
#     dpkg-shlibdeps), each run-time package also one scripts/setup-host.sh installs; the
#     packaged tree, unpacked (never installed here), runs as well.
# No VM, no libvirtd: `doctor` talks to libvirt's in-process test driver.
#   BUILD_DIR=build MEXEC_SRC=. tests/scripts/install_test.sh
set -euo pipefail
BUILD_DIR=${BUILD_DIR:?BUILD_DIR must name the build directory}
SRC=${MEXEC_SRC:?MEXEC_SRC must name the source tree}
T=$(mktemp -d /tmp/mexec-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# has FILE TEXT WHAT: FILE contains the line fragment TEXT
has() { grep -qF -- "$2" "$1" || { fail "$3: no \"$2\" in:"; sed 's/^/  /' "$1" >&2; }; }

export MEXEC_HOST_CONFIG=$T/host.yaml
unset MEXEC_IMAGES_DIR MEXEC_AGENT
printf 'libvirt_uri: "test:///default"\nimage_store: %s/store\nstate_dir: %s/jobs\n' "$T" "$T" \
    >"$MEXEC_HOST_CONFIG"

cmake --install "$BUILD_DIR" --prefix "$T/prefix" >"$T/install.log" ||
    { cat "$T/install.log" >&2; echo "FAIL: cmake --install" >&2; exit 1; }

# check_tree P WHAT: the mexec under prefix P works from P alone.
check_tree() {
    local p=$1 what=$2 rc=0
    [[ -x $p/bin/mexec ]] || { fail "$what: no executable bin/mexec"; return; }
    [[ -x $p/share/mexec/setup-host.sh ]] || fail "$what: no executable share/mexec/setup-host.sh"
    "$p/bin/mexec" image list >"$T/list" 2>&1 || fail "$what: mexec image list failed"
    has "$T/list" "debian-12:current" "$what: image list"
    # The build tree's mexec on the same settings: the same images with the same recipe hashes.
    diff "$T/list" "$T/build-list" >&2 || fail "$what: image list differs from the build tree's"
    (cd "$T" && "$p/bin/mexec" config validate -c \
        "$p/share/doc/mexec/examples/hello/.circleci/config.yml") >"$T/validate" 2>&1 ||
        fail "$what: config validate of the installed example failed"
    has "$T/validate" "is valid" "$what: config validate"
    "$p/bin/mexec" doctor >"$T/doctor" 2>&1 || rc=$?
    # nothing is built in the empty store, so doctor says jobs cannot run (3)
    [[ $rc -eq 3 ]] || fail "$what: mexec doctor exited $rc (want 3)"
    has "$T/doctor" "ok    guest agent: $(realpath "$p")/libexec/mexec/mexec-agent" "$what: doctor"
    has "$T/doctor" "ok    QEMU wrapper: $(realpath "$p")/libexec/mexec/mexec-qemu" "$what: doctor"
    has "$T/doctor" "warn  image debian-12:current: not built" "$what: doctor"
}

"$BUILD_DIR/bin/mexec" image list >"$T/build-list" 2>&1 || fail "build tree: mexec image list"
check_tree "$T/prefix" "cmake --install"

# The installed catalog is the one read: an entry added there shows, the build tree lacks it.
printf '  install-test:current: { recipe: debian-12 }\n' >>"$T/prefix/share/mexec/images/catalog.yaml"
"$T/prefix/bin/mexec" image list >"$T/list" 2>&1 || fail "image list after editing the catalog"
has "$T/list" "install-test:current" "installed catalog"
if grep -qF "install-test:current" "$T/build-list"; then fail "the build tree read the prefix"; fi

# Relocatable: the same tree moved elsewhere (catalog as installed again).
cmake --install "$BUILD_DIR" --prefix "$T/prefix" >"$T/install.log"
mv "$T/prefix" "$T/moved"
check_tree "$T/moved" "moved prefix"

# The .deb, built into $T (not into the build tree) and never installed on this host.
(cd "$T" && cpack --config "$BUILD_DIR/CPackConfig.cmake" -G DEB -B "$T/pkg") >"$T/cpack.log" 2>&1 ||
    { cat "$T/cpack.log" >&2; echo "FAIL: cpack -G DEB" >&2; exit 1; }
debs=("$T"/pkg/mexec_*_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || { echo "FAIL: want one mexec_VERSION_ARCH.deb, got: ${debs[*]}" >&2; exit 1; }
deb=${debs[0]}
version=$("$BUILD_DIR/bin/mexec" --version | awk '{print $2}')
[[ $(basename "$deb") == "mexec_${version}_$(dpkg --print-architecture).deb" ]] ||
    fail "package name $(basename "$deb") (want mexec_${version}_ARCH.deb)"
dpkg-deb -c "$deb" | awk '{print $6}' >"$T/contents"
for f in ./usr/bin/mexec ./usr/libexec/mexec/mexec-agent ./usr/libexec/mexec/mexec-qemu \
    ./usr/share/mexec/images/catalog.yaml \
    ./usr/share/mexec/images/common/recipe-lib.sh ./usr/share/mexec/images/import/fetch-debs.sh \
    ./usr/share/mexec/setup-host.sh ./usr/share/doc/mexec/README.md; do
    grep -qxF "$f" "$T/contents" || fail ".deb lacks $f"
done
# every recipe the catalog names
sed -n 's/.*{ *recipe: *\([A-Za-z0-9._-]*\).*/\1/p' "$SRC/images/catalog.yaml" | sort -u >"$T/recipes"
while read -r r; do
    grep -qxF "./usr/share/mexec/images/$r/recipe.sh" "$T/contents" || fail ".deb lacks recipe $r"
done <"$T/recipes"
[[ -s $T/recipes ]] || fail "no recipe found in $SRC/images/catalog.yaml"

dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' >"$T/depends"
for p in libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils passt mmdebstrap libvirt0 \
    libssh2-1 libcurl4 libjansson4; do
    grep -qxF "$p" "$T/depends" || fail ".deb Depends lacks $p: $(dpkg-deb -f "$deb" Depends)"
done
# The run-time packages named by hand (not shared libraries) are ones setup-host.sh installs too.
packages=$(sed -n '/^PACKAGES=(/,/^)/p' "$SRC/scripts/setup-host.sh" | sed 's/#.*//')
while read -r p; do
    [[ $p == lib*[0-9]* || $p == libc6 ]] && continue
    grep -qw -- "$p" <<<"$packages" || fail ".deb depends on $p, which setup-host.sh does not install"
done <"$T/depends"

# The packaged tree itself runs (unpacked, as dpkg would place it under /usr).
dpkg-deb -x "$deb" "$T/unpacked"
check_tree "$T/unpacked/usr" "unpacked .deb"

if ((failures)); then
    echo "install_test: $failures failure(s)" >&2
    exit 1
fi
echo "install_test: cmake --install, moved prefix, $(basename "$deb") all pass"
