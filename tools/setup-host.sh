#!/bin/bash
# setup-host.sh - make this Debian 12 machine (root, no systemd needed) a working
# libvirt + virtlogd + QEMU host for the virtlogd serial console tests.
#
# Usage:
#   tools/setup-host.sh [--virtlogd-max-size BYTES] [--virtlogd-max-backups N]
#                       [--print-virt-type] [--multi-host]
#   tools/setup-host.sh --status
#   tools/setup-host.sh --stop [--force]
#
# Setup (the default action), idempotent; a second run takes well under a second:
#   * apt-installs (only when something is missing; "apt-get update" only when the package
#     lists are empty or the install fails without it) libvirt-daemon
#     libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 libvirt-dev pkg-config gcc
#     libxml2-utils busybox-static cpio iproute2 rsync qemu-utils (never libvirt-daemon-system)
#     and qemu-system-misc (Debian 12's qemu-system-s390x, for the emulated s390x guest;
#     about 46 MB, 30 s), chromium and chromium-driver (headless browser for the web
#     terminal's tests, driven by selenium through /usr/bin/chromedriver)
#   * installs the web serial terminal in [serial_console] web_root's default folder
#     (tools/install-web-console.sh: the page and xterm.js by "npm ci")
#   * creates the libvirt-qemu account and /var/{log,lib,cache}/libvirt/qemu
#   * writes /etc/libvirt/qemu.conf (user/group root, security_driver none,
#     cgroup_controllers [ ]) and /etc/libvirt/virtlogd.conf (max_size, max_backups;
#     defaults 2097152 and 3), rewriting them only when their content differs
#   * starts "virtlogd -d" and "libvirtd -d" when they are not running (daemon logs:
#     /var/log/libvirt/virtlogd.log and /var/log/libvirt/libvirtd.log), then waits until
#     "virsh -c qemu:///system version" answers (the first libvirtd start takes ~10 s)
#   * virtlogd.conf changed while virtlogd runs: sends virtlogd SIGUSR1.  virtlogd then
#     re-exec()s itself in place (same pid), keeping every open log file and client, and
#     the re-exec'ed daemon reads virtlogd.conf again, so the new max_size/max_backups
#     apply at once, also to the logs of guests that are already running.  Measured on
#     libvirt 9.0.0: without the signal virtlogd keeps the old limits; after it the new
#     max_size rotates an already-open guest log at its next write; 3000 guest lines
#     written across 5 SIGUSR1 re-execs all arrived, none lost.  Caveats: lowering
#     max_backups leaves the surplus old .log.N files in place (virtlogd never deletes
#     them), and each re-exec leaks one fd of virtlogd's own log file.
#   * qemu.conf changed while libvirtd runs: libvirtd is restarted when this script
#     started it (running guests survive a libvirtd restart); otherwise a warning says to
#     restart it by hand.
#   * a QEMU emulator installed while libvirtd runs: libvirt 9.0.0 re-probes its
#     emulators on "virsh capabilities" (measured: s390x was listed at once, no restart).
#     Should "virsh capabilities" still lack s390x, libvirtd is restarted as above.
#   --multi-host  then the several-hosts mode: a second host (tools/two-hosts.sh up) and
#                 RabbitMQ on loopback and host A's rig address only
#                 (tools/setup-rabbitmq.sh --listen 192.168.251.1); see
#                 doc/source/admin/deployment-multihost.rst
#   --print-virt-type  after setup, print the domain type to use ("kvm" or "qemu") on
#                      stdout, from tools/probe-virt-type.sh (cached, so usually instant;
#                      the first probe builds the guest image if needed and may take ~25 s)
#
# --status  prints the state of both daemons, the virtlogd settings and the cached virt
#           type on stdout; exit 0 when both daemons run and virsh answers, else 3.
# --stop    stops only the daemons that this script started (libvirtd, then virtlogd), as
#           recorded in the state directory; daemons started otherwise are left alone.
#           Refuses (exit 1) while libvirt still lists running guests, since their console
#           logs would stop; --force stops the daemons anyway (guests keep running).
#
# stdout: nothing, except the virt type with --print-virt-type and the report of --status.
# stderr: progress messages; on failure an "ERROR:" line (plus the tail of the failing
#         daemon's log when a daemon does not come up).
# Exit codes: 0 success, 1 failure, 2 bad usage, 3 (--status only) not fully running.
# State: $NOVA_HOST_STATE_DIR, default /run/nova-virtlogd-host/: virtlogd.started and
#        libvirtd.started ("PID STARTTIME" of daemons this script started), *.launch.log
#        (output of the daemon launch commands), virt_type (probe cache).
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH
TOOLS_DIR="$(dirname "$SCRIPT_PATH")"
readonly TOOLS_DIR
readonly STATE_DIR="${NOVA_HOST_STATE_DIR:-/run/nova-virtlogd-host}"
readonly VIRSH_URI="qemu:///system"
readonly QEMU_CONF=/etc/libvirt/qemu.conf
readonly VIRTLOGD_CONF=/etc/libvirt/virtlogd.conf
readonly LOG_DIR=/var/log/libvirt
readonly PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
                   libvirt-dev pkg-config gcc libxml2-utils busybox-static cpio iproute2 rsync
                   qemu-utils qemu-system-misc chromium chromium-driver)
