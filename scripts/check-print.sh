#!/bin/bash
# Library code does not print (docs/architecture.md, "Layers"): outside provisioner/cli/ what a
# user sees goes through the sink (provisioner/host/sink.h).  Fails, naming file:line, on any
# call there that writes to stdout or stderr.  Run by scripts/test.sh; takes an optional tree
# root (default: this checkout).
set -euo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root"
# One extended regex a line (grep takes newline-separated patterns): printf-family calls
# without a stream, calls naming stdout/stderr, and writes to descriptors 1 and 2.
read -r -d '' pattern <<'RULES' || true
\b(printf|vprintf|puts|putchar|perror)[[:space:]]*\(
\b(warnx?|errx?)\(
\b(fprintf|vfprintf|fputs|fputc|fwrite|putc|dprintf)[[:space:]]*\(.*\b(stdout|stderr|STDOUT_FILENO|STDERR_FILENO)\b
\b(write|mx_write_all)[[:space:]]*\([[:space:]]*(1|2|STDOUT_FILENO|STDERR_FILENO)[[:space:]]*,
RULES
mapfile -t files < <(find provisioner -name '*.[ch]' -not -path 'provisioner/cli/*' | sort)
if hits=$(grep -nE -e "$pattern" "${files[@]}"); then
    echo "check-print.sh: library code prints (use the sink, provisioner/host/sink.h):" >&2
    echo "$hits" >&2
    exit 1
fi
echo "check-print.sh: none of the ${#files[@]} library files outside provisioner/cli/ prints"
