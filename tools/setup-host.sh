#!/bin/bash
# setup-host.sh - make this Debian 12 machine (root, no systemd) a libvirt + virtlogd + QEMU
# host for nova's serial console tests.
#
# Usage:
#   tools/setup-host.sh [--virtlogd-max-size BYTES] [--virtlogd-max-backups N]
#                       [--print-virt-type] [--multi-host]
#   tools/setup-host.sh --status
#   tools/setup-host.sh --stop [--force]
#
# Setup (the default), idempotent (well under a second when nothing is to do):
#   * apt-installs what is missing of PACKAGES below (never libvirt-daemon-system; with
#     qemu-system-misc for the s390x guest, chromium and chromium-driver for the web
#     terminal's tests) and the web serial terminal (tools/install-web-console.sh);
#   * makes the libvirt-qemu account and /var/{log,lib,cache}/libvirt/qemu;
#   * writes /etc/libvirt/qemu.conf (root, no security driver, no cgroups) and
#     /etc/libvirt/virtlogd.conf (max_size, max_backups; default 2097152 and 3) when they
#     differ;
#   * starts "virtlogd -d" and "libvirtd -d" with start-stop-daemon when they do not run
#     (logs /var/log/libvirt/{virtlogd,libvirtd}.log) and waits until virsh answers;
#   * a changed virtlogd.conf is applied by SIGUSR1: virtlogd re-execs in place (same pid),
#     keeps every open log and client and reads its config again, so the new limits apply
#     at once, to running guests' logs too (measured on libvirt 9.0.0; lowering
#     max_backups leaves the surplus .log.N files, each re-exec leaks one fd);
#   * a changed qemu.conf, or no s390x emulator in "virsh capabilities", restarts libvirtd
#     when this script started it (guests keep running), else a warning says so.
#   --multi-host       then also tools/two-hosts.sh up, and RabbitMQ and Glance on loopback
#                      and host A's rig address (doc/source/admin/deployment-multihost.rst)
#   --print-virt-type  then print "kvm" or "qemu" on stdout (tools/probe-virt-type.sh)
#
# --status  state of both daemons, virtlogd limits and cached virt type on stdout; exit 3
#           unless both run and virsh answers.
# --stop    stops the daemons this script started (libvirtd, then virtlogd); refuses while
#           guests run unless --force (their console logs would stop).
#
# Exit codes: 0 success, 1 failure, 2 bad usage, 3 (--status) not fully running.
# State: $NOVA_HOST_STATE_DIR (default /run/nova-virtlogd-host/): NAME.started (the pid
#        of a daemon this script started), NAME.launch.log, virt_type (probe cache).
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH PROG=setup-host TOOLS_DIR="${SCRIPT_PATH%/*}"
readonly STATE_DIR="${NOVA_HOST_STATE_DIR:-/run/nova-virtlogd-host}"
readonly VIRSH_URI="qemu:///system"
readonly QEMU_CONF=/etc/libvirt/qemu.conf
readonly VIRTLOGD_CONF=/etc/libvirt/virtlogd.conf
readonly LOG_DIR=/var/log/libvirt
readonly PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
                   libvirt-dev pkg-config gcc libxml2-utils busybox-static cpio iproute2 rsync
                   openssh-server openssh-client procps
                   qemu-utils qemu-system-misc chromium chromium-driver)
readonly LIBVIRTD_WAIT=90    # s for libvirtd to answer (first start ~10 s)
# shellcheck source=lib/common.sh
source "$TOOLS_DIR/lib/common.sh"
usage() { header 5,9; exit 2; }

action=setup max_size=2097152 max_backups=3 print_virt_type=0 multi_host=0 force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --virtlogd-max-size) [ $# -ge 2 ] || usage; max_size="$2"; shift ;;
        --virtlogd-max-size=*) max_size="${1#*=}" ;;
        --virtlogd-max-backups) [ $# -ge 2 ] || usage; max_backups="$2"; shift ;;
        --virtlogd-max-backups=*) max_backups="${1#*=}" ;;
        --print-virt-type) print_virt_type=1 ;;
        --multi-host) multi_host=1 ;;
        --stop) action=stop ;;
        --status) action=status ;;
        --force) force=1 ;;
        -h|--help) header '2,/^set -euo/'; exit 0 ;;
        *) printf '%s: unknown argument: %s\n' "$PROG" "$1" >&2; usage ;;
    esac
    shift
done
[[ "$max_size" =~ ^[0-9]+$ ]] && [ "$max_size" -ge 1 ] \
    || { printf '%s: --virtlogd-max-size must be a positive integer (bytes)\n' "$PROG" >&2; exit 2; }
