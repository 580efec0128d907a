#!/usr/bin/env bash
# images/ubuntu-2404/recipe.sh OUTDIR — build the mexec "ubuntu-2404" machine image: Ubuntu 24.04 (noble).
#
# What the Ubuntu images share (packages, mirrors and their environment, pinned archive keys,
# the choice of kernel) is in images/common/ubuntu.sh, which builds the image with these
# settings; the build itself and the artifacts it writes to OUTDIR are in
# images/common/recipe-lib.sh.  This release: kernel 6.8, generic (virtual), zstd.
set -euo pipefail
RECIPE_NAME=ubuntu-2404 SUITE=noble KERNEL_PACKAGE=linux-image-virtual
# shellcheck source=images/common/ubuntu.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../common/ubuntu.sh"