readonly LIBVIRTD_WAIT=90    # seconds for libvirtd to answer (first start ~10 s)
readonly VIRTLOGD_WAIT=20

log() { printf 'setup-host: %s\n' "$*" >&2; }
die() { printf 'setup-host: ERROR: %s\n' "$*" >&2; exit 1; }
warn() { printf 'setup-host: WARNING: %s\n' "$*" >&2; }
# shellcheck source=lib/common.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"
usage() {
    sed -n '4,10p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------------------------------
action=setup
max_size=2097152
max_backups=3
print_virt_type=0
multi_host=0
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --virtlogd-max-size) [ $# -ge 2 ] || usage; max_size="$2"; shift 2 ;;
        --virtlogd-max-size=*) max_size="${1#*=}"; shift ;;
        --virtlogd-max-backups) [ $# -ge 2 ] || usage; max_backups="$2"; shift 2 ;;
        --virtlogd-max-backups=*) max_backups="${1#*=}"; shift ;;
        --print-virt-type) print_virt_type=1; shift ;;
        --multi-host) multi_host=1; shift ;;
        --stop) action=stop; shift ;;
        --status) action=status; shift ;;
        --force) force=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        *) printf 'setup-host: unknown argument: %s\n' "$1" >&2; usage ;;
    esac
done
[[ "$max_size" =~ ^[0-9]+$ ]] && [ "$max_size" -ge 1 ] \
    || { printf 'setup-host: --virtlogd-max-size must be a positive integer (bytes)\n' >&2; exit 2; }
