#!/bin/sh
# images/import/install.sh DIR — installs the .debs that `mexec image import` uploaded in
# DIR/debs.tar (as root, in the image being imported), with no network: apt gets an empty lists
# directory, so it knows no repository and resolves only among these files and what is
# installed (the host chose them against this image's own dpkg status).
#
# Services are not started while installing (a policy-rc.d that says "no", as image builders
# do): the image is powered off right after, and docker starts at each job's boot.  dpkg skips
# its fsyncs (--force-unsafe-io): the disk is a throw-away overlay until import flattens it.
set -eu
dir=${1:?usage: install.sh DIR}
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
tar -x -f "$dir/debs.tar" -C "$dir/debs"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o "Dir::State::Lists=$dir/lists" \
    -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-unsafe-io \
    "$dir"/debs/*.deb
