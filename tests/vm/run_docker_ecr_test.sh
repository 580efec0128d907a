#!/bin/bash
# The staging/production aws_auth workflow against ECR on loopback: a fake ECR API that checks
# SigV4 (tests/credentials/fake_aws.py) and a real registry serving both accounts' ECR names
# over TLS with the token it issues, reached from the guests through host.yaml registries
# {address:}.  `--tag v1.0` runs build then deploy-production (staging filtered out), the
# workspace passing between the two containers; a denied key fails its job before any VM
# boots; no secret printed; nothing left.
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
oci=$("$HERE/../registry/test-images.sh" --path) || fail "the test image is not built"
STAGING=111111111111.dkr.ecr.us-east-1.amazonaws.com
PRODUCTION=222222222222.dkr.ecr.eu-west-1.amazonaws.com
PASSWORD=ecr-canned-password-0f9e

pids=()
stop_servers() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap stop_servers EXIT
cd "$T"
ossl() { openssl "$@" 2>>"$T/openssl.log"; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=mexec-ecr-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
ossl req -newkey rsa:2048 -nodes -keyout ecr.key -out ecr.csr -subj "/CN=$STAGING"
printf '%s\n' "subjectAltName=DNS:$STAGING,DNS:$PRODUCTION,IP:127.0.0.1" \
    'extendedKeyUsage=serverAuth' 'basicConstraints=CA:FALSE' >ecr.ext
ossl x509 -req -in ecr.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ecr.ext \
    -out ecr.crt
htpasswd -Bbc htpasswd AWS "$PASSWORD" 2>/dev/null
mkdir -p storage certs.d && cp ca.crt certs.d/
cat >registry.yml <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $T/storage}}
http:
  addr: 127.0.0.1:443
  secret: mexec-ecr-test
  tls: {certificate: $T/ecr.crt, key: $T/ecr.key}
auth:
  htpasswd: {realm: ecr, path: $T/htpasswd}
YAML
setpriv --pdeathsig KILL -- docker-registry serve registry.yml >registry.log 2>&1 &
pids+=($!)
cat >aws.json <<JSON
{"account": "111111111111",
 "keys": {"AKIDSTAGING000000001": "stagingSecret/ForTests+OnlyOnLoopback01",
          "AKIDPRODUCTION000001": "productionSecret/ForTests+OnlyOnLoopback2",
          "AKIDDENIED0000000001": "productionSecret/ForTests+OnlyOnLoopback2"},
 "denied_keys": ["AKIDDENIED0000000001"],
 "ecr_password": "$PASSWORD", "ecr_password_fixed": true}
JSON
setpriv --pdeathsig KILL -- /usr/bin/python3 "$HERE/../credentials/fake_aws.py" aws.json >aws.port &
pids+=($!)
for ((i = 0; i < 100; i++)); do
    [[ -s aws.port ]] && curl -s -o /dev/null --cacert ca.crt "https://127.0.0.1:443/v2/" && break
    sleep 0.1
done
MEXEC_AWS_ECR_ENDPOINT=http://127.0.0.1:$(head -1 aws.port)
export MEXEC_AWS_ECR_ENDPOINT
# one registry answers for both accounts' names (one storage: the same org/tools:0.1)
skopeo copy -q "oci:$oci:tools" "docker://127.0.0.1:443/org/tools:0.1" \
    --dest-cert-dir certs.d --dest-creds "AWS:$PASSWORD" >>skopeo.log 2>&1 ||
    { cat skopeo.log >&2; fail "push to the fake ECR"; }
# two VMs one after the other on a 2-core CI machine shared with other work
cat >>"$MEXEC_HOST_CONFIG" <<YAML
# per-run registry settings would key a new instant-start snapshot every run: boot
instant_starts: false
boot_timeout: 900
registries:
  $STAGING: { ca: $T/ca.crt, address: 10.0.2.2 }
  $PRODUCTION: { ca: $T/ca.crt, address: 10.0.2.2 }
YAML
export MEXEC_CONTEXTS_DIR=$T/contexts
mkdir -p "$MEXEC_CONTEXTS_DIR"
cat >"$MEXEC_CONTEXTS_DIR/staging.yaml" <<YAML
STAGING_AWS_SECRET: stagingSecret/ForTests+OnlyOnLoopback01
YAML
cat >"$MEXEC_CONTEXTS_DIR/production.yaml" <<YAML
PRODUCTION_AWS_KEY_ID: AKIDPRODUCTION000001
PRODUCTION_AWS_SECRET: productionSecret/ForTests+OnlyOnLoopback2
YAML
config=$(make_project "$HERE/jobs/docker_ecr.yml")

rc=0
"$MEXEC" run -c "$config" --workflow deploy --tag v1.0 >"$T/out" 2>"$T/err" </dev/null || rc=$?
expect_rc 0
expect_out "deploying built-by-root to production (owner circleci)"
expect_no_out "deploying to staging"
grep -qE 'deploy-staging.*(skipped|filtered)' "$T/out" "$T/err" || fail "staging was not filtered out"
for s in stagingSecret productionSecret "$PASSWORD"; do
    if grep -qF -- "$s" "$T/out" "$T/err"; then fail "a secret was printed: ${s:0:5}..."; fi
done
expect_no_leftovers

run_job "$config" deploy-denied --context production
expect_rc 1
expect_no_out "must-not-run"
expect_out "AccessDeniedException"
expect_out "$PRODUCTION/org/tools:0.1"
grep -qE "booting|restoring" "$T/err" && fail "a VM booted for a job whose credentials were refused"
expect_no_leftovers
echo "PASS run_docker_ecr"
