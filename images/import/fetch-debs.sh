#!/bin/bash
# images/import/fetch-debs.sh — the host's half of completing an imported image: decide what
# the image lacks from what images/import/probe.sh found in it, and download those packages
# with the host's apt into a cache, resolved against the image's own dpkg status, so that the
# image installs them with no network of its own.
#
#   fetch-debs.sh --cache DIR --facts FILE --status FILE --keyring FILE --list OUT
#
#   --facts    probe.sh's output from the image (untrusted: only known keys with well-formed
#              values are read)
#   --status   the image's /var/lib/dpkg/status
#   --keyring  the image's archive keyring (/usr/share/keyrings/ID-archive-keyring.gpg): the
#              package lists are verified with the keys the image itself trusts
#   --list     written with the .deb files to install in the image, one path per line (empty
#              when nothing is missing)
#
# What is missing: without `docker`, docker.io (with AppArmor's package if the image lacks it:
# the distributions' kernels enable AppArmor and dockerd then needs it to start containers), the
# compose plugin (docker-compose-v2, else the release's docker-compose) and docker-buildx where
# the release has them; git, jq and curl when absent.  An image that has docker already (e.g.
# docker-ce) gets no docker packages, so nothing conflicts with it.
#
# The sources are never the image's: the mirror comes from the host (the image only says which
# release it is), so an image cannot make the host fetch from addresses of its choosing.
#   Debian: $MEXEC_DEBIAN_MIRROR if it is a URL, else http://deb.debian.org/debian, suites
#           CODENAME and CODENAME-updates; $MEXEC_DEBIAN_SECURITY_MIRROR (default
#           http://deb.debian.org/debian-security) for CODENAME-security; component main.
#   Ubuntu: $MEXEC_UBUNTU_MIRROR (default http://archive.ubuntu.com/ubuntu) for CODENAME and
#           CODENAME-updates; $MEXEC_UBUNTU_SECURITY_MIRROR (default http://security.ubuntu.com/ubuntu,
#           or MEXEC_UBUNTU_MIRROR when only that is set) for CODENAME-security; main universe.
# The host's own apt settings (apt.conf.d: proxies, …) apply.
#
# Cache: DIR/ID-CODENAME-ARCH/ holds the package lists and the downloaded .debs.  When
# `apt-get update` fails (no network, e.g. in a test namespace) the cached lists are used and,
# when every package is already downloaded, nothing needs the network.
set -euo pipefail
umask 022 # apt's download sandbox user (_apt) must reach the cache

log() { printf 'fetch-debs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { die "usage: $0 --cache DIR --facts FILE --status FILE --keyring FILE --list OUT"; }

cache="" facts="" status="" keyring="" list=""
while (($#)); do
    (($# >= 2)) || usage
    case $1 in
    --cache) cache=$2 ;;
    --facts) facts=$2 ;;
    --status) status=$2 ;;
    --keyring) keyring=$2 ;;
    --list) list=$2 ;;
    *) usage ;;
    esac
    shift 2
done
[[ -n $cache && -n $facts && -n $status && -n $keyring && -n $list ]] || usage

