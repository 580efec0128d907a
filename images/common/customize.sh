# shellcheck shell=bash
# images/common/customize.sh — the image tree as every recipe leaves it (sourced by
# recipe-lib.sh; runs in the mmdebstrap customize hook): seed unit, job user, identity,
# no baked keys, masked units and generators, lean containerd, pruned kernel modules.

# Units that reach the network or only cost boot time in a throw-away job VM.  Masking a unit a
# release does not have is harmless (the /dev/null link just stays unused).
RL_MASK_UNITS=(
    apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
    systemd-timesyncd.service
    e2scrub_all.timer e2scrub_all.service e2scrub_reap.service
    fstrim.timer fstrim.service
    man-db.timer man-db.service
    dpkg-db-backup.timer dpkg-db-backup.service
    logrotate.timer
    getty@tty1.service serial-getty@ttyS0.service console-getty.service
    systemd-networkd-wait-online.service
    # The image is immutable and these already ran at build time; with a
    # fresh overlay per job they would otherwise re-run on every boot
    # (ConditionNeedsUpdate= / ConditionFirstBoot=).
    systemd-hwdb-update.service ldconfig.service
    systemd-journal-catalog-update.service systemd-update-done.service
    systemd-journal-flush.service
    systemd-firstboot.service first-boot-complete.target
    systemd-pstore.service systemd-sysusers.service
    # Per-job VMs get their entropy from virtio-rng (+ random.trust_cpu); a
    # seed file baked into the image would be the same in every clone.
    systemd-random-seed.service
    # Only parses ip= from the kernel command line; networkd has a static config.
    systemd-network-generator.service
    # Loaded on demand anyway; at boot they only compete for the 2 vCPUs.
    modprobe@loop.service modprobe@fuse.service modprobe@dm_mod.service
    modprobe@drm.service modprobe@configfs.service modprobe@efi_pstore.service
    dev-hugepages.mount sys-kernel-debug.mount sys-kernel-tracing.mount
    sys-fs-fuse-connections.mount sys-kernel-config.mount
    # Loads the apparmor package's own profiles (lsb_release, nvidia_modprobe)
    # and sits before sysinit.target: ~3.5 s on every boot's critical path
    # under TCG.  AppArmor itself stays enabled in the kernel, and dockerd
    # loads its docker-default profile for containers by itself.
    apparmor.service
)

# systemd generators that have nothing to generate in a job VM (no LUKS,
# dm-verity/integrity, GPT auto-mounts, hibernation, SysV-only services,
# rc.local, getty on a masked console); each is a process at every boot.
RL_MASK_GENERATORS=(
    systemd-cryptsetup-generator systemd-integritysetup-generator
    systemd-veritysetup-generator systemd-gpt-auto-generator
    systemd-hibernate-resume-generator systemd-sysv-generator
    systemd-rc-local-generator systemd-run-generator
    systemd-system-update-generator systemd-getty-generator
)

# Modules udev would load for QEMU's q35 board that a job never uses.  kvm is
# left alone: on a KVM host nested virtualization may be wanted by jobs.
RL_BLACKLIST_MODULES=(
    pcspkr parport parport_pc ppdev floppy joydev serio_raw
    iTCO_wdt iTCO_vendor_support intel_pmc_bxt lpc_ich i2c_i801 i2c_smbus
)

# Kernel module trees that a virtio-only VM never needs (saves ~200 MB with a
# distribution's generic kernel).  Netfilter, bridge, overlay, veth, virtio,
# block, fs stay.
RL_PRUNE_MODULE_DIRS=(
    sound
    drivers/gpu drivers/media drivers/infiniband drivers/staging
    drivers/net/wireless drivers/bluetooth drivers/isdn drivers/iio
    drivers/net/ethernet drivers/net/can drivers/net/usb drivers/usb/gadget
    drivers/scsi/qla2xxx drivers/scsi/lpfc drivers/scsi/mpt3sas drivers/scsi/bfa
    drivers/scsi/be2iscsi drivers/scsi/bnx2fc drivers/scsi/qedf drivers/scsi/qedi
    drivers/scsi/megaraid drivers/scsi/aacraid drivers/scsi/aic7xxx drivers/scsi/smartpqi
    drivers/net/hamradio drivers/net/wan drivers/net/ieee802154 drivers/comedi
    drivers/input/touchscreen drivers/input/joystick drivers/hwmon
    drivers/thunderbolt drivers/mtd drivers/w1 drivers/nfc drivers/platform/chrome
    net/wireless net/mac80211 net/bluetooth net/nfc net/ieee802154
)

