#!/bin/bash
# Image builds without the network: a test catalog (MEXEC_IMAGES_DIR) whose recipe is a tiny
# script writing small artifacts, driven through `mexec image build|list|path` and through
# `mexec run`, which builds an unbuilt image first.  `mexec run` is stopped right after the
# image is ready by an agent path that is not executable (MEXEC_AGENT), so no VM is started.
# Covers: --no-build, one build for two concurrent runs (flock in the store), the recipe's
# output on stderr only, host.yaml image_mirrors reaching the recipe (the environment wins),
# dated tags frozen at their first build and kept when the recipe changes, unknown dated
# tags, a failed and an interrupted build leaving nothing behind, a frozen build that is
# gone, and a catalog sha256 pin.
set -euo pipefail
MEXEC=${MEXEC:?MEXEC must name the mexec binary}
T=$(mktemp -d /tmp/mexec-imgbuild.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    local f
    for f in "$T"/*.err "$T"/*.out; do
        [[ -s $f ]] && { echo "--- ${f##*/}:" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
}

export MEXEC_IMAGES_DIR=$T/images MEXEC_HOST_CONFIG=$T/host.yaml
export MEXEC_AGENT=$T/no-agent TINY_RUNS=$T/runs
unset MEXEC_UBUNTU_MIRROR MEXEC_UBUNTU_SECURITY_MIRROR MEXEC_DEBIAN_MIRROR
: >"$MEXEC_AGENT" # exists, not executable: mexec run stops there
cat >"$MEXEC_HOST_CONFIG" <<YAML
libvirt_uri: test:///default
image_store: $T/store
state_dir: $T/jobs
image_mirrors: { ubuntu: "http://mirror.example/ubuntu" }
resource_classes:
  test.small: { vcpus: 1, memory_mib: 512 }
YAML
mkdir -p "$T/images/tiny" "$T/images/common"
cat >"$T/images/catalog.yaml" <<'YAML'
default: tiny:current
images:
  tiny:current:   { recipe: tiny }
  tiny:edge:      { recipe: tiny }
  tiny:2024.01.1: { recipe: tiny }
  tiny:202201-02: { recipe: tiny }
  tiny:pinned:    { recipe: tiny, sha256: 0000000000000000000000000000000000000000000000000000000000000000 }
YAML
echo "shared file" >"$T/images/common/README"
# The recipe: small artifacts and a manifest as the real recipes write them.  TINY_WAIT_FOR:
# wait for that file first; TINY_FAIL: fail instead.  It logs each run and its environment.
cat >"$T/images/tiny/recipe.sh" <<'SH'
#!/bin/bash
set -euo pipefail
out=$1
echo "run $$ hash=${MEXEC_RECIPE_HASH:-} ref=${MEXEC_IMAGE_REF:-} ubuntu=${MEXEC_UBUNTU_MIRROR:-} security=${MEXEC_UBUNTU_SECURITY_MIRROR:-}" >>"$TINY_RUNS"
echo "tiny: progress on stdout"
echo "tiny: progress on stderr" >&2
if [[ -n ${TINY_WAIT_FOR:-} ]]; then
    while [[ ! -e $TINY_WAIT_FOR ]]; do sleep 0.1; done
fi
[[ -z ${TINY_FAIL:-} ]] || { echo "tiny: failing as asked" >&2; exit 1; }
echo "base $MEXEC_RECIPE_HASH" >"$out/base.qcow2"
echo kernel >"$out/vmlinux"
echo initrd >"$out/initrd.img"
echo "console=ttyS0" >"$out/cmdline"
sha=$(sha256sum "$out/base.qcow2" | cut -d' ' -f1)
printf '{"name": "tiny", "artifacts": {"base.qcow2": {"sha256": "%s", "size": 1}}}\n' "$sha" >"$out/manifest.json"
SH
chmod +x "$T/images/tiny/recipe.sh"