[[ "$max_backups" =~ ^[0-9]+$ ]] \
    || { printf 'setup-host: --virtlogd-max-backups must be a non-negative integer\n' >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root"

# --- process helpers -----------------------------------------------------------------------

# The pid of the running daemon NAME (virtlogd or libvirtd) from its default pid file,
# or failure when it does not run.
daemon_pid() {
    local name="$1" pid
    pid="$(cat "/run/$name.pid" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
    proc_alive "$pid" || return 1
    printf '%s\n' "$pid"
}

# Succeeds when the daemon NAME that runs now is the one this script started.
started_by_us() {
    local name="$1" pid rec_pid rec_start
    pid="$(daemon_pid "$name")" || return 1
    [ -f "$STATE_DIR/$name.started" ] || return 1
    read -r rec_pid rec_start <"$STATE_DIR/$name.started" || return 1
    [ "$pid" = "$rec_pid" ] && [ "$(proc_starttime "$pid")" = "$rec_start" ]
}

daemon_log() { printf '%s/%s.log\n' "$LOG_DIR" "$1"; }

# Size of each daemon's log file when this script last started/signalled it, so that a
# failure shows only what the daemon wrote since.
declare -A LOG_OFFSET=()
mark_daemon_log() { LOG_OFFSET[$1]="$(stat -c %s "$(daemon_log "$1")" 2>/dev/null || echo 0)"; }

show_daemon_logs() {
    local name="$1" f="$STATE_DIR/$1.launch.log" dlog
    if [ -s "$f" ]; then
        printf -- '----- %s -----\n' "$f" >&2
        tail -n 25 "$f" >&2
    fi
    dlog="$(daemon_log "$name")"
    if [ -s "$dlog" ]; then
        printf -- '----- last lines written to %s -----\n' "$dlog" >&2
        tail -c +"$(( ${LOG_OFFSET[$name]:-0} + 1 ))" "$dlog" | tail -n 25 >&2
    fi
}

virsh_answers() {
    timeout 15 virsh -q -c "$VIRSH_URI" version >/dev/null 2>&1
}

running_guests() {
    timeout 15 virsh -q -c "$VIRSH_URI" list --name 2>/dev/null | sed '/^$/d'
}

# --- --status --------------------------------------------------------------------------------
do_status() {
    local name pid ok=0 owner
    for name in virtlogd libvirtd; do
        if pid="$(daemon_pid "$name")"; then
            if started_by_us "$name"; then owner="started by setup-host.sh"; else owner="not started by setup-host.sh"; fi
            printf '%s: running, pid %s (%s)\n' "$name" "$pid" "$owner"
        else
            printf '%s: not running\n' "$name"
            ok=3
        fi
    done
    if [ "$ok" = 0 ]; then
        if virsh_answers; then
            printf 'virsh -c %s: answers (%s guest(s) running)\n' "$VIRSH_URI" "$(running_guests | wc -l)"
        else
            printf 'virsh -c %s: NOT answering\n' "$VIRSH_URI"
            ok=3
        fi
    fi
    if [ -f "$VIRTLOGD_CONF" ]; then
        printf 'virtlogd.conf: %s\n' "$(grep -E '^(max_size|max_backups)' "$VIRTLOGD_CONF" | tr '\n' ' ' | sed 's/ $//')"
    else
        printf 'virtlogd.conf: missing\n'
    fi
    if [ -s "$STATE_DIR/virt_type" ]; then
        printf 'virt_type (cached): %s\n' "$(head -n1 "$STATE_DIR/virt_type")"
    else
        printf 'virt_type: not probed yet\n'
    fi
    return "$ok"
}

# --- --stop ------------------------------------------------------------------------------------
stop_daemon() {
    local name="$1" pid i
    if [ ! -f "$STATE_DIR/$name.started" ]; then
        if pid="$(daemon_pid "$name")"; then
            log "$name (pid $pid) was not started by this script: leaving it alone"
        else
            log "$name: not running"
        fi
        return 0
    fi
    if ! started_by_us "$name"; then
        log "$name started by this script is no longer running"
        if pid="$(daemon_pid "$name")"; then
            log "another $name (pid $pid) runs now; leaving it alone"
        fi
        rm -f "$STATE_DIR/$name.started"
        return 0
    fi
    pid="$(daemon_pid "$name")"
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        proc_alive "$pid" || break
        sleep 0.1
    done
    if proc_alive "$pid"; then
        log "$name (pid $pid) ignored SIGTERM for 15 s: sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    ! proc_alive "$pid" || die "$name (pid $pid) does not exit"
    rm -f "$STATE_DIR/$name.started"
    log "$name stopped"
}

do_stop() {
    local guests
    if [ "$force" = 0 ] && daemon_pid libvirtd >/dev/null; then
        guests="$(running_guests || true)"
        if [ -n "$guests" ]; then
            die "guests still running ($(tr '\n' ' ' <<<"$guests" | sed 's/ $//')): destroy them first, or use --stop --force (their console logs then stop being written)"
        fi
    fi
    stop_daemon libvirtd
    stop_daemon virtlogd
}

# --- setup ---------------------------------------------------------------------------------------

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -eq 0 ]; then
        log "packages: all installed"
        return 0
    fi
    log "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        log "apt package lists are empty: apt-get update"
        apt-get update >&2 || die "apt-get update failed"
    fi
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
        log "apt-get install failed; retrying after apt-get update"
        apt-get update >&2 || die "apt-get update failed"
        apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
            || die "apt-get install ${missing[*]} failed"
    fi
    for p in "${missing[@]}"; do pkg_installed "$p" || die "package $p is still not installed"; done
}

ensure_account() {
    id libvirt-qemu >/dev/null 2>&1 && return 0
    log "creating account libvirt-qemu"
    if getent group kvm >/dev/null; then
        useradd --system --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin \
            --gid kvm libvirt-qemu
    else
        useradd --system --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin \
            --user-group libvirt-qemu
    fi || die "cannot create the libvirt-qemu account"
}

