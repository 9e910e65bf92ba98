#!/bin/bash
# private-libvirtd.sh - a libvirtd + virtlogd of a benchmark's own, next to the host's.
#
# Usage:
#   tools/bench/private-libvirtd.sh up DIR     start them; print the libvirt URI on stdout
#   tools/bench/private-libvirtd.sh down DIR   destroy their guests, stop them, remove DIR
#
# Why: the host's daemons (tools/setup-host.sh) serve every test on this machine, so
# their memory per guest cannot be measured there, and their qemu.conf has no cgroup
# controllers (guests stay out of the host's cgroup tree), so a flavor's quota:cpu_*
# limits cannot hold there. These two run the same binaries in a private mount
# namespace (DIR bind-mounted over /etc/libvirt, /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt and /var/log/libvirt; the network is the host's) with the cpu and
# cpuacct cgroup controllers, as libvirt has them by default on a systemd host. Guests'
# tcp serial ports are on the host's loopback as usual. virtlogd.conf is the host's.
#
# "up" refuses a DIR that exists (no half-started leftovers are reused); "down" is
# idempotent. Exit codes: 0 success, 1 failure, 2 bad usage.
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly PROG=private-libvirtd TOOLS_DIR="${SCRIPT_PATH%/*/*}"
# shellcheck source=../lib/common.sh
source "$TOOLS_DIR/lib/common.sh"
usage() { sed -n 4,5p "$SCRIPT_PATH" >&2; exit 2; }

[ $# -eq 2 ] || usage
action="$1" dir="$2"
case "$dir" in /*) ;; *) die "DIR must be absolute: $dir" ;; esac
uri="qemu+unix:///system?socket=$dir/run/libvirt-sock"

up() {
    [ "$(id -u)" = 0 ] || die "run as root"
    [ ! -e "$dir" ] || die "$dir exists; use another or run: $0 down $dir"
    [ -f /etc/libvirt/virtlogd.conf ] || die "no /etc/libvirt/virtlogd.conf (run tools/setup-host.sh)"
    mkdir -p "$dir"/{etc,run,lib/qemu,cache/qemu,log/qemu}
    cat >"$dir/etc/qemu.conf" <<'EOF'
# tools/bench/private-libvirtd.sh: as the host's, with CPU cgroups.
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ "cpu", "cpuacct" ]
EOF
    cat >"$dir/etc/libvirtd.conf" <<EOF
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
    cp /etc/libvirt/virtlogd.conf "$dir/etc/virtlogd.conf"
    # Seeded from the host's: saves libvirtd's 8 s QEMU probe when it fits.
    [ ! -d /var/cache/libvirt/qemu/capabilities ] || cp -a /var/cache/libvirt/qemu/capabilities "$dir/cache/qemu/"
    # shellcheck disable=SC2016
    unshare --mount --propagation private -- sh -c '
        set -e; d=$1
        for m in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt \
                 cache:/var/cache/libvirt log:/var/log/libvirt; do
            mount --bind "$d/${m%%:*}" "${m#*:}"
        done
        /usr/sbin/virtlogd -d -p /run/libvirt/virtlogd.pid
        for _ in $(seq 100); do [ -S /run/libvirt/virtlogd-sock ] && break; sleep 0.1; done
        /usr/sbin/libvirtd -d -p /run/libvirt/libvirtd.pid' sh "$dir" </dev/null >"$dir/launch.log" 2>&1 \
        || { cat "$dir/launch.log" >&2; die "the daemons did not start"; }
    for _ in $(seq 300); do
        virsh -q -c "$uri" version >/dev/null 2>&1 && { printf '%s\n' "$uri"; return 0; }
        sleep 0.2
    done
    tail -n 20 "$dir/log/libvirtd.log" >&2 || true
    die "libvirtd does not answer on $uri"
}

down() {
    local name pid
    [ -d "$dir" ] || return 0
    if [ -S "$dir/run/libvirt-sock" ] && virsh -q -c "$uri" version >/dev/null 2>&1; then
        for name in $(virsh -q -c "$uri" list --name --all); do
            virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true
            virsh -q -c "$uri" undefine "$name" >/dev/null 2>&1 || true
        done
    fi
    for name in libvirtd virtlogd; do
        pid="$(pid_from_file "$dir/run/$name.pid" "/usr/sbin/$name")" || continue
        daemon_stop "$pid" "private $name"
    done
    rm -rf "$dir"
}

case "$action" in
    up) up ;;
    down) down ;;
    *) usage ;;
esac
