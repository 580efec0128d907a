#!/bin/bash
# bench/output.sh [RUNS]: host CPU that mexec spends on a step's output, against a plain ssh.
#
# One job per round (2 vCPUs, 2 GiB, debian-12 image): step 1 writes ~100 MB of base64 text to a file
# in the guest and prints a marker, step 2 cats the file (the output measured), step 3 prints a
# marker and fails, so --keep-on-failure keeps the VM.  (b) mexec: the user+system CPU of the
# `mexec run` process between the two markers (read from /proc/PID/stat while the guest sleeps
# after each marker), its stdout going to a reader that watches for the markers.  (a) reference,
# in the same VM right after: OpenSSH's `ssh` (through `mexec ssh`, the job's key and pinned
# host key) running `cat` of the same file, its output to /dev/null: the cost of SSH decryption
# and a write, which mexec's path includes plus the protocol, base64, masking and the terminal
# filter.  Both are normalized to CPU seconds per 100 MB (10^8 bytes) of output.  Prints every
# sample, the medians and the ratio b/a.  Needs root and a built image; VMs run in loopback-only
# network namespaces.  MEXEC=PATH measures another build of mexec (its mexec-agent beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
T=$(mktemp -d /tmp/mexec-bench.XXXXXX)
# QEMU and the guest network run as libvirt-qemu and open the job's files below $T/jobs
chmod 0711 "$T"
trap 'rm -rf "$T"' EXIT

printf 'state_dir: %s/jobs\nboot_timeout: 900\nresource_classes: { bench: { vcpus: 2, memory_mib: 2048 } }\n' "$T" >"$T/host.yaml"
mkdir -p "$T/proj/.circleci"
cat >"$T/proj/.circleci/config.yml" <<'YAML'
version: 2.1
jobs:
  out:
    machine: { image: debian-12:current }
    resource_class: bench
    steps:
      - run: |
          head -c 75000000 /dev/urandom | base64 -w 100 >/tmp/out.txt
          echo "BENCH-READY $(stat -c %s /tmp/out.txt)"
          sleep 3
      - run: cat /tmp/out.txt
      - run: |
          echo BENCH-DONE
          sleep 3
          false
YAML

# One round, inside the network namespace: prints "BYTES MEXEC_CPU_S SSH_CPU_S".
cat >"$T/round.sh" <<'SH'
#!/bin/bash
set -euo pipefail
ticks=$(getconf CLK_TCK)
# user + system CPU seconds of process $1 so far
cpu() { awk -v t="$ticks" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"; }
mkfifo "$T/pipe"
"$MEXEC" run -c "$CONFIG" --job out --keep-on-failure >"$T/pipe" 2>"$T/err" </dev/null &
pid=$!
# the reader: marks the markers' arrival in files; the rest of the output is discarded (grep
# reads fast and passes each marker on at once; mawk would hold them in its buffer)
grep --line-buffered -E '^BENCH-(READY|DONE)' <"$T/pipe" | while read -r marker bytes; do
    case $marker in
        BENCH-READY) echo "$bytes" >"$T/bytes" && touch "$T/ready" ;;
        BENCH-DONE) touch "$T/done" ;;
    esac
done &
wait_file() { # FILE SECONDS
    local i
    for ((i = 0; i < $2 * 10; i++)); do [[ -e $1 ]] && return 0; sleep 0.1; done
    echo "bench: no $1 after $2 s; mexec said:" >&2; cat "$T/err" >&2; return 1
}
wait_file "$T/ready" 900
sleep 1 # the guest sleeps 3 s after the marker: mexec is idle
start=$(cpu "$pid")
wait_file "$T/done" 900
sleep 1
end=$(cpu "$pid")
for ((i = 0; i < 600; i++)); do grep -q '    mexec ssh ' "$T/err" && break; sleep 0.1; done
id=$(sed -n 's/.*    mexec ssh \([0-9a-f]*\)$/\1/p' "$T/err")
[[ -n $id ]] || { echo "bench: the VM was not kept" >&2; cat "$T/err" >&2; exit 1; }
/usr/bin/time -f '%U %S' -o "$T/ssh-time" "$MEXEC" ssh "$id" -- cat /tmp/out.txt >/dev/null </dev/null
kill -INT "$pid"
wait "$pid" || true
wait
rm -f "$T/pipe" "$T/ready" "$T/done"
echo "$(cat "$T/bytes") $(echo "$end - $start" | bc -l) $(awk '{ print $1 + $2 }' "$T/ssh-time")"
SH
chmod +x "$T/round.sh"

export T MEXEC=${MEXEC:-$PWD/build/bin/mexec} CONFIG=$T/proj/.circleci/config.yml MEXEC_HOST_CONFIG=$T/host.yaml
per100mb() { echo "$2 * 100000000 / $1" | bc -l; } # BYTES SECONDS
as=() bs=()
for ((i = 1; i <= runs; i++)); do
    read -r bytes mexec_s ssh_s < <(tests/vm/netns-run.sh "$T/round.sh" 2>"$T/netns.log") ||
        { echo "bench: round $i failed:" >&2; cat "$T/netns.log" >&2; exit 1; }
    a=$(per100mb "$bytes" "$ssh_s")
    b=$(per100mb "$bytes" "$mexec_s")
    printf 'run %d: %d bytes; CPU per 100 MB: ssh cat %.3f s   mexec %.3f s\n' "$i" "$bytes" "$a" "$b"
    as+=("$a")
    bs+=("$b")
done
# shellcheck source=bench/lib.sh
source bench/lib.sh
ma=$(printf '%s\n' "${as[@]}" | median)
mb=$(printf '%s\n' "${bs[@]}" | median)
printf 'median host CPU per 100 MB: ssh cat %.3f s, mexec %.3f s (goal: mexec <= 1 s)\n' "$ma" "$mb"
printf 'ratio mexec/ssh: %.2f\n' "$(echo "$mb / $ma" | bc -l)"