qemu_conf_changed=0
virtlogd_conf_changed=0

write_configs() {
    mkdir -p /etc/libvirt
    if write_if_changed "$QEMU_CONF" <<'EOF'
# Written by nova's tools/setup-host.sh; rewritten on every run.
# Guests run as root without security driver and without cgroup placement: this host
# has no systemd and no libvirt-daemon-system.
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
EOF
    then qemu_conf_changed=1; fi

    if write_if_changed "$VIRTLOGD_CONF" <<EOF
# Written by nova's tools/setup-host.sh; rewritten on every run
# (--virtlogd-max-size / --virtlogd-max-backups).
log_outputs = "3:file:$(daemon_log virtlogd)"
max_size = $max_size
max_backups = $max_backups
EOF
    then virtlogd_conf_changed=1; fi
}

# start_daemon NAME: run "NAME -d" and record it as started by this script.
start_daemon() {
    local name="$1" pid i
    rm -f "/run/$name.pid"
    mark_daemon_log "$name"
    log "starting $name"
    if ! LIBVIRT_LOG_OUTPUTS="3:file:$(daemon_log "$name")" \
            "$name" -d </dev/null >"$STATE_DIR/$name.launch.log" 2>&1; then
        show_daemon_logs "$name"
        die "$name -d failed"
    fi
    for ((i = 0; i < 50; i++)); do
        pid="$(daemon_pid "$name")" && break
        sleep 0.1
    done
    if [ -z "${pid:-}" ]; then
        show_daemon_logs "$name"
        die "$name did not come up (no live pid in /run/$name.pid)"
    fi
    printf '%s %s\n' "$pid" "$(proc_starttime "$pid")" >"$STATE_DIR/$name.started"
    log "$name started, pid $pid"
}

wait_virtlogd() {
    local i
    for ((i = 0; i < VIRTLOGD_WAIT * 10; i++)); do
        if daemon_pid virtlogd >/dev/null && [ -S /run/libvirt/virtlogd-sock ] \
                && [ ! -e /run/libvirt/virtlogd-restart-exec.json ]; then
            return 0
        fi
        sleep 0.1
    done
    show_daemon_logs virtlogd
    die "virtlogd is not up after ${VIRTLOGD_WAIT} s (no /run/libvirt/virtlogd-sock)"
}

wait_libvirtd() {
    local start=$SECONDS
    while ! virsh_answers; do
        if ! daemon_pid libvirtd >/dev/null; then
            show_daemon_logs libvirtd
            die "libvirtd exited before answering virsh -c $VIRSH_URI"
        fi
        if [ $((SECONDS - start)) -ge "$LIBVIRTD_WAIT" ]; then
            show_daemon_logs libvirtd
            die "libvirtd does not answer virsh -c $VIRSH_URI after ${LIBVIRTD_WAIT} s"
        fi
        sleep 0.5
    done
}

reload_virtlogd() {
    local pid i
    pid="$(daemon_pid virtlogd)"
    if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -Eq -- ' (-f|--config)( |=)'; then
        log "WARNING: virtlogd (pid $pid) runs with its own config file, not $VIRTLOGD_CONF: settings not applied"
        return 0
    fi
    log "virtlogd.conf changed: re-exec virtlogd (pid $pid) with SIGUSR1 to apply max_size=$max_size max_backups=$max_backups (open logs are kept)"
    mark_daemon_log virtlogd
    kill -USR1 "$pid"
    # virtlogd writes its state to virtlogd-restart-exec.json, exec()s, and the new image
    # removes the file after it took the state back.
    sleep 0.2
    wait_virtlogd
    [ "$(daemon_pid virtlogd)" = "$pid" ] || { show_daemon_logs virtlogd; die "virtlogd did not survive its re-exec"; }
}

restart_own_libvirtd() {
    local pid i why="${1:-qemu.conf changed}"
    pid="$(daemon_pid libvirtd)"
    log "$why: restarting libvirtd (pid $pid, started by this script); guests keep running"
    kill -TERM "$pid"
    for ((i = 0; i < 150; i++)); do proc_alive "$pid" || break; sleep 0.1; done
    ! proc_alive "$pid" || die "libvirtd (pid $pid) does not exit on SIGTERM"
    rm -f "$STATE_DIR/libvirtd.started"
    start_daemon libvirtd
}

