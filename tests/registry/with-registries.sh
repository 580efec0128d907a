#!/bin/bash
# with-registries.sh CMD [ARGS...] — run CMD with three real registries and a token server on
# loopback, then stop them all.
#
# Why: the VM tests' pulls (docker executor, docker/pull, image import) run against Debian's
# docker-registry (distribution 2.8.2), not a mock: (a) htpasswd (bcrypt) over HTTPS with a CA
# made here, (b) token auth with token_server.py, (c) no auth.  Test images are
# written by make_image.py and pushed with skopeo (there is no Docker engine).
#
# Everything runs in a fresh network namespace with only `lo` up (when we may create one), so
# no test traffic can leave the machine, and every server gets SIGKILL if this script dies
# (setpriv --pdeathsig) besides the normal teardown on exit.  CMD sees:
#   MX_REG_TLS / MX_REG_TLS_CA     (a) host:port and the CA file; user alice / secret
#   MX_REG_TOKEN / MX_REG_TOKEN_LOG (b) host:port and the token server's request log;
#                                   alice / secret may pull private/app, bob / builder may not
#   MX_REG_AUTH                    (b)'s token server (its realm): host:port
#   MX_REG_OPEN / MX_REG_OPEN_ROOT (c) host:port and its storage directory
#   MX_REG_CORRUPT_DIGEST          a layer of corrupt/img:v1 on (c) with one byte flipped
#   MX_REG_MULTI_AMD64_CONFIG      config digest of the linux/amd64 child of multi/app:v1 (an
#                                  OCI index) and of multi/docker:v1 (a Docker manifest list)
# MX_REG_SKIP_IMAGES=1 pushes nothing.
# MX_REG_EXTRA_IMAGE=OCI_DIR:TAG also pushes that image as private/app:TAG to (a) and (b), before
# the token realm moves (the docker executor's VM tests: tests/registry/test-images.sh).
# shellcheck disable=SC2317 # cleanup runs from a trap
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
readonly here PY=/usr/bin/python3

