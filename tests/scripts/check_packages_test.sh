#!/bin/bash
# scripts/check-packages.py: passes on this repository, and fails on a tree whose tests use a
# tool or a host file from a package setup-host.sh does not install (the /bin/busybox miss that
# broke README command 2 on a fresh machine).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
check=$repo/scripts/check-packages.py
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$check" "$repo" >"$T/out" || { cat "$T/out" >&2; fail "the repository itself fails the check"; }

# tree ROOT PACKAGE...: a minimal repository whose setup-host.sh installs PACKAGE...
tree() {
    local root=$1
    shift
    mkdir -p "$root/scripts" "$root/tests/registry"
    { echo 'PACKAGES=('; printf '    %s\n' "$@"; echo ')'; } >"$root/scripts/setup-host.sh"
    cp "$repo/tests/registry/make_image.py" "$root/tests/registry/"
    cat >"$root/tests/use.sh" <<'SH'
#!/bin/bash
set -e
out=$(qemu-img info "$1")
echo "$out" | grep -q x && nice -n 5 sha256sum "$1"
SH
}

# a Python test reads /bin/busybox: its package must be installed by setup-host.sh
tree "$T/a" qemu-utils
rc=0
"$check" "$T/a" >"$T/out" || rc=$?
[[ $rc -eq 1 ]] || fail "busybox miss: exit $rc, want 1"
grep -q "/bin/busybox .*busybox-static.* does not install" "$T/out" || fail "no busybox line: $(cat "$T/out")"

# a shell test runs qemu-img inside $( ): its package must be installed
tree "$T/b" busybox-static
rc=0
"$check" "$T/b" >"$T/out" || rc=$?
[[ $rc -eq 1 ]] || fail "qemu-img miss: exit $rc, want 1"
grep -q "^check-packages: qemu-img .*qemu-utils" "$T/out" || fail "no qemu-img line: $(cat "$T/out")"
grep -q "sha256sum" "$T/out" && fail "coreutils is on every Debian system: $(cat "$T/out")"

# both installed: passes
tree "$T/c" busybox-static qemu-utils
"$check" "$T/c" >"$T/out" || fail "complete tree refused: $(cat "$T/out")"
echo "ok"