job() { # job IMAGE: a config with one job on IMAGE
    printf 'version: 2.1\njobs:\n  build:\n    machine: { image: "%s" }\n    resource_class: test.small\n    steps:\n      - run: echo hi\n' "$1" >"$T/config-$2.yml"
    echo "$T/config-$2.yml"
}
# run NAME CMD...: runs CMD, output in $T/NAME.out/.err, status in $rc
run() {
    local name=$1
    shift
    rc=0
    "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null || rc=$?
}
expect() { # expect NAME STATUS TEXT: status and a line of stderr
    [[ $rc -eq $2 ]] || fail "$1: exit status $rc, expected $2"
    grep -qF -- "$3" "$T/$1.err" || fail "$1: stderr lacks: $3"
}
runs() { [[ -f $TINY_RUNS ]] && wc -l <"$TINY_RUNS" || echo 0; }
no_leftovers() {
    local left
    left=$(find "$T/store" -maxdepth 2 -name '.build-*' 2>/dev/null)
    [[ -z $left ]] || fail "$1: temporary build directory left: $left"
}
wait_file_has() { # FILE TEXT: waits (up to a minute) until FILE contains TEXT
    local i
    for ((i = 0; i < 600; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "\"$2\" did not appear in ${1##*/}"
}
agent_stop="MEXEC_AGENT=$MEXEC_AGENT is not an executable file"

# --- nothing built: list, --no-build -------------------------------------------------------
run list "$MEXEC" image list
[[ $rc -eq 0 ]] || fail "image list: $rc"
grep -qE '^tiny:current +tiny +no +no ' "$T/list.out" || fail "list: tiny:current not shown unbuilt"
grep -qE '^tiny:2024.01.1 +tiny +no +at-build ' "$T/list.out" || fail "list: dated tag not shown as frozen at build"
cfg=$(job tiny:current cur)
run nobuild "$MEXEC" run -c "$cfg" --job build --no-build
expect nobuild 3 "not building it (--no-build)"
expect nobuild 3 "run: mexec image build tiny:current"
[[ $(runs) -eq 0 ]] || fail "--no-build ran the recipe"

# --- unknown dated tag: exit 2 with the known ones ------------------------------------------
run unknown "$MEXEC" run -c "$(job tiny:2019.01.1 old)" --job build
expect unknown 2 "2019.01.1 is not a dated tag the catalog"
expect unknown 2 "known: 2024.01.1, 202201-02; or current, edge"
run unknown2 "$MEXEC" image build tiny:201901-01
expect unknown2 2 "known: 2024.01.1, 202201-02"
run unknown3 "$MEXEC" image build tiny:nightly
expect unknown3 2 'machine image "tiny:nightly" is not in the catalog'

# --- two runs at once build once ----------------------------------------------------------
export TINY_WAIT_FOR=$T/go
"$MEXEC" run -c "$cfg" --job build >"$T/a.out" 2>"$T/a.err" </dev/null &
pids+=($!)
wait_file_has "$T/a.err" "building tiny:current"
"$MEXEC" run -c "$cfg" --job build >"$T/b.out" 2>"$T/b.err" </dev/null &
pids+=($!)
# B must wait for A's build (the recipe of A cannot finish before go exists)
wait_file_has "$T/b.err" "waiting for another mexec to finish building tiny:current"
touch "$T/go"
for p in "${pids[@]}"; do
    rc=0
    wait "$p" || rc=$?
    [[ $rc -eq 3 ]] || fail "concurrent run: exit status $rc, expected 3 (stopped at the agent)"
done
pids=()
unset TINY_WAIT_FOR
for x in a b; do grep -qF "$agent_stop" "$T/$x.err" || fail "run $x did not get past the image"; done
[[ $(runs) -eq 1 ]] || fail "two concurrent runs ran the recipe $(runs) times"
grep -qF "tiny: progress on stdout" "$T/a.err" || fail "the recipe's stdout did not reach stderr"
grep -qF "tiny: progress" "$T/a.out" && fail "the recipe's output reached the job's stdout"
grep -qF "tiny:current built: $T/store/tiny/" "$T/a.err" || fail "no 'built' notice"
hash1=$(sed -n 's/.*hash=\([0-9a-f]*\) .*/\1/p' "$TINY_RUNS")
[[ ${#hash1} -eq 64 ]] || fail "MEXEC_RECIPE_HASH not passed: $(cat "$TINY_RUNS")"
grep -qE "ubuntu=http://mirror.example/ubuntu security=$" "$TINY_RUNS" || fail "host.yaml image_mirrors not passed: $(cat "$TINY_RUNS")"
no_leftovers concurrent
# a built image: no build, also with --no-build
run again "$MEXEC" run -c "$cfg" --job build --no-build
expect again 3 "$agent_stop"
[[ $(runs) -eq 1 ]] || fail "a built image was built again"
run built "$MEXEC" image build tiny:edge
[[ $rc -eq 0 ]] || fail "image build of a built image: $rc"
grep -qF "tiny:edge is built: $T/store/tiny/$hash1" "$T/built.out" || fail "image build of a built image"

# --- a dated tag freezes to its first build -------------------------------------------------
run freeze "$MEXEC" image build tiny:2024.01.1
expect freeze 0 "tiny:2024.01.1 frozen to the build ${hash1:0:12}"
grep -qF "\"build\": \"$hash1\"" "$T/store/tiny/tags/2024.01.1.json" || fail "no tag record"
grep -qF '"base.qcow2"' "$T/store/tiny/tags/2024.01.1.json" || fail "the record lacks the artifacts' sha256"
run list2 "$MEXEC" image list
grep -qE "^tiny:2024.01.1 +tiny +yes +yes +${hash1:0:12} " "$T/list2.out" || fail "list: frozen tag"
# the recipe changes: current follows it, the frozen tag does not
echo "# v2" >>"$T/images/tiny/recipe.sh"
run path "$MEXEC" image path tiny:2024.01.1
[[ $rc -eq 0 && $(cat "$T/path.out") == "$T/store/tiny/$hash1" ]] || fail "frozen tag moved: $(cat "$T/path.out" "$T/path.err")"
run list3 "$MEXEC" image list
grep -qE '^tiny:current +tiny +no +no ' "$T/list3.out" || fail "list: current did not follow the recipe"
grep -qE "^tiny:2024.01.1 +tiny +yes +yes +${hash1:0:12} " "$T/list3.out" || fail "list: frozen tag after the change"
grep -qE '^tiny:202201-02 +tiny +no +at-build ' "$T/list3.out" || fail "list: unfrozen dated tag"
# the other dated tag freezes to the new recipe's build; the environment beats host.yaml
MEXEC_UBUNTU_MIRROR=http://env.example/ubuntu run freeze2 "$MEXEC" image build tiny:202201-02
expect freeze2 0 "tiny:202201-02 frozen to the build"
hash2=$(sed -n '2s/.*hash=\([0-9a-f]*\) .*/\1/p' "$TINY_RUNS")
[[ ${#hash2} -eq 64 && $hash2 != "$hash1" ]] || fail "the changed recipe did not build anew"
grep -qF "\"build\": \"$hash2\"" "$T/store/tiny/tags/202201-02.json" || fail "second record"
sed -n 2p "$TINY_RUNS" | grep -qF "ubuntu=http://env.example/ubuntu" || fail "the environment did not win: $(sed -n 2p "$TINY_RUNS")"

# --- a failing build and an interrupted one leave nothing; the lock is free after ----------
echo "# v3" >>"$T/images/tiny/recipe.sh"
TINY_FAIL=1 run failed "$MEXEC" image build tiny:current
expect failed 3 "recipe.sh failed with exit status 1"
no_leftovers failed
TINY_WAIT_FOR=$T/never "$MEXEC" image build tiny:current >"$T/int.out" 2>"$T/int.err" </dev/null &
pid=$!
pids=("$pid")
wait_file_has "$T/int.err" "tiny: progress on stderr"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pids=()
[[ $rc -eq 143 ]] || fail "interrupted build: exit status $rc, expected 143"
no_leftovers interrupted
pgrep -f "$T/images/tiny/recipe.sh" >/dev/null && fail "the recipe outlived the interrupted build"
run after "$MEXEC" image build tiny:current
expect after 0 "tiny:current built"

# --- a frozen build that is gone is not rebuilt from today's recipe -------------------------
rm -rf "${T:?}/store/tiny/$hash1"
run gone "$MEXEC" run -c "$(job tiny:2024.01.1 dated)" --job build
expect gone 3 "is frozen to the build $T/store/tiny/$hash1, which is no longer in the store"
expect gone 3 "remove $T/store/tiny/tags/2024.01.1.json"

# --- a catalog pin the build does not match -------------------------------------------------
run pinned "$MEXEC" run -c "$(job tiny:pinned pin)" --job build
expect pinned 3 "the catalog pins base.qcow2 sha256 0000000000000000"
[[ -z $(ls -A "$T/jobs" 2>/dev/null) ]] || fail "job files left behind"
echo "PASS image_build"
