#!/bin/sh
# images/import/probe.sh — what `mexec image import` needs to know about an image, printed as
# KEY=VALUE lines.  mexec runs it as root in the booted image (over SSH); the test image's
# build runs it in its tree (tests/vm/make_cloud_image.sh).  POSIX sh: stock images differ.
#
#   id, version_id, codename, pretty_name   from /etc/os-release
#   arch                                    dpkg's architecture
#   have=NAME                               for each of: docker, docker-compose-plugin (the
#                                           `docker compose` plugin), docker-compose (v1),
#                                           docker-buildx, git, jq, curl, apt-get, cloud-init,
#                                           apparmor (the package, whose profile docker loads)
# The host treats every line as untrusted: it keeps only known keys with well-formed values.
set -u
if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091 # the image's file
    . /etc/os-release
fi
echo "id=${ID:-}"
echo "version_id=${VERSION_ID:-}"
echo "codename=${VERSION_CODENAME:-${UBUNTU_CODENAME:-}}"
echo "pretty_name=${PRETTY_NAME:-}"
echo "arch=$(dpkg --print-architecture 2>/dev/null)"
for c in docker docker-compose git jq curl apt-get cloud-init; do
    if command -v "$c" >/dev/null 2>&1; then echo "have=$c"; fi
done
if command -v docker >/dev/null 2>&1; then
    if docker compose version >/dev/null 2>&1; then echo "have=docker-compose-plugin"; fi
    if docker buildx version >/dev/null 2>&1; then echo "have=docker-buildx"; fi
fi
if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' apparmor 2>/dev/null)" = "ii " ]; then
    echo "have=apparmor"
fi
