# Installing mexec as hosts install software: `cmake --install BUILD [--prefix P]` and
# `cpack -G DEB` (from BUILD) lay it out as
#   BINDIR/mexec                      the CLI
#   LIBEXECDIR/mexec/mexec-agent      uploaded into every job's VM, never run on the host:
#                                     an internal binary, where FHS 3.0 (which Debian Policy
#                                     follows, /usr/libexec included) puts those
#   LIBEXECDIR/mexec/mexec-qemu       the emulator libvirt starts for mexec's domains
#                                     (provisioner/CMakeLists.txt, vm_net.h)
#   DATADIR/mexec/images/             catalog.yaml, the recipes, common/ and import/
#   DATADIR/mexec/setup-host.sh       host preparation, the documented post-install step
#   DOCDIR/                           README.md, docs/, examples/
# mexec finds the catalog and the agent relative to its own executable
# (provisioner/host/install_dirs.c), so the paths below are passed to it relative to BINDIR, and
# the build tree gets the same neighbours: BUILD/bin/mexec reads the checkout's images/
# through BUILD/share/mexec/images, a link to it.

set(MX_IMAGES_DEST ${CMAKE_INSTALL_DATADIR}/mexec/images)
set(MX_AGENT_DEST ${CMAKE_INSTALL_LIBEXECDIR}/mexec)
file(RELATIVE_PATH MX_REL_IMAGES_DIR ${CMAKE_INSTALL_FULL_BINDIR}
     ${CMAKE_INSTALL_FULL_DATADIR}/mexec/images)
file(RELATIVE_PATH MX_REL_AGENT_DIR ${CMAKE_INSTALL_FULL_BINDIR}
     ${CMAKE_INSTALL_FULL_LIBEXECDIR}/mexec)

cmake_path(ABSOLUTE_PATH MX_REL_IMAGES_DIR BASE_DIRECTORY ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}
           NORMALIZE OUTPUT_VARIABLE mx_build_images_link)
cmake_path(GET mx_build_images_link PARENT_PATH mx_build_images_parent)
file(MAKE_DIRECTORY ${mx_build_images_parent})
file(CREATE_LINK ${PROJECT_SOURCE_DIR}/images ${mx_build_images_link} SYMBOLIC)

# The recipes as the checkout has them (scripts keep their modes), without the developer tools
# at the top of images/ (boot-reference.sh, contents.py: bench/ and docs use them).
install(DIRECTORY images/ DESTINATION ${MX_IMAGES_DEST} USE_SOURCE_PERMISSIONS
        PATTERN "__pycache__" EXCLUDE
        REGEX "/images/[^/]+\\.(sh|py)$" EXCLUDE)
install(PROGRAMS scripts/setup-host.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/mexec)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs examples DESTINATION ${CMAKE_INSTALL_DOCDIR})

# cpack -G DEB: mexec_VERSION_ARCH.deb.  Depends = the shared libraries of mexec
# (dpkg-shlibdeps) + the programs the installed mexec and its recipes run (the run-time part of
# scripts/setup-host.sh's PACKAGES): libvirtd with its QEMU driver (not libvirt-daemon-system,
# whose default NAT network puts a bridge on the host; setup-host.sh writes the units),
# virsh (setup-host.sh waits for libvirtd with it), QEMU and qemu-img, passt's pasta and ip
# (each VM's network namespace, provisioner/machine/vm_net.h), genisoimage (seed ISO),
# ssh-keygen/ssh, and for image builds mmdebstrap, mkfs.ext4, xz/lz4/zstd and readelf (kernel
# extraction), gpg and curl (Ubuntu's archive keys).  git only improves checkout steps.
set(MEXEC_PACKAGE_MAINTAINER "mexec maintainers <root@localhost>"
    CACHE STRING "Maintainer field of the .deb")
set(CPACK_PACKAGE_NAME mexec)
set(CPACK_PACKAGE_CONTACT "${MEXEC_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "run CircleCI machine-executor and GitLab custom-executor jobs in libvirt VMs")
set(CPACK_PACKAGE_DESCRIPTION
    "mexec boots a job's machine image as a transient libvirt domain and runs every step in it.\n\
After installing, prepare the host: /usr/share/mexec/setup-host.sh --no-packages (as root).")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients, qemu-system-x86, qemu-utils, \
passt, iproute2, genisoimage, openssh-client, mmdebstrap, e2fsprogs, xz-utils, lz4, zstd, binutils, gpg, curl")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "git")
include(CPack)
