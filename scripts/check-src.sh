#!/bin/bash
# check-src.sh [BUILD_DIR] [CHECK...]: source checks beyond the compiler, like curl's checksrc
# and libvirt's syntax-check.  Run by scripts/test.sh after the gcc build (clang-tidy reads that
# build's compile_commands.json).  CHECK is any of: includes bans headers cppcheck tidy (default:
# all).  Every check runs; the script fails if any of them found something.
#   includes  no cycle in the graph of #include "..." between units and folders
#             (scripts/check-includes.py)
#   bans      the project's own rules (below), each saying what to use instead (printing in
#             library code is scripts/check-print.sh's rule)
#   headers   every header of libmx/, provisioner/ (each folder with its own include path),
#             guest-agent/ compiles on its own
#   cppcheck  cppcheck's default checks and unusedFunction over the product's sources
#   tidy      clang-tidy (.clang-tidy: clang-analyzer-*, bugprone-*) over every .c of the build
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
checks=("$@")
((${#checks[@]})) || checks=(includes bans headers cppcheck tidy)
jobs=$(nproc)
failed=()
SRC_DIRS=(libmx provisioner guest-agent)

say() { printf 'check-src: %s\n' "$*"; }

check_includes() { scripts/check-includes.py .; }

# ban REGEX MESSAGE [ALLOWED_FILE...]: no line of a tracked .c/.h of the product matches REGEX
# (extended), except in the allowed files.
ban() {
    local re=$1 msg=$2 hits
    shift 2
    local exclude=()
    for f in "$@"; do exclude+=(":(exclude)$f"); done
    hits=$(git grep -nE "$re" -- "${SRC_DIRS[@]/%//*.[ch]}" "${exclude[@]}" || true)
    if [[ -n $hits ]]; then
        printf '%s\n' "$hits"
        say "banned: $msg"
        return 1
    fi
}

check_bans() {
    local rc=0
    ban '\bregcomp\s*\(' "raw regcomp: use mx_regex_compile (libmx/mx_regex.h), which always \
applies the ReDoS guard to patterns from configs" libmx/mx_regex.c || rc=1
    ban '\b(strto(l|ll|ul|ull|imax|umax|d|f|ld)|ato(i|l|ll|f))\s*\(' "raw strtol/atoi: use \
mx_parse_int/mx_parse_uint/mx_parse_double (libmx/mx_num.h): whole-string, range-checked, no \
errno games" libmx/mx_num.c || rc=1
    ban '\babort\s*\(' "abort(): return an error in mx_err (bad input must never abort); on \
allocation failure call mx_oom()" libmx/mx_buf.c || rc=1
    ban '\b(system|popen)\s*\(' "system()/popen(): run programs with mx_proc (argv, no shell); \
a job's own shell command runs as /bin/sh -c through it" || rc=1
    # a macro that hides a return makes control flow invisible at the call site
    local hidden
    # shellcheck disable=SC2016 # awk's program, not the shell's
    hidden=$(git ls-files -- "${SRC_DIRS[@]/%//*.[ch]}" | xargs awk '
        FNR == 1 { inmacro = 0 }
        /^[ \t]*#[ \t]*define/ { inmacro = 1; start = FNR; text = "" }
        inmacro { text = text $0; if (text ~ /(^|[^A-Za-z0-9_])return([^A-Za-z0-9_]|$)/) {
                      print FILENAME ":" start ": macro hides a return"; inmacro = 0 }
                  else if ($0 !~ /\\$/) inmacro = 0 }')
    if [[ -n $hidden ]]; then
        printf '%s\n' "$hidden"
        say "banned: macros that return from their caller: write the check out at the call site"
        rc=1
    fi
    return $rc
}

# compiler flags of the build: -D/-I (and -isystem) from one compile command of each folder
flags_of() {
    python3 - "$build/compile_commands.json" "$1" <<'EOF'
import json, shlex, sys
db, folder = sys.argv[1], "/" + sys.argv[2] + "/"
for e in json.load(open(db)):
    f = e["file"]
    if folder in f and "/" not in f[f.index(folder) + len(folder):] and "/tests/" not in f:
        args = shlex.split(e["command"]) if "command" in e else e["arguments"]
        keep, skip = [], False
        for a in args[1:]:
            if skip:
                keep.append(a)
                skip = False
            elif a in ("-isystem", "-I", "-D"):
                keep.append(a)
                skip = True
            elif a.startswith(("-I", "-D", "-std=", "-W", "-f")) and not a.startswith("-fsanitize"):
                keep.append(a)
        print(" ".join(shlex.quote(a) for a in keep))
        break
EOF
}

check_headers() {
    local tmp rc=0
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    local h dir flags
    while read -r h; do
        dir=$(dirname "$h")
        flags=$(flags_of "$dir")
        [[ -n $flags ]] || { say "no compile command for $dir in $build"; rc=1; continue; }
        {
            local tu
            tu="$tmp/$(basename "$h" .h).c"
            printf '#include "%s"\n' "$(basename "$h")" >"$tu"
            # shellcheck disable=SC2086 # flags are words, quoted by flags_of
            eval "gcc $flags -I$dir -fsyntax-only $(printf '%q' "$tu")" ||
                { say "$h does not compile on its own"; rc=1; }
        }
    done < <(git ls-files -- "${SRC_DIRS[@]/%//*.h}")
    return $rc
}

check_cppcheck() {
    # unusedFunction counts the tests as callers only where the test is the function's point:
    # tests/ is not scanned, so a function only tests call is reported (keep it out of the
    # product, or use it).  Suppressions: the fuzz entry points and main are not in scope.
    local out
    out=$(mktemp)
    if ! cppcheck --quiet --error-exitcode=1 -j1 --std=c11 --enable=warning,unusedFunction \
        --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE \
        --include=/usr/include/jansson.h \
        -I libmx -I provisioner -I guest-agent "${SRC_DIRS[@]}" 2>"$out"; then
        cat "$out"
        rm -f "$out"
        say "cppcheck found the above"
        return 1
    fi
    if [[ -s $out ]]; then
        cat "$out"
        rm -f "$out"
        say "cppcheck found the above"
        return 1
    fi
    rm -f "$out"
}

check_tidy() {
    [[ -f $build/compile_commands.json ]] ||
        { say "$build/compile_commands.json missing: configure with scripts/build.sh"; return 1; }
    command -v clang-tidy >/dev/null || { say "clang-tidy is not installed (setup-host.sh)"; return 1; }
    local out
    out=$(mktemp)
    # run-clang-tidy (Debian's clang-tidy package) runs one clang-tidy per file in parallel
    if command -v run-clang-tidy >/dev/null; then
        run-clang-tidy -p "$build" -j "$jobs" -quiet >"$out" 2>&1 || true
    else
        python3 -c 'import json,sys; print("\n".join(e["file"] for e in json.load(open(sys.argv[1]))))' \
            "$build/compile_commands.json" |
            xargs -P "$jobs" -n 4 clang-tidy -p "$build" --quiet >"$out" 2>&1 || true
    fi
    local found
    # run-clang-tidy colours its output: strip the escapes before matching
    found=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' |
        sort -u || true)
    rm -f "$out"
    if [[ -n $found ]]; then
        printf '%s\n' "$found"
        say "clang-tidy: $(wc -l <<<"$found") findings"
        return 1
    fi
}

for c in "${checks[@]}"; do
    say "== $c"
    case $c in
    includes | bans | headers | cppcheck | tidy) "check_$c" || failed+=("$c") ;;
    *) say "unknown check $c (includes bans headers cppcheck tidy)"; exit 2 ;;
    esac
done
if ((${#failed[@]})); then
    say "FAILED: ${failed[*]}"
    exit 1
fi
say "all passed: ${checks[*]}"
