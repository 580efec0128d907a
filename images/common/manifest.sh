# shellcheck shell=bash
# images/common/manifest.sh — the build's manifest.json (sourced by recipe-lib.sh).

# Packages whose versions the manifest lists (what a job uses; docs/images.md).
RL_MANIFEST_PACKAGES=(
    docker.io containerd runc docker-compose-v2 docker-compose docker-buildx
    git jq curl python3 gcc make openssh-client openssh-server sudo unzip zip ca-certificates
    systemd libc6 apparmor iptables
)

rl_art_json() {
    local f=$1
    printf '"%s": {"sha256": "%s", "size": %s}' "$f" \
        "$(sha256sum "$WORK/$f" | cut -d' ' -f1)" "$(stat -c %s "$WORK/$f")"
}

# The manifest (JSON by hand: every value is a version, date, hash or number; none can hold
# a quote or a backslash, which the checks below make sure of).
rl_manifest() {
    local vsize p v sep=""
    vsize=$(qemu-img info --output=json "$WORK/base.qcow2" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' | head -n1)
    printf '{\n'
    printf '  "name": "%s",\n' "$RECIPE_NAME"
    # set by mexec (image_build.c); absent when the recipe is run by hand
    case ${MEXEC_RECIPE_HASH:-} in
    "") ;;
    *[!0-9a-f]*) die "MEXEC_RECIPE_HASH is not a hash: $MEXEC_RECIPE_HASH" ;;
    *) printf '  "recipe_hash": "%s",\n' "$MEXEC_RECIPE_HASH" ;;
    esac
    printf '  "suite": "%s",\n' "$SUITE"
    printf '  "build_date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  "kernel_version": "%s",\n' "$KVER"
    printf '  "cmdline": "%s",\n' "$CMDLINE"
    printf '  "virtual_size": %s,\n' "${vsize:-0}"
    printf '  "package_count": %s,\n' "$(wc -l <"$WORK/packages.tsv")"
    printf '  "packages": {'
    for p in "${RL_MANIFEST_PACKAGES[@]}"; do
        v=$(awk -F'\t' -v p="$p" '$1 == p { print $2 }' "$WORK/packages.tsv")
        [ -n "$v" ] || continue
        case $v in *[\"\\]*) die "package $p has an unexpected version: $v" ;; esac
        printf '%s\n    "%s": "%s"' "$sep" "$p" "$v"
        sep=,
    done
    printf '\n  },\n'
    printf '  "artifacts": {\n'
    printf '    %s,\n' "$(rl_art_json base.qcow2)"
    printf '    %s,\n' "$(rl_art_json vmlinux)"
    printf '    %s,\n' "$(rl_art_json initrd.img)"
    printf '    %s\n' "$(rl_art_json packages.tsv)"
    printf '  }\n'
    printf '}\n'
}