[[ "$max_backups" =~ ^[0-9]+$ ]] \
    || { printf '%s: --virtlogd-max-backups must be a non-negative integer\n' "$PROG" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root"

# --- daemons ----------------------------------------------------------------------------
daemon_pid() { pid_from_file "/run/$1.pid" "/usr/sbin/$1"; }
# started_by_us NAME: the daemon NAME that runs is the one this script started.
started_by_us() { local pid; pid="$(daemon_pid "$1")" && [ "$(pid_from_file "$STATE_DIR/$1.started" "/usr/sbin/$1")" = "$pid" ]; }
daemon_log() { printf '%s/%s.log\n' "$LOG_DIR" "$1"; }
virsh_answers() { timeout 15 virsh -q -c "$VIRSH_URI" version >/dev/null 2>&1; }
running_guests() { timeout 15 virsh -q -c "$VIRSH_URI" list --name 2>/dev/null | sed '/^$/d'; }

# start_daemon NAME: "NAME -d" (it forks and writes /run/NAME.pid itself).
start_daemon() {
    local name="$1" pid
    rm -f "/run/$name.pid" "$STATE_DIR/$name.started"
    mark_log "$(daemon_log "$name")"
    log "starting $name"
    if ! LIBVIRT_LOG_OUTPUTS="3:file:$(daemon_log "$name")" start-stop-daemon --start --quiet \
            --pidfile "/run/$name.pid" --exec "/usr/sbin/$name" -- -d \
            </dev/null >"$STATE_DIR/$name.launch.log" 2>&1; then
        show_logs "$STATE_DIR/$name.launch.log" "$(daemon_log "$name")"
        die "$name -d failed"
    fi
    for _ in {1..50}; do pid="$(daemon_pid "$name")" && break; sleep 0.1; done
    [ -n "${pid:-}" ] || { show_logs "$STATE_DIR/$name.launch.log" "$(daemon_log "$name")"; die "$name did not come up (no live pid in /run/$name.pid)"; }
    printf '%s\n' "$pid" >"$STATE_DIR/$name.started"
    log "$name started, pid $pid"
}

stop_daemon() {
    local pid
    if started_by_us "$1"; then
        daemon_stop "$(daemon_pid "$1")" "$1"
    elif pid="$(daemon_pid "$1")"; then
        log "$1 (pid $pid) was not started by this script: leaving it alone"
    fi
    rm -f "$STATE_DIR/$1.started"
}

wait_virtlogd() {
    for _ in {1..200}; do
        daemon_pid virtlogd >/dev/null && [ -S /run/libvirt/virtlogd-sock ] \
            && [ ! -e /run/libvirt/virtlogd-restart-exec.json ] && return 0
        sleep 0.1
    done
    show_logs "$(daemon_log virtlogd)"
    die "virtlogd is not up after 20 s (no /run/libvirt/virtlogd-sock)"
}

wait_libvirtd() {
    local start=$SECONDS
    until virsh_answers; do
        daemon_pid libvirtd >/dev/null && [ $((SECONDS - start)) -lt "$LIBVIRTD_WAIT" ] \
            || { show_logs "$STATE_DIR/libvirtd.launch.log" "$(daemon_log libvirtd)"; die "libvirtd does not answer virsh -c $VIRSH_URI"; }
        sleep 0.5
    done
}

# restart_libvirtd WHY: only when this script started it (guests keep running).
restart_libvirtd() {
    if ! started_by_us libvirtd; then
        warn "$1, but libvirtd (pid $(daemon_pid libvirtd)) was not started by this script: restart it yourself"
        return 1
    fi
    log "$1: restarting libvirtd; guests keep running"
    stop_daemon libvirtd
    start_daemon libvirtd
    wait_libvirtd
}

# s390x_listed SECONDS: 0 listed, 1 missing, 2 capabilities unreadable (a busy libvirtd
# is no reason to restart it); asks again while libvirt may still probe QEMU.
s390x_listed() {
    local deadline=$((SECONDS + $1)) caps rc
    while :; do
        rc=2
        if caps="$(timeout 60 virsh -q -c "$VIRSH_URI" capabilities 2>/dev/null)"; then
            grep -q "<arch name='s390x'>" <<<"$caps" && return 0
            rc=1
        fi
        ((SECONDS < deadline)) || return "$rc"
        sleep 2
    done
}

ensure_s390x_capability() {
    local rc=0
    [ -x /usr/bin/qemu-system-s390x ] || die "qemu-system-misc is installed but /usr/bin/qemu-system-s390x is missing"
    s390x_listed 10 || rc=$?
    case "$rc" in
        0) ;;
        2) warn "cannot read virsh capabilities now; not checking for the s390x emulator" ;;
        *) restart_libvirtd "libvirt does not list the s390x emulator" || return 0
           s390x_listed 60 || warn "libvirt does not list s390x guests (virsh capabilities): s390x guests will not boot" ;;
    esac
}

# --- actions ----------------------------------------------------------------------------
do_status() {
    local name pid rc=0 owner
    for name in virtlogd libvirtd; do
        if pid="$(daemon_pid "$name")"; then
            if started_by_us "$name"; then owner=""; else owner="not "; fi
            printf '%s: running, pid %s (%sstarted by setup-host.sh)\n' "$name" "$pid" "$owner"
        else
            printf '%s: not running\n' "$name"
            rc=3
        fi
    done
    if [ "$rc" = 0 ] && virsh_answers; then
        printf 'virsh -c %s: answers (%s guest(s) running)\n' "$VIRSH_URI" "$(running_guests | wc -l)"
    elif [ "$rc" = 0 ]; then
        printf 'virsh -c %s: NOT answering\n' "$VIRSH_URI"
        rc=3
    fi
    printf 'virtlogd.conf: %s\n' "$(grep -sE '^(max_size|max_backups)' "$VIRTLOGD_CONF" | tr '\n' ' ' | sed 's/ $//')"
    printf 'virt_type (cached): %s\n' "$(head -n1 "$STATE_DIR/virt_type" 2>/dev/null || echo 'not probed yet')"
    return "$rc"
}