log() { printf 'with-registries: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 125; }

(($#)) || die "usage: $0 CMD [ARGS...]"
for tool in docker-registry skopeo htpasswd openssl setpriv curl; do
    command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup-host.sh)"
done

if [[ -z ${MX_REG_IN_NETNS:-} ]]; then
    export MX_REG_IN_NETNS=1
    if [[ $EUID -eq 0 ]] && unshare --net true 2>/dev/null; then
        exec unshare --net -- "$0" "$@"
    fi
    log "cannot create a network namespace: servers stay on 127.0.0.1 of this one"
else
    ip link set lo up 2>/dev/null || true
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mexec-registries-XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: a server that dies with this script
start() {
    local name=$1
    shift
    setpriv --pdeathsig KILL -- "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
}

# wait_http URL: until the server answers at all (bounded: a server that never comes up
# fails the run with its log, it does not hang it)
wait_http() {
    local url=$1 name=$2 i
    for ((i = 0; i < 200; i++)); do
        if curl -s -o /dev/null --max-time 2 -k "$url"; then return 0; fi
        sleep 0.05
    done
    cat "$work/$name.log" >&2 || true
    die "$name did not start ($url)"
}

# ports: fixed, since the namespace is ours; overridable when sharing the host's
P_TLS=${MX_REG_PORT_BASE:-5000}
P_TLS=$((P_TLS + 1)) P_TOKEN=$((P_TLS + 1)) P_OPEN=$((P_TLS + 2)) P_AUTH=$((P_TLS + 3))

# ---------------------------------------------------------------- keys and certificates
cd "$work"
ossl() { openssl "$@" 2>>"$work/openssl.log"; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
    -subj /CN=mexec-test-ca -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
ossl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
# 10.0.2.2: where a VM reaches the host loopback services host.yaml lists (the VM tests)
printf '%s\n' 'subjectAltName=IP:127.0.0.1,IP:10.0.2.2,DNS:localhost' 'extendedKeyUsage=serverAuth' \
    'basicConstraints=CA:FALSE' >server.ext
ossl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.crt
ossl req -x509 -newkey rsa:2048 -nodes -keyout token.key -out token.crt -days 2 \
    -subj /CN=mexec-test-token-issuer
htpasswd -Bbc htpasswd alice secret 2>/dev/null
cat >users.json <<'JSON'
{"alice": {"password": "secret", "access": {"private/app": ["pull", "push"],
                                            "private/oauth": ["pull", "push"]}},
 "bob": {"password": "builder", "access": {}},
 "oauth": {"password": "pw", "access": {"private/oauth": ["pull"]}, "reply": "access_token"}}
JSON
mkdir -p certs.d && cp ca.crt certs.d/ca.crt

# ---------------------------------------------------------------- registries
registry_config() { # NAME PORT EXTRA-YAML
    mkdir -p "$work/$1-storage"
    cat >"$work/$1.yml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $work/$1-storage}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$2
  secret: mexec-test-$1
$3
YAML
}
registry_config tls "$P_TLS" "  tls: {certificate: $work/server.crt, key: $work/server.key}
auth:
  htpasswd: {realm: mexec-test, path: $work/htpasswd}"
registry_config token "$P_TOKEN" "auth:
  token:
    realm: http://127.0.0.1:$P_AUTH/token
    service: mexec-test-registry
    issuer: mexec-test-issuer
    rootcertbundle: $work/token.crt"
registry_config open "$P_OPEN" ""

start tls docker-registry serve "$work/tls.yml"
start token docker-registry serve "$work/token.yml"
token_pid=${pids[-1]}
start open docker-registry serve "$work/open.yml"
start auth "$PY" "$here/token_server.py" --port "$P_AUTH" --key token.key --cert token.crt \
    --issuer mexec-test-issuer --service mexec-test-registry --users users.json \
    --log "$work/token-requests.jsonl"
wait_http "https://127.0.0.1:$P_TLS/v2/" tls
wait_http "http://127.0.0.1:$P_TOKEN/v2/" token
wait_http "http://127.0.0.1:$P_OPEN/v2/" open
wait_http "http://127.0.0.1:$P_AUTH/" auth

export MX_REG_TLS=127.0.0.1:$P_TLS MX_REG_TLS_CA=$work/ca.crt
export MX_REG_TOKEN=127.0.0.1:$P_TOKEN MX_REG_TOKEN_LOG=$work/token-requests.jsonl
export MX_REG_AUTH=127.0.0.1:$P_AUTH
export MX_REG_OPEN=127.0.0.1:$P_OPEN MX_REG_OPEN_ROOT=$work/open-storage
export MX_REG_WORK=$work

# ---------------------------------------------------------------- test images
push() { # LAYOUT:TAG DEST [skopeo options]
    local src=$1 dst=$2
    shift 2
    skopeo copy -q --all "$@" "oci:$src" "docker://$dst" >>"$work/skopeo.log" 2>&1 ||
        { cat "$work/skopeo.log" >&2; die "skopeo push to $dst failed"; }
}
if [[ -z ${MX_REG_SKIP_IMAGES:-} ]]; then
    "$PY" "$here/make_image.py" img app-v1 --layers 2 >/dev/null
    push img:app-v1 "$MX_REG_TLS/private/app:v1" --dest-cert-dir certs.d --dest-creds alice:secret
    push img:app-v1 "$MX_REG_TOKEN/private/app:v1" --dest-tls-verify=false \
        --dest-creds alice:secret
    push img:app-v1 "$MX_REG_TOKEN/private/oauth:v1" --dest-tls-verify=false \
        --dest-creds alice:secret
    push img:app-v1 "$MX_REG_OPEN/public/app:v1" --dest-tls-verify=false
    # runnable (busybox) for the VM tests' `docker run`
    "$PY" "$here/make_image.py" img run-v1 --busybox hello-from-private-image >/dev/null
    push img:run-v1 "$MX_REG_TLS/private/app:run" --dest-cert-dir certs.d --dest-creds alice:secret
    push img:run-v1 "$MX_REG_TOKEN/private/app:run" --dest-tls-verify=false --dest-creds alice:secret
    "$PY" "$here/make_image.py" img multi-v1 --layers 1 \
        --platforms linux/arm64/v8,linux/amd64,linux/arm/v7 >multi.jsonl
    push img:multi-v1 "$MX_REG_OPEN/multi/app:v1" --dest-tls-verify=false
    # the same as a Docker manifest list of Docker v2 manifests (same config and layer blobs)
    push img:multi-v1 "$MX_REG_OPEN/multi/docker:v1" --dest-tls-verify=false --format v2s2
    "$PY" "$here/make_image.py" img corrupt-v1 --layers 2 --layer-size 300000 >corrupt.jsonl
    push img:corrupt-v1 "$MX_REG_OPEN/corrupt/img:v1" --dest-tls-verify=false
    # the amd64 child of the list is the second manifest printed
    MX_REG_MULTI_AMD64_CONFIG=$(sed -n 2p multi.jsonl |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])')
    MX_REG_CORRUPT_DIGEST=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["layers"][1]["digest"])' \
        <corrupt.jsonl)
    export MX_REG_MULTI_AMD64_CONFIG MX_REG_CORRUPT_DIGEST
    hex=${MX_REG_CORRUPT_DIGEST#sha256:}
    data=$MX_REG_OPEN_ROOT/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
    [[ -f $data ]] || die "stored blob $data not found"
    # flip one byte in the middle of the stored layer: same size, same name, wrong content
    "$PY" -c 'import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(150000); b = f.read(1); f.seek(150000); f.write(bytes([b[0] ^ 0xff]))' "$data"
fi

if [[ -n ${MX_REG_EXTRA_IMAGE:-} ]]; then
    tag=${MX_REG_EXTRA_IMAGE##*:}
    push "${MX_REG_EXTRA_IMAGE}" "$MX_REG_TLS/private/app:$tag" --dest-cert-dir certs.d \
        --dest-creds alice:secret
    push "${MX_REG_EXTRA_IMAGE}" "$MX_REG_TOKEN/private/app:$tag" --dest-tls-verify=false \
        --dest-creds alice:secret
fi

# MX_REG_REALM_HOST: VMs reach this host's loopback at another address (10.0.2.2, at the ports
# host.yaml lists), and the token realm is an absolute URL the client follows: the pushes
# above needed the one this host reaches, so the token registry restarts (same storage)
# announcing the one the VMs reach.
if [[ -n ${MX_REG_REALM_HOST:-} ]]; then
    kill "$token_pid"
    wait "$token_pid" 2>/dev/null || true
    sed -i "s|realm: http://127.0.0.1:$P_AUTH/token|realm: http://$MX_REG_REALM_HOST:$P_AUTH/token|" \
        "$work/token.yml"
    start token docker-registry serve "$work/token.yml"
    wait_http "http://127.0.0.1:$P_TOKEN/v2/" token
fi

cd - >/dev/null
set +e
setpriv --pdeathsig KILL -- "$@"
rc=$?
set -e
exit "$rc"