# The s390x guest needs libvirt to list qemu-system-s390x among its guests' emulators.
# s390x_listed: 0 listed, 1 capabilities read and s390x missing, 2 capabilities not read
# (virsh failed or timed out: a busy libvirtd is no reason to restart it).
s390x_listed() {
    local caps
    caps="$(timeout 60 virsh -q -c "$VIRSH_URI" capabilities 2>/dev/null)" || return 2
    grep -q "<arch name='s390x'>" <<<"$caps" && return 0
    return 1
}

# s390x_listed_within SECONDS: ask again (libvirt may still be probing QEMU) until listed.
s390x_listed_within() {
    local deadline=$((SECONDS + $1)) rc
    while :; do
        s390x_listed && return 0
        rc=$?
        ((SECONDS < deadline)) || return "$rc"
        sleep 2
    done
}

ensure_s390x_capability() {
    local rc=0
    [ -x /usr/bin/qemu-system-s390x ] || die "qemu-system-misc is installed but /usr/bin/qemu-system-s390x is missing"
    s390x_listed_within 10 && return 0 || rc=$?
    if [ "$rc" = 2 ]; then
        # Only the s390x tests need it; they say so themselves.
        warn "cannot read virsh capabilities now; not checking for the s390x emulator"
        return 0
    fi
    if started_by_us libvirtd; then
        restart_own_libvirtd "libvirt does not list the s390x emulator"
        wait_libvirtd
        s390x_listed_within 60 ||
            warn "libvirt does not list s390x guests (virsh capabilities) even after a restart: s390x guests will not boot"
    else
        warn "libvirt does not list s390x guests (virsh capabilities) and libvirtd (pid $(daemon_pid libvirtd)) was not started by this script: restart it yourself"
    fi
}

do_setup() {
    local t0=$SECONDS
    install_packages
    ensure_account
    mkdir -p "$LOG_DIR/qemu" /var/lib/libvirt/qemu /var/cache/libvirt/qemu /run/libvirt
    write_configs

    if daemon_pid virtlogd >/dev/null; then
        if [ "$virtlogd_conf_changed" = 1 ]; then
            reload_virtlogd
        else
            log "virtlogd: already running, pid $(daemon_pid virtlogd)"
        fi
    else
        start_daemon virtlogd
    fi
    wait_virtlogd

    if daemon_pid libvirtd >/dev/null; then
        if [ "$qemu_conf_changed" = 1 ]; then
            if started_by_us libvirtd; then
                restart_own_libvirtd
            else
                log "WARNING: $QEMU_CONF changed but libvirtd (pid $(daemon_pid libvirtd)) was not started by this script: restart it yourself to apply it"
            fi
        else
            log "libvirtd: already running, pid $(daemon_pid libvirtd)"
        fi
    else
        start_daemon libvirtd
    fi
    log "waiting for virsh -c $VIRSH_URI to answer"
    wait_libvirtd
    ensure_s390x_capability
    "$TOOLS_DIR/install-web-console.sh" >&2
    log "host ready ($((SECONDS - t0)) s): $(virsh -q -c "$VIRSH_URI" version 2>/dev/null | grep -i 'running hypervisor' | sed 's/^ *//')"

    if [ "$multi_host" = 1 ]; then
        log "multi-host mode: second host and message broker"
        "$TOOLS_DIR/two-hosts.sh" up >&2
        local hosta_addr
        hosta_addr=$("$TOOLS_DIR/two-hosts.sh" env | sed -n 's/^HOSTA_ADDR=//p')
        [ -n "$hosta_addr" ] || die "tools/two-hosts.sh env gave no HOSTA_ADDR"
        "$TOOLS_DIR/setup-rabbitmq.sh" --listen "$hosta_addr" >&2
    fi
    "$TOOLS_DIR/setup-mariadb.sh" >&2  # database of split/multi-host set-ups, tests
    if [ "$print_virt_type" = 1 ]; then
        "$TOOLS_DIR/probe-virt-type.sh"
    fi
}

mkdir -p "$STATE_DIR"
case "$action" in
    setup) do_setup ;;
    stop) do_stop ;;
    status) do_status || exit $? ;;
esac
