#!/usr/bin/env bash
# images/ubuntu-2004/recipe.sh OUTDIR — build the mexec "ubuntu-2004" machine image: Ubuntu 20.04 (focal).
#
# What the Ubuntu images share (packages, mirrors and their environment, pinned archive keys,
# the choice of kernel) is in images/common/ubuntu.sh, which builds the image with these
# settings; the build itself and the artifacts it writes to OUTDIR are in
# images/common/recipe-lib.sh.  This release: kernel 5.4, kvm flavour, lz4.
set -euo pipefail
RECIPE_NAME=ubuntu-2004 SUITE=focal KERNEL_PACKAGE=linux-image-kvm
# shellcheck source=images/common/ubuntu.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../common/ubuntu.sh"