do_stop() {
    local guests=""
    if [ "$force" = 0 ] && daemon_pid libvirtd >/dev/null; then guests="$(running_guests | tr '\n' ' ')"; fi
    [ -z "$guests" ] || die "guests still running (${guests% }): destroy them first, or use --stop --force (their console logs then stop being written)"
    stop_daemon libvirtd
    stop_daemon virtlogd
}

do_setup() {
    local t0=$SECONDS qemu_changed=0 virtlogd_changed=0 pid addr
    apt_install "${PACKAGES[@]}"
    id libvirt-qemu >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /var/lib/libvirt \
        --shell /usr/sbin/nologin "$(if getent group kvm >/dev/null; then echo --gid=kvm; else echo --user-group; fi)" \
        libvirt-qemu || die "cannot create the libvirt-qemu account"
    mkdir -p "$LOG_DIR/qemu" /var/lib/libvirt/qemu /var/cache/libvirt/qemu /run/libvirt
    write_if_changed "$QEMU_CONF" <<'EOF' && qemu_changed=1
# Written by nova's tools/setup-host.sh; rewritten on every run.
# Guests run as root without security driver and without cgroup placement: this host
# has no systemd and no libvirt-daemon-system.
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
EOF
    write_if_changed "$VIRTLOGD_CONF" <<EOF && virtlogd_changed=1
# Written by nova's tools/setup-host.sh; rewritten on every run
# (--virtlogd-max-size / --virtlogd-max-backups).
log_outputs = "3:file:$(daemon_log virtlogd)"
max_size = $max_size
max_backups = $max_backups
EOF

    if ! pid="$(daemon_pid virtlogd)"; then
        start_daemon virtlogd
    elif [ "$virtlogd_changed" = 1 ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -Eq -- ' (-f|--config)( |=)'; then
        warn "virtlogd (pid $pid) runs with its own config file, not $VIRTLOGD_CONF: settings not applied"
    elif [ "$virtlogd_changed" = 1 ]; then
        log "virtlogd.conf changed: SIGUSR1 to virtlogd (pid $pid): it re-execs with max_size=$max_size max_backups=$max_backups, keeping open logs"
        mark_log "$(daemon_log virtlogd)"
        kill -USR1 "$pid"
        sleep 0.2   # then it has written virtlogd-restart-exec.json, removed once back
        wait_virtlogd
        [ "$(daemon_pid virtlogd)" = "$pid" ] || { show_logs "$(daemon_log virtlogd)"; die "virtlogd did not survive its re-exec"; }
    fi
    wait_virtlogd
    if ! daemon_pid libvirtd >/dev/null; then
        start_daemon libvirtd
    elif [ "$qemu_changed" = 1 ]; then
        restart_libvirtd "$QEMU_CONF changed" || true
    fi
    wait_libvirtd
    ensure_s390x_capability

    # More of this host, one line each (tools/*.sh):
    "$TOOLS_DIR/install-web-console.sh" >&2
    "$TOOLS_DIR/setup-nova-user.sh" >&2  # nova-compute as user nova (privsep)
    "$TOOLS_DIR/setup-mariadb.sh" >&2  # database of split/multi-host set-ups, tests
    "$TOOLS_DIR/setup-keystone.sh" >&2  # identity for auth_strategy = keystone
    "$TOOLS_DIR/setup-glance.sh" --keystone-ready >&2  # the image service (Glance)
    "$TOOLS_DIR/setup-tempest.sh" >&2  # stock tempest (tools/run-tempest.sh)
    log "host ready ($((SECONDS - t0)) s): $(virsh -q -c "$VIRSH_URI" version 2>/dev/null | grep -i 'running hypervisor' | sed 's/^ *//')"

    if [ "$multi_host" = 1 ]; then
        "$TOOLS_DIR/two-hosts.sh" up >&2
        addr="$("$TOOLS_DIR/two-hosts.sh" env | sed -n 's/^HOSTA_ADDR=//p')"
        [ -n "$addr" ] || die "tools/two-hosts.sh env gave no HOSTA_ADDR"
        "$TOOLS_DIR/setup-rabbitmq.sh" --listen "$addr" >&2
        "$TOOLS_DIR/setup-glance.sh" --keystone-ready --listen "$addr" >&2
    fi
    [ "$print_virt_type" = 0 ] || "$TOOLS_DIR/probe-virt-type.sh"
}

mkdir -p "$STATE_DIR"
case "$action" in
    setup) do_setup ;;
    stop) do_stop ;;
    status) do_status || exit $? ;;
esac
