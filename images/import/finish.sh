#!/bin/sh
# images/import/finish.sh USER — the last thing `mexec image import` runs in the image (as root,
# over SSH): turn the booted image into a base that every job boots afresh, then power off.
#
#   - USER (the job user cloud-init created from the seed) joins group docker when it exists,
#     and docker.service is enabled, so jobs find dockerd running;
#   - units that reach the network or take the CPU by themselves in a throw-away job VM are
#     masked: apt's daily timers, motd-news, systemd-timesyncd (no NTP: the clock comes from the
#     host's RTC);
#   - per-instance state goes: cloud-init's (`cloud-init clean --logs --seed`, so every job's
#     boot is a first boot with that job's seed), SSH host keys (each job brings its own, pinned
#     by the host), machine-id (emptied, as in published cloud images), this import's key in
#     USER's authorized_keys, apt's caches and our uploads;
#   - then a poweroff, once this command's status has gone back over SSH.
set -eu
user=${1:?usage: finish.sh USER}

if getent group docker >/dev/null 2>&1 && id "$user" >/dev/null 2>&1; then
    usermod -a -G docker "$user"
fi
if systemctl cat docker.service >/dev/null 2>&1; then
    systemctl enable docker.service >/dev/null 2>&1
fi
for unit in apt-daily.timer apt-daily-upgrade.timer motd-news.timer systemd-timesyncd.service; do
    if systemctl cat "$unit" >/dev/null 2>&1; then systemctl mask "$unit" >/dev/null 2>&1 || true; fi
done

cloud-init clean --logs --seed >/dev/null 2>&1 || cloud-init clean --logs
rm -f /etc/ssh/ssh_host_*
: >/etc/machine-id
if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
    rm -f /var/lib/dbus/machine-id
fi
home=$(getent passwd "$user" | cut -d: -f6)
if [ -n "$home" ]; then rm -f "$home/.ssh/authorized_keys"; fi
apt-get clean
rm -rf /tmp/mexec-import
sync

nohup sh -c 'sleep 2; systemctl poweroff || poweroff' >/dev/null 2>&1 &
echo "finished; powering off"
