#!/bin/bash
# mexec image import of a stock-like cloud image (tests/vm/make_cloud_image.sh: partitioned
# disk, GRUB, cloud-init, no docker/jq), with --sha256 and the .deb cache filled outside
# the namespace: a wrong digest is refused before anything else; SIGTERM during the boot leaves
# nothing, and after a SIGKILL `mexec gc` removes what is left; the import boots it through
# the firmware, installs the missing packages with no network in the guest, and `image list`
# shows it; a job on it runs as circleci with passwordless sudo and docker (a busybox image from
# a registry on the host's loopback); `image rm` removes it; nothing is left.
if [[ -z ${MX_REG_OPEN:-} ]]; then
    export MX_REG_IN_NETNS=1 MX_REG_REALM_HOST=10.0.2.2
    exec "$(dirname "$0")/../registry/with-registries.sh" "$0" "$@"
fi
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
img=$("$HERE/make_cloud_image.sh" --path) || fail "no cloud-style test image"
sha=$(<"$img/cloud.qcow2.sha256")
open=${MX_REG_OPEN##*:}
# imports go to this test's own store; the packages come from the host's cache, which
# make_cloud_image.sh filled
sed -i "s|^image_store: .*|image_store: $T/store|" "$MEXEC_HOST_CONFIG"
export MEXEC_DEB_CACHE=${MEXEC_DEB_CACHE:-/var/lib/mexec/cache/debs}
cat >>"$MEXEC_HOST_CONFIG" <<YAML
# a stock image boots its own kernel and runs cloud-init: minutes under TCG
boot_timeout: 900
registries:
  10.0.2.2:$open: { insecure: true }
YAML
sed -i "s|^resource_classes:|&\n  test.cloud: { vcpus: 2, memory_mib: 2048 }|" "$MEXEC_HOST_CONFIG"
/usr/bin/python3 "$HERE/../registry/make_image.py" "$T/img" run --busybox hello-from-private-image \
    >/dev/null || fail "cannot make the busybox image"
skopeo copy -q "oci:$T/img:run" "docker://$MX_REG_OPEN/public/busybox:run" \
    --dest-tls-verify=false >/dev/null || fail "cannot push the busybox image"
ref=cloud-test:stock

# a digest that does not match: refused, nothing stored
rc=0
"$MEXEC" image import "$ref" "$img/cloud.qcow2" --sha256 "${sha//?/0}" >"$T/out" 2>"$T/err" || rc=$?
expect_rc 2
expect_err "not imported"
[[ ! -d $T/store/imported/cloud-test ]] || fail "a refused import left an image"

# no unfinished import in the store: its work directory went with it
expect_no_work() {
    [[ -z $(ls -A "$T/store/imported/.work" 2>/dev/null) ]] ||
        fail "unfinished import left: $(ls -A "$T/store/imported/.work")"
}
# start_import: an import in the background, until its VM is booting; its pid in $pid
start_import() {
    "$MEXEC" image import "$ref" "$img/cloud.qcow2" >"$T/out" 2>"$T/err" &
    pid=$!
    wait_for "$T/err" "booting $ref once" 300
}

# SIGTERM while the image boots: 143, VM, job files and work directory gone
start_import
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
expect_rc 143
expect_no_leftovers
expect_no_work

# SIGKILL: libvirt destroys the VM (auto-destroy); mexec gc removes the job's files and the
# unfinished import
start_import
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
"$MEXEC" gc >"$T/out" 2>"$T/err" || fail "mexec gc failed"
expect_out "removed unfinished image import"
expect_out "removed job files"
expect_no_leftovers
expect_no_work
[[ ! -d $T/store/imported/cloud-test ]] || fail "an interrupted import left an image"

rc=0
"$MEXEC" image import "$ref" "$img/cloud.qcow2" --sha256 "$sha" >"$T/out" 2>"$T/err" || rc=$?
expect_rc 0
expect_out "$ref imported"
expect_err "guest up after"
expect_err "installing them in the image (no network)"
manifest=$T/store/imported/cloud-test/stock/manifest.json
# what the manifest records: firmware boot, the checked digest, docker.io among the installed
/usr/bin/python3 - "$manifest" "$sha" <<'PY' || fail "manifest: $(cat "$manifest")"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["firmware"] == "bios" and m["source"]["sha256_checked"] is True
assert m["source"]["sha256"] == sys.argv[2]
assert sum(p.startswith("docker.io_") for p in m["import"]["installed"]) == 1
PY
grep -q "Setting up docker.io" "$T/store/imported/cloud-test/stock/import.log" || fail "no import.log"
"$MEXEC" image list >"$T/out" 2>"$T/err" || fail "image list failed"
grep -E "^$ref +\(imported\) +yes .*${sha:0:12}" "$T/out" >/dev/null || fail "image list lacks $ref"

# importing it again is refused until it is removed
rc=0
"$MEXEC" image import "$ref" "$img/cloud.qcow2" >"$T/out" 2>"$T/err" || rc=$?
expect_rc 2
expect_err "imported already"

sed -e "s/@IMAGE@/$ref/" -e "s/@OPEN@/$open/" "$HERE/jobs/cloud.yml" >"$T/cloud.yml"
config=$(make_project "$T/cloud.yml")
run_job "$config" build --project-dir "$T/proj"
expect_rc 0
expect_out "os=debian-12"
expect_out "user=circleci"
expect_out "in-group=docker"
expect_out "sudo=passwordless"
expect_out "git version"
expect_out "jq-"
expect_out "host-keys=ssh_host_ed25519_key "
expect_out "hostname=mexec-"
expect_out "project file"
expect_out "hello-from-private-image"
expect_no_leftovers

rc=0
"$MEXEC" image rm "$ref" >"$T/out" 2>"$T/err" || rc=$?
expect_rc 0
"$MEXEC" image list >"$T/out" 2>"$T/err" || fail "image list failed"
expect_no_out "$ref"
left=$(find "$T/store" -mindepth 1 -not -path "$T/store/imported" -not -path "$T/store/imported/.work")
[[ -z $left ]] || fail "left in the store: $left"
expect_no_leftovers
expect_no_work
echo "PASS image_import"