rl_customize() {
    local root=$1
    [ -d "$root/etc" ] || die "customize: $root is not a root filesystem"
    local in_root=(chroot "$root")

    # --- mexec seeding (shared with other recipes) ---
    install -D -m 0755 "$RL_LIB_DIR/mexec-seed" "$root/usr/local/sbin/mexec-seed"
    install -D -m 0644 "$RL_LIB_DIR/mexec-seed.service" "$root/etc/systemd/system/mexec-seed.service"
    install -D -m 0644 "$RL_LIB_DIR/mexec-identity.service" "$root/etc/systemd/system/mexec-identity.service"
    install -D -m 0644 "$RL_LIB_DIR/50-mexec-sshd.conf" "$root/etc/ssh/sshd_config.d/50-mexec.conf"
    install -D -m 0644 "$RL_LIB_DIR/50-mexec-slirp.network" "$root/etc/systemd/network/50-mexec-slirp.network"
    install -D -m 0644 "$RL_LIB_DIR/50-mexec-journald.conf" "$root/etc/systemd/journald.conf.d/50-mexec.conf"

    # --- job user: like CircleCI's machine images ---
    "${in_root[@]}" useradd --create-home --home-dir "/home/$JOB_USER" --shell /bin/bash \
        --groups docker,sudo --user-group "$JOB_USER"
    # No password at all ('*'): only SSH public-key login is possible.
    "${in_root[@]}" usermod --password '*' "$JOB_USER"
    printf '%s ALL=(ALL:ALL) NOPASSWD:ALL\n' "$JOB_USER" >"$root/etc/sudoers.d/$JOB_USER"
    chmod 0440 "$root/etc/sudoers.d/$JOB_USER"
    "${in_root[@]}" visudo -c -q -f "/etc/sudoers.d/$JOB_USER"
    # ~/.ssh exists already (mexec-seed only installs authorized_keys);
    # /home/circleci/project is deliberately not created (checkout creates it).
    install -d -m 0700 "$root/home/$JOB_USER/.ssh"
    "${in_root[@]}" chown "$JOB_USER:$JOB_USER" "/home/$JOB_USER/.ssh"

    # --- identity, filesystems, name resolution ---
    printf '%s\n' "$HOSTNAME_DEFAULT" >"$root/etc/hostname"
    cat >"$root/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$HOSTNAME_DEFAULT
::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOF
    printf '/dev/vda / ext4 defaults 0 1\n' >"$root/etc/fstab"
    # No systemd-resolved: slirp's DNS forwarder is fixed, write it directly.
    rm -f "$root/etc/resolv.conf"
    printf 'nameserver 10.0.2.3\n' >"$root/etc/resolv.conf"
    # Every VM must get its own machine id: empty file = generate at boot
    # without "first boot" semantics; dbus must not keep a baked copy.
    : >"$root/etc/machine-id"
    rm -f "$root/var/lib/dbus/machine-id"
    ln -s /etc/machine-id "$root/var/lib/dbus/machine-id"

    # --- SSH: no baked host keys (each job gets its own, via the seed) ---
    rm -f "$root"/etc/ssh/ssh_host_*
    # Instant starts write the job's host key while sshd already listens (mexec-identity.service)
    # and rely on sshd loading the key files again for each connection, as OpenSSH before 9.8
    # does.  From 9.8 sshd-session takes the keys the listener loaded at its start.
    if [ -e "$root/usr/lib/openssh/sshd-session" ] || [ -e "$root/usr/libexec/sshd-session" ]; then
        die "this OpenSSH has sshd-session (>= 9.8): its host keys are loaded once by the listener, which instant starts do not handle"
    fi

    # --- entropy: virtio-rng (also in the initramfs; this is belt and braces) ---
    # isofs: the seed filesystem; virtio_console: the seed channel of
    # instant starts; loaded by systemd-modules-load in parallel with early
    # boot instead of on demand on mexec-seed's critical path.
    printf 'virtio_rng\nisofs\nvirtio_console\n' >"$root/etc/modules-load.d/mexec.conf"

    # --- hardware a job never uses: not loaded at boot ---
    local m
    {
        printf '# mexec: QEMU q35 devices that a CI job does not use.\n'
        for m in "${RL_BLACKLIST_MODULES[@]}"; do printf 'blacklist %s\n' "$m"; done
    } >"$root/etc/modprobe.d/mexec-blacklist.conf"

    # --- units ---
    "${in_root[@]}" systemctl enable systemd-networkd.service mexec-seed.service mexec-identity.service \
        ssh.service docker.service containerd.service
    local u
    for u in "${RL_MASK_UNITS[@]}" "${EXTRA_MASK_UNITS[@]}"; do
        "${in_root[@]}" systemctl mask "$u" >/dev/null 2>&1 || die "cannot mask $u"
    done
    mkdir -p "$root/etc/systemd/system-generators"
    for u in "${RL_MASK_GENERATORS[@]}"; do
        ln -sfn /dev/null "$root/etc/systemd/system-generators/$u"
    done
    # sshd's config is fixed (50-mexec.conf): no `sshd -t` process before every start (it is
    # on the critical path of cold boots and instant starts alike).
    mkdir -p "$root/etc/systemd/system/ssh.service.d"
    printf '[Service]\nExecStartPre=\n' >"$root/etc/systemd/system/ssh.service.d/50-mexec.conf"
    # ssh must not wait for docker: make sure nothing orders it after docker.
    if grep -rqs 'docker' "$root/lib/systemd/system/ssh.service" "$root/etc/systemd/system/ssh.service.d"; then
        die "ssh.service is ordered after docker"
    fi

    rl_containerd_lean "$root/etc/containerd/config.toml"
    # While the VM boots, sshd (the host is waiting for it) gets the CPU before
    # containerd/dockerd; StartupCPUWeight= only applies until boot finished.
    for u in containerd.service docker.service; do
        mkdir -p "$root/etc/systemd/system/$u.d"
        printf '[Service]\nStartupCPUWeight=10\n' >"$root/etc/systemd/system/$u.d/50-mexec.conf"
    done
    # No per-login run-parts of /etc/update-motd.d (uname) under emulation.
    rm -f "$root/etc/update-motd.d/10-uname"

    # --- kernel modules: drop hardware a virtio VM never has ---
    local kver d
    for kver in "$root"/lib/modules/*; do
        [ -d "$kver" ] || continue
        for d in "${RL_PRUNE_MODULE_DIRS[@]}"; do
            rm -rf "${kver:?}/kernel/$d"
        done
        "${in_root[@]}" depmod -a "$(basename "$kver")"
    done

    if declare -F recipe_customize >/dev/null; then recipe_customize "$root"; fi

    # --- leftovers ---
    rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
        "$root"/var/lib/dpkg/*-old "$root"/var/log/apt/eipp.log.xz
    find "$root/var/log" -type f -name '*.log' -exec truncate -s 0 {} +
}

# containerd: docker uses it only as runtime; skip CRI (Kubernetes) and the
# snapshotters that probe for btrfs/zfs/devmapper/aufs at every start.  The
# CRI plugin's IDs of containerd 1.x and 2.x are both listed: an ID that a
# version does not have is ignored.  Debian's package ships a config.toml (the
# line goes on top); Ubuntu's ships none, so one is written (format version 2:
# containerd 1.7 reads it, 2.x migrates it when it loads it).
rl_containerd_lean() {
    local ctd=$1
    grep -qs '^disabled_plugins' "$ctd" && return 0
    [ -d "$(dirname "$ctd")" ] || mkdir -p "$(dirname "$ctd")"
    {
        printf '# mexec: plugins docker does not use (faster containerd start)\n'
        [ -f "$ctd" ] || printf 'version = 2\n'
        printf 'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]\n\n'
        [ ! -f "$ctd" ] || cat "$ctd"
    } >"$ctd.new"
    mv "$ctd.new" "$ctd"
}