# --- the image's facts ---------------------------------------------------------------------
id="" codename="" arch=""
declare -A have=()
while IFS= read -r line || [[ -n $line ]]; do
    case $line in
    id=*) [[ ${line#id=} =~ ^[a-z0-9._-]{1,32}$ ]] && id=${line#id=} ;;
    codename=*) [[ ${line#codename=} =~ ^[a-z]{1,32}$ ]] && codename=${line#codename=} ;;
    arch=*) [[ ${line#arch=} =~ ^[a-z0-9]{1,16}$ ]] && arch=${line#arch=} ;;
    have=*) [[ ${line#have=} =~ ^[a-z0-9-]{1,32}$ ]] && have[${line#have=}]=1 ;;
    esac
done < <(head -c 65536 "$facts")

wants=()
if [[ -z ${have[docker]:-} ]]; then
    wants+=(docker.io "docker-compose-v2|docker-compose" "docker-buildx?")
    [[ -n ${have[apparmor]:-} ]] || wants+=(apparmor)
else
    for p in docker-compose-plugin docker-buildx; do
        [[ -n ${have[$p]:-} ]] ||
            log "the image has docker but not $p: left as it is (its docker may not be the distribution's)"
    done
fi
for p in git jq curl; do
    [[ -n ${have[$p]:-} ]] || wants+=("$p")
done
if ((${#wants[@]} == 0)); then
    log "nothing to install"
    : >"$list"
    exit 0
fi
[[ -n ${have[apt-get]:-} ]] || die "the image lacks ${wants[*]} and has no apt-get to install them with"
[[ -n $codename && -n $arch ]] || die "the image does not say its release (VERSION_CODENAME) or architecture"

case $id in
debian)
    m=${MEXEC_DEBIAN_MIRROR:-}
    [[ $m =~ ^https?://[^[:space:]]+$ ]] || m=http://deb.debian.org/debian
    sec=${MEXEC_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
    comps="main"
    ;;
ubuntu)
    m=${MEXEC_UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}
    if [[ -n ${MEXEC_UBUNTU_SECURITY_MIRROR:-} ]]; then
        sec=$MEXEC_UBUNTU_SECURITY_MIRROR
    elif [[ -n ${MEXEC_UBUNTU_MIRROR:-} ]]; then
        sec=$MEXEC_UBUNTU_MIRROR
    else
        sec=http://security.ubuntu.com/ubuntu
    fi
    comps="main universe"
    ;;
*) die "the image lacks ${wants[*]}; import installs packages only into Debian and Ubuntu images (this one says ID=${id:-?}): install them in the image yourself" ;;
esac
for u in "$m" "$sec"; do
    [[ $u =~ ^https?://[^[:space:]]+$ ]] || die "not a mirror URL: $u"
done

# --- a private apt: our sources and lists, the image's status and keys ----------------------
dist=$cache/$id-$codename-$arch
mkdir -p "$dist/lists/partial" "$dist/archives/partial"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 143' TERM # mexec passes its SIGTERM/SIGINT on: clean up on the way out
trap 'exit 130' INT
mkdir -p "$work/trusted.gpg.d" "$work/empty" "$work/state"
# apt checks signatures as its own unprivileged user (_apt): the keys must be readable to it
# (mktemp -d makes a directory only its owner can enter)
chmod 0755 "$work" "$work/trusted.gpg.d"
if [[ $(head -c 5 "$keyring") == "-----" ]]; then
    head -c 1048576 "$keyring" >"$work/trusted.gpg.d/image.asc"
else
    head -c 1048576 "$keyring" >"$work/trusted.gpg.d/image.gpg"
fi
chmod 0644 "$work"/trusted.gpg.d/*
cat >"$work/sources.list" <<EOF
deb $m $codename $comps
deb $m $codename-updates $comps
deb $sec $codename-security $comps
EOF
cp "$status" "$work/status"
apt=(apt-get -q
    -o "Dir::State=$work/state" -o "Dir::State::Lists=$dist/lists"
    -o "Dir::State::status=$work/status" -o "Dir::Cache=$work/state"
    -o "Dir::Cache::archives=$dist/archives"
    -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/empty"
    -o "Dir::Etc::Trusted=$work/none.gpg" -o "Dir::Etc::TrustedParts=$work/trusted.gpg.d"
    -o "Dir::Etc::Preferences=$work/none" -o "Dir::Etc::PreferencesParts=$work/empty"
    -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
    -o "APT::Install-Recommends=false" -o "APT::Install-Suggests=false"
    -o "Acquire::Retries=2" -o "Acquire::http::Timeout=30")

# one import per cache at a time: apt's own locks fail instead of waiting
exec 9>"$dist/.lock"
flock 9

if ! "${apt[@]}" update >"$work/update.log" 2>&1; then
    if compgen -G "$dist/lists/*Packages*" >/dev/null; then
        log "apt-get update failed (no network?): using the package lists cached in $dist"
    else
        cat "$work/update.log" >&2
        die "apt-get update failed and $dist has no cached package lists"
    fi
fi

# "a|b": the first that the release has; "a?": only if the release has it
has_candidate() {
    local c
    c=$("${apt[@]/#apt-get/apt-cache}" policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
    [[ -n $c && $c != "(none)" ]]
}
pkgs=()
for w in "${wants[@]}"; do
    if [[ $w == *\? ]]; then
        if has_candidate "${w%\?}"; then pkgs+=("${w%\?}"); fi
    elif [[ $w == *\|* ]]; then
        chosen=""
        IFS='|' read -r -a alts <<<"$w"
        for a in "${alts[@]}"; do
            if has_candidate "$a"; then chosen=$a && break; fi
        done
        [[ -n $chosen ]] || die "$codename has none of: ${alts[*]}"
        pkgs+=("$chosen")
    else
        pkgs+=("$w")
    fi
done
log "for $id $codename ($arch): ${pkgs[*]}"

"${apt[@]}" -s install "${pkgs[@]}" >"$work/plan" || { cat "$work/plan" >&2; die "apt cannot install ${pkgs[*]} into this image"; }
"${apt[@]}" -y -d install "${pkgs[@]}" >"$work/download.log" 2>&1 || {
    cat "$work/download.log" >&2
    die "downloading ${pkgs[*]} failed"
}

# Inst NAME [OLD] (VERSION ORIGINS [ARCH]) -> the file apt stored (':' in a version is %3a)
: >"$work/list"
re='^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*\[([a-z0-9]+)\]\)'
n=0
while IFS= read -r line; do
    [[ $line =~ $re ]] || continue
    name=${BASH_REMATCH[1]%%:*} version=${BASH_REMATCH[3]//:/%3a} a=${BASH_REMATCH[4]}
    deb=$dist/archives/${name}_${version}_${a}.deb
    [[ -f $deb ]] || die "apt planned $name $version but $deb is not in the cache"
    printf '%s\n' "$deb" >>"$work/list"
    n=$((n + 1))
done <"$work/plan"
cp "$work/list" "$list"
log "$n packages ready in $dist/archives"
