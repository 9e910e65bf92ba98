#!/bin/bash
# two-hosts.sh - a second libvirt host "B" on this machine for live-migration tests,
# plus one rsync daemon per host for copying instance files (console logs) between hosts.
#
# Usage:
#   tools/two-hosts.sh up
#   tools/two-hosts.sh down [--force]
#   tools/two-hosts.sh status
#   tools/two-hosts.sh env
#
# Host A is this machine's own libvirtd + virtlogd (root namespaces), as set up by
# tools/setup-host.sh; "up" runs that script first unless "setup-host.sh --status" says
# host A is already up (then host A is not touched at all: its daemons are never
# restarted or signalled, and /etc/libvirt/*.conf are never written by this script).
# Host B is a second libvirtd + virtlogd in their own network and mount namespaces:
#
#   root netns (host A)                         netns nova-hostb (host B)
#   nvA 192.168.251.1/24  <----- veth ----->    nvB 192.168.251.2/24, lo up
#   libvirtd, virtlogd (/run/*.pid)             libvirtd, virtlogd in a private mount
#   rsync daemon 192.168.251.1:873              namespace with bind mounts
#                                                 /srv/nova-hostb/etc/libvirt   -> /etc/libvirt
#                                                 /srv/nova-hostb/run/libvirt   -> /run/libvirt
#                                                 /srv/nova-hostb/lib/libvirt   -> /var/lib/libvirt
#                                                 /srv/nova-hostb/log/libvirt   -> /var/log/libvirt
#                                                 /srv/nova-hostb/cache/libvirt -> /var/cache/libvirt
#                                               (pid files /srv/nova-hostb/run/libvirt/*.pid)
#                                               rsync daemon 192.168.251.2:873
#
# Only 192.168.251.1, 192.168.251.2 and loopback are ever used: IPv6 is disabled on the
# veth pair (no link-local or multicast traffic), the netns has no default route, and the
# rsync daemons do no reverse DNS look-ups.
#
# up      idempotent; from scratch about 1.5 s (B's QEMU capabilities cache is seeded from
#         A's; about 10 s when B's libvirtd must probe QEMU itself), again about 1 s:
#         * host A: tools/setup-host.sh (only when it is not up), packages iproute2 rsync
#         * netns nova-hostb, veth nvA <-> nvB with the addresses above
#         * host B's config in /srv/nova-hostb/etc/libvirt: libvirtd.conf with its own
#           host_uuid (random, kept across "up" runs until "down"; libvirt refuses to migrate
#           between hosts with one UUID, and host A derives its UUID from SMBIOS, or, where
#           /sys/class/dmi/id/product_uuid is missing as here, makes a random one at each
#           start: B's is checked to differ from A's), qemu.conf (user/group root,
#           security_driver none, cgroup_controllers [ ], migration_host and
#           migration_address 192.168.251.2), virtlogd.conf copied from host A's (same
#           max_size/max_backups).  A changed virtlogd.conf re-execs B's virtlogd (SIGUSR1,
#           open logs are kept); a changed libvirtd.conf/qemu.conf restarts B's libvirtd
#           (guests keep running).
#         * starts B's virtlogd and libvirtd (daemon logs /srv/nova-hostb/log/libvirt/)
#         * instances dirs /var/lib/nova-hosta/instances and /var/lib/nova-hostb/instances:
#           plain dirs in the root filesystem, seen alike from both hosts; give each host's
#           Nova driver its own one as instances_path
#         * rsync daemons, module "nova-instances" = that host's instances dir, write only,
#           bound to the host's address only, hosts allow the two addresses, use chroot,
#           uid/gid root, munge symlinks, filter: only <uuid>/console.log and
#           <uuid>/console.log.<0-99> (and the <uuid> folder), incoming chmod D700,F600,
#           every option refused but recursive/times/timeout, timeout 30 s, max
#           connections 4 per module (the real bound: rsync's timeout does not cut
#           a silent connection), and a login:
#           auth users "nova" with a password of its own per host (random, kept across
#           "up" runs until "down"): the daemon's secrets file
#           /srv/nova-hostb/state/rsyncd-{a,b}.secrets, the clients' password files
#           /srv/nova-hostb/state/rsync-password/<host address> (all 0600, root);
#           and, to inject faults into log copies, "nova-instances-readonly" (same
#           folder, writes refused) and "nova-instances-full" (a 64 KiB tmpfs), with the
#           same login.  E.g. (lands in B's instances/x/):
#             rsync --password-file=/srv/nova-hostb/state/rsync-password/192.168.251.2 \
#                 f rsync://nova@192.168.251.2/nova-instances/x/
# down [--force]
#         stops everything "up" created (B's daemons, both rsync daemons, veth, netns,
#         /srv/nova-hostb, the instances dirs it created) and leaves host A's libvirtd and
#         virtlogd alone.  Refuses (exit 1) while host B still runs guests; --force destroys
#         them first.  An instances dir that a process still has a file open in is kept.
# status  report on stdout; exit 0 when everything is up, else 3.
# env     shell-sourceable variables on stdout (eval "$(tools/two-hosts.sh env)"):
#           HOSTA_URI / HOSTB_URI        libvirt URIs from the root namespace (the tests and
#                                        host A's libvirtd use HOSTB_URI as dconnuri A->B)
#           HOSTB_TO_HOSTA_URI           host A as host B's libvirtd reaches it (dconnuri
#                                        B->A): through /proc/<A's libvirtd pid>/root, so it
#                                        changes when host A's libvirtd restarts
#           HOSTA_ADDR / HOSTB_ADDR, HOSTA_MIGRATE_URI / HOSTB_MIGRATE_URI, HOSTA_INSTANCES /
#           HOSTB_INSTANCES, HOSTB_NETNS, HOSTB_ROOT, HOSTB_HOST_UUID, RSYNC_PORT,
#           RSYNC_MODULE, RSYNC_TIMEOUT, RSYNC_MAX_CONNECTIONS, HOSTA_RSYNC_URL / HOSTB_RSYNC_URL, RSYNC_USER,
#           HOSTA_RSYNC_PASSWORD_FILE / HOSTB_RSYNC_PASSWORD_FILE, and
#           RSYNC_PASSWORD_FILE: the same with "%(dest)s" for the address (the
#           value of nova's [libvirt] console_log_rsync_password_file)
#
# Migrating: dom.migrateToURI3(dconnuri, params, VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER |
# VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE), with VIR_MIGRATE_PARAM_DEST_XML
# pointing the serial port and its <log file> at the destination (address, port, instances
# dir).  A->B: dconnuri HOSTB_URI; B's qemu.conf migration_host makes B offer
# tcp://192.168.251.2 (HOSTB_MIGRATE_URI may be given as VIR_MIGRATE_PARAM_URI too).
# B->A: dconnuri HOSTB_TO_HOSTA_URI on a connection to HOSTB_URI, and it NEEDS
# VIR_MIGRATE_PARAM_URI = HOSTA_MIGRATE_URI (tcp://192.168.251.1), plus
# VIR_MIGRATE_PARAM_LISTEN_ADDRESS = HOSTA_ADDR to keep A's incoming QEMU off other
# addresses: host A's qemu.conf has no migration_host (setup-host.sh owns that file, and
# host A must not be restarted), so without the URI A would offer its hostname.
#
# stdout: nothing, except the reports of status and env.
# stderr: progress messages; on failure an "ERROR:" line (plus log tails for a daemon that
#         does not come up).
# Exit codes: 0 success, 1 failure, 2 bad usage, 3 (status only) not fully up.
# State: /srv/nova-hostb/state/: rsync daemon configs, secrets, pid files and logs, the
#        clients' password files, daemon launch output, the list of paths "up" created.  Runs of up/down are serialised (flock on
#        this script).
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH
TOOLS_DIR="$(dirname "$SCRIPT_PATH")"
readonly TOOLS_DIR

readonly NETNS=nova-hostb
readonly NETNS_PATH=/run/netns/$NETNS
readonly VETH_A=nvA VETH_B=nvB
readonly ADDR_A=192.168.251.1 ADDR_B=192.168.251.2 NET_PREFIX=24 NET_CIDR=192.168.251.0/24
readonly HOSTB_ROOT=/srv/nova-hostb
readonly STATE_DIR=$HOSTB_ROOT/state
readonly MARKER=$HOSTB_ROOT/.made-by-two-hosts
readonly CREATED_LIST=$STATE_DIR/created
readonly HOSTA_INSTANCES=/var/lib/nova-hosta/instances
readonly HOSTB_INSTANCES=/var/lib/nova-hostb/instances
readonly HOSTA_URI=qemu:///system
readonly HOSTB_RUN=$HOSTB_ROOT/run/libvirt
readonly HOSTB_URI="qemu+unix:///system?socket=$HOSTB_RUN/libvirt-sock"
readonly HOSTB_ETC=$HOSTB_ROOT/etc/libvirt
readonly HOSTB_LOG=$HOSTB_ROOT/log/libvirt
readonly HOSTA_VIRTLOGD_CONF=/etc/libvirt/virtlogd.conf
readonly RSYNC_PORT=873
readonly RSYNC_MODULE=nova-instances
readonly RSYNC_USER=nova
readonly RSYNC_PASSWORD_DIR=$STATE_DIR/rsync-password
readonly PACKAGES=(iproute2 rsync)
readonly LIBVIRTD_WAIT=90   # s; B's first libvirtd start probes QEMU (about 8 s)
readonly DAEMON_WAIT=20     # s; virtlogd, rsync
readonly RSYNC_TIMEOUT=30   # s; rsync's I/O timeout once a transfer runs
readonly RSYNC_MAX_CONNECTIONS=4  # per module, counted from naming it (lock file)

# State-root subdir -> mount point inside host B's mount namespace.
readonly -A BIND_MOUNTS=(
    [etc/libvirt]=/etc/libvirt
    [run/libvirt]=/run/libvirt
    [lib/libvirt]=/var/lib/libvirt
    [log/libvirt]=/var/log/libvirt
    [cache/libvirt]=/var/cache/libvirt
)

log() { printf 'two-hosts: %s\n' "$*" >&2; }
warn() { printf 'two-hosts: WARNING: %s\n' "$*" >&2; }
die() { printf 'two-hosts: ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/common.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"
usage() {
    sed -n '5,9p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# --- arguments --------------------------------------------------------------------------------
[ $# -ge 1 ] || usage
action="$1"; shift
force=0
case "$action" in
    up|status|env) [ $# -eq 0 ] || usage ;;
    down)
        while [ $# -gt 0 ]; do
            case "$1" in
                --force) force=1; shift ;;
                *) usage ;;
            esac
        done ;;
    -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    *) printf 'two-hosts: unknown action: %s\n' "$action" >&2; usage ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root"

# --- processes and namespaces ------------------------------------------------------------------

# Inode of a namespace file (/proc/PID/ns/net, /run/netns/NAME); empty when it is missing.
ns_inode() { stat -L -c %i "$1" 2>/dev/null || true; }

MY_NETNS="$(ns_inode /proc/$$/ns/net)"
MY_MNTNS="$(ns_inode /proc/$$/ns/mnt)"
readonly MY_NETNS MY_MNTNS

netns_present() {
    [ -e "$NETNS_PATH" ] && [ -n "$(ns_inode "$NETNS_PATH")" ] \
        && [ "$(ns_inode "$NETNS_PATH")" != "$MY_NETNS" ]
}

# pid_from_file FILE COMM: the live pid recorded in FILE whose command name is COMM.
pid_from_file() {
    local pid
    pid="$(cat "$1" 2>/dev/null)" || return 1
    pid="${pid//[[:space:]]/}"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
    proc_alive "$pid" || return 1
    printf '%s\n' "$pid"
}

# Host A's daemon NAME (libvirtd or virtlogd), from its default pid file.
hosta_pid() { pid_from_file "/run/$1.pid" "$1"; }

# Host B's daemon NAME: pid file in B's run dir, and it runs in netns nova-hostb and in a
# mount namespace other than ours.
hostb_pid() {
    local pid
    pid="$(pid_from_file "$HOSTB_RUN/$1.pid" "$1")" || return 1
    netns_present || return 1
    [ "$(ns_inode "/proc/$pid/ns/net")" = "$(ns_inode "$NETNS_PATH")" ] || return 1
    [ "$(ns_inode "/proc/$pid/ns/mnt")" != "$MY_MNTNS" ] || return 1
    printf '%s\n' "$pid"
}

# rsync daemon of host H (a or b): pid file in the state dir, and in that host's netns.
rsync_pid() {
    local h="$1" pid want
    pid="$(pid_from_file "$STATE_DIR/rsyncd-$h.pid" rsync)" || return 1
    if [ "$h" = a ]; then want="$MY_NETNS"; else want="$(ns_inode "$NETNS_PATH")"; fi
    [ -n "$want" ] && [ "$(ns_inode "/proc/$pid/ns/net")" = "$want" ] || return 1
    printf '%s\n' "$pid"
}

# Every process in netns nova-hostb, one "PID COMM" per line.
netns_processes() {
    local ino p
    netns_present || return 0
    ino="$(ns_inode "$NETNS_PATH")"
    for p in /proc/[0-9]*; do
        [ "$(ns_inode "$p/ns/net")" = "$ino" ] || continue
        proc_alive "${p#/proc/}" || continue
        printf '%s %s\n' "${p#/proc/}" "$(cat "$p/comm" 2>/dev/null)"
    done
}

# Bind mounts, then exec "$@"; run by sh inside a new private mount namespace.
# shellcheck disable=SC2016
MOUNT_SCRIPT='set -e
root=$1; shift
while [ "$1" != -- ]; do
    mount --bind "$root/$1" "$2"
    shift 2
done
shift
exec "$@"'
readonly MOUNT_SCRIPT

# hostb_run CMD...: run CMD in host B's network and mount namespaces: the mount namespace
# of B's running daemons, or a new one (with the bind mounts) when none runs.
hostb_run() {
    local pid sub mounts=()
    if pid="$(hostb_pid virtlogd)" || pid="$(hostb_pid libvirtd)"; then
        nsenter --target "$pid" --mount --net -- "$@"
    else
        for sub in "${!BIND_MOUNTS[@]}"; do mounts+=("$sub" "${BIND_MOUNTS[$sub]}"); done
        nsenter --net="$NETNS_PATH" unshare --mount --propagation private -- \
            sh -c "$MOUNT_SCRIPT" sh "$HOSTB_ROOT" "${mounts[@]}" -- "$@"
    fi
}

# --- virsh helpers -----------------------------------------------------------------------------
virsh_q() { local uri="$1"; shift; timeout 20 virsh -q -c "$uri" "$@"; }

# The host UUID that libvirt at URI reports; empty when it does not answer.
host_uuid_of() {
    local caps
    caps="$(virsh_q "$1" capabilities 2>/dev/null)" || return 0
    sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' <<<"$caps" | head -n1
}

hostb_to_hosta_uri() {
    local pid
    pid="$(hosta_pid libvirtd)" || return 1
    printf 'qemu+unix:///system?socket=/proc/%s/root/run/libvirt/libvirt-sock\n' "$pid"
}

configured_hostb_uuid() {
    [ -f "$HOSTB_ETC/libvirtd.conf" ] || return 0
    sed -n 's/^host_uuid *= *"\([0-9a-fA-F-]*\)".*/\1/p' "$HOSTB_ETC/libvirtd.conf" | head -n1
}

rsync_probe() {
    # rsync_probe ADDR [in-netns]: the daemon at ADDR lists the module
    local addr="$1" pre=() out
    if [ "${2:-}" = in-netns ]; then pre=(nsenter --net="$NETNS_PATH"); fi
    out="$("${pre[@]}" timeout 10 rsync --contimeout=5 "rsync://$addr:$RSYNC_PORT/" 2>/dev/null)" \
        || return 1
    grep -q "^$RSYNC_MODULE\b" <<<"$out"
}

# --- files -------------------------------------------------------------------------------------

# make_dir DIR: mkdir -p, recording in the state dir the topmost directory it created.
make_dir() {
    local dir="$1" top="$1"
    [ -d "$dir" ] && return 0
    while [ ! -e "$(dirname "$top")" ]; do top="$(dirname "$top")"; done
    mkdir -p "$dir"
    grep -qxF "$top" "$CREATED_LIST" 2>/dev/null || printf '%s\n' "$top" >>"$CREATED_LIST"
    log "created $dir"
}

# Succeeds when some process has a file under DIR open (or it as its cwd).
dir_in_use() {
    local hit
    hit="$(find /proc/[0-9]*/fd /proc/[0-9]*/cwd -maxdepth 1 \
           \( -lname "$1" -o -lname "$1/*" \) -print -quit 2>/dev/null || true)"
    [ -n "$hit" ]
}

declare -A LOG_OFFSET=()
mark_log() { LOG_OFFSET[$1]="$(stat -c %s "$1" 2>/dev/null || echo 0)"; }
show_logs() {
    # show_logs FILE...: the tail of each, from the offset mark_log recorded
    local f
    for f in "$@"; do
        [ -s "$f" ] || continue
        printf -- '----- last lines written to %s -----\n' "$f" >&2
        tail -c +"$(( ${LOG_OFFSET[$f]:-0} + 1 ))" "$f" | tail -n 25 >&2
    done
}

# =============================================================================================
# up
# =============================================================================================

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
        log "apt-get install failed; retrying after apt-get update"
        apt-get update >&2 || die "apt-get update failed"
        apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
            || die "apt-get install ${missing[*]} failed"
    fi
}

ensure_hosta() {
    local args=() v
    if "$TOOLS_DIR/setup-host.sh" --status >/dev/null 2>&1 9<&-; then
        log "host A: libvirtd and virtlogd up (setup-host.sh --status), not touching them"
        return 0
    fi
    # Keep host A's current virtlogd limits: setup-host.sh would otherwise write its defaults.
    if [ -f "$HOSTA_VIRTLOGD_CONF" ]; then
        v="$(sed -n 's/^max_size *= *\([0-9][0-9]*\).*/\1/p' "$HOSTA_VIRTLOGD_CONF" | tail -n1)"
        [ -n "$v" ] && args+=(--virtlogd-max-size "$v")
        v="$(sed -n 's/^max_backups *= *\([0-9][0-9]*\).*/\1/p' "$HOSTA_VIRTLOGD_CONF" | tail -n1)"
        [ -n "$v" ] && args+=(--virtlogd-max-backups "$v")
    fi
    log "host A: not fully up; running tools/setup-host.sh ${args[*]}"
    "$TOOLS_DIR/setup-host.sh" "${args[@]}" </dev/null >&2 9<&- || die "tools/setup-host.sh failed"
}

ensure_state_root() {
    if [ -e "$HOSTB_ROOT" ] && [ ! -e "$MARKER" ]; then
        [ -d "$HOSTB_ROOT" ] && [ -z "$(ls -A "$HOSTB_ROOT")" ] \
            || die "$HOSTB_ROOT exists but was not made by this script: move it away first"
    fi
    mkdir -p "$STATE_DIR"
    : >"$MARKER"
    local sub
    for sub in "${!BIND_MOUNTS[@]}"; do mkdir -p "$HOSTB_ROOT/$sub"; done
    mkdir -p "$HOSTB_ROOT/lib/libvirt/qemu" "$HOSTB_LOG/qemu" "$HOSTB_ROOT/cache/libvirt/qemu"
}

ensure_network() {
    local other
    # The /24 must not be in use elsewhere in the root namespace.
    other="$(ip -4 -o addr show to "$NET_CIDR" | awk -v d="$VETH_A" '$2 != d {print $2 ": " $4}')"
    [ -z "$other" ] || die "$NET_CIDR is already used here ($other)"
    other="$(ip -4 route show "$NET_CIDR" | grep -v "dev $VETH_A\b" || true)"
    [ -z "$other" ] || die "a route for $NET_CIDR exists already: $other"

    if ! netns_present; then
        if [ -e "$NETNS_PATH" ]; then
            die "$NETNS_PATH exists but is not a network namespace: remove it (ip netns del $NETNS)"
        fi
        [ -d /run/netns ] || printf '%s\n' /run/netns >>"$CREATED_LIST"
        log "creating netns $NETNS"
        ip netns add "$NETNS" || die "ip netns add $NETNS failed"
    fi
    if ip link show "$VETH_A" >/dev/null 2>&1; then
        ip -n "$NETNS" link show "$VETH_B" >/dev/null 2>&1 \
            || die "$VETH_A exists but its peer $VETH_B is not in netns $NETNS: ip link del $VETH_A"
    else
        log "creating veth $VETH_A <-> $VETH_B (in $NETNS)"
        ip link add "$VETH_A" type veth peer name "$VETH_B" netns "$NETNS" \
            || die "cannot create veth pair $VETH_A/$VETH_B"
    fi
    # No IPv6 on the pair: no link-local addresses, no multicast neighbour discovery.
    if [ -e "/proc/sys/net/ipv6/conf/$VETH_A/disable_ipv6" ]; then
        echo 1 >"/proc/sys/net/ipv6/conf/$VETH_A/disable_ipv6"
    fi
    nsenter --net="$NETNS_PATH" sh -c "f=/proc/sys/net/ipv6/conf/$VETH_B/disable_ipv6
        if [ -e \$f ]; then echo 1 >\$f; fi"
    ip addr replace "$ADDR_A/$NET_PREFIX" dev "$VETH_A"
    ip -n "$NETNS" addr replace "$ADDR_B/$NET_PREFIX" dev "$VETH_B"
    ip link set "$VETH_A" up
    ip -n "$NETNS" link set lo up
    ip -n "$NETNS" link set "$VETH_B" up
}

hostb_libvirtd_conf_changed=0
hostb_virtlogd_conf_changed=0

write_hostb_configs() {
    local hosta_uuid uuid
    hosta_uuid="$(host_uuid_of "$HOSTA_URI")"
    [ -n "$hosta_uuid" ] || die "cannot read host A's host UUID (virsh -c $HOSTA_URI capabilities)"
    uuid="$(configured_hostb_uuid)"
    if [ -z "$uuid" ] || [ "${uuid,,}" = "${hosta_uuid,,}" ]; then
        [ -n "$uuid" ] && warn "host B's host_uuid equals host A's ($hosta_uuid): choosing a new one"
        uuid="$(cat /proc/sys/kernel/random/uuid)"
        while [ "${uuid,,}" = "${hosta_uuid,,}" ]; do uuid="$(cat /proc/sys/kernel/random/uuid)"; done
    fi

    if write_if_changed "$HOSTB_ETC/libvirtd.conf" <<EOF
# Host B of nova's tools/two-hosts.sh (rewritten by "up").  Its own host UUID: libvirt
# refuses to migrate between hosts with one UUID.
host_uuid = "$uuid"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
    then hostb_libvirtd_conf_changed=1; fi

    if write_if_changed "$HOSTB_ETC/qemu.conf" <<EOF
# Host B of nova's tools/two-hosts.sh (rewritten by "up").
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
# Incoming migrations: offered to the source as tcp://$ADDR_B, listened for there only.
migration_host = "$ADDR_B"
migration_address = "$ADDR_B"
EOF
    then hostb_libvirtd_conf_changed=1; fi

    [ -f "$HOSTA_VIRTLOGD_CONF" ] || die "host A has no $HOSTA_VIRTLOGD_CONF (tools/setup-host.sh writes it)"
    if write_if_changed "$HOSTB_ETC/virtlogd.conf" <"$HOSTA_VIRTLOGD_CONF"; then
        hostb_virtlogd_conf_changed=1
    fi
}

# start_hostb_daemon NAME: "NAME -d" inside host B's namespaces.
start_hostb_daemon() {
    local name="$1" pid i dlog="$HOSTB_LOG/$1.log" launch="$STATE_DIR/hostb-$1.launch.log"
    rm -f "$HOSTB_RUN/$name.pid"
    mark_log "$dlog"
    log "host B: starting $name"
    if ! hostb_run "$name" -d -p "/run/libvirt/$name.pid" </dev/null >"$launch" 2>&1 9<&-; then
        show_logs "$launch" "$dlog"
        die "host B: $name -d failed"
    fi
    for ((i = 0; i < 50; i++)); do
        pid="$(hostb_pid "$name")" && break
        sleep 0.1
    done
    if [ -z "${pid:-}" ]; then
        show_logs "$launch" "$dlog"
        die "host B: $name did not come up (no live pid in $HOSTB_RUN/$name.pid)"
    fi
    log "host B: $name started, pid $pid"
}

wait_hostb_virtlogd() {
    local i
    for ((i = 0; i < DAEMON_WAIT * 10; i++)); do
        if hostb_pid virtlogd >/dev/null && [ -S "$HOSTB_RUN/virtlogd-sock" ] \
                && [ ! -e "$HOSTB_RUN/virtlogd-restart-exec.json" ]; then
            return 0
        fi
        sleep 0.1
    done
    show_logs "$HOSTB_LOG/virtlogd.log"
    die "host B: virtlogd is not up after $DAEMON_WAIT s (no $HOSTB_RUN/virtlogd-sock)"
}

wait_hostb_libvirtd() {
    local start=$SECONDS
    until virsh_q "$HOSTB_URI" version >/dev/null 2>&1; do
        if ! hostb_pid libvirtd >/dev/null; then
            show_logs "$STATE_DIR/hostb-libvirtd.launch.log" "$HOSTB_LOG/libvirtd.log"
            die "host B: libvirtd exited before answering virsh -c '$HOSTB_URI'"
        fi
        if [ $((SECONDS - start)) -ge "$LIBVIRTD_WAIT" ]; then
            show_logs "$HOSTB_LOG/libvirtd.log"
            die "host B: libvirtd does not answer virsh -c '$HOSTB_URI' after $LIBVIRTD_WAIT s"
        fi
        sleep 0.3
    done
}

ensure_hostb_daemons() {
    local pid procs
    procs="$(netns_processes)"
    if ! hostb_pid virtlogd >/dev/null && ! hostb_pid libvirtd >/dev/null \
            && ! grep -q ' qemu' <<<"$procs"; then
        # Nothing of host B runs: its run dir holds only leftovers (as after a reboot).
        find "$HOSTB_RUN" -mindepth 1 -delete
        # Seed B's QEMU capabilities cache from A's; libvirtd validates it (QEMU binary,
        # libvirt and kernel versions, host CPU) and probes anew when it does not fit.
        if [ -z "$(ls -A "$HOSTB_ROOT/cache/libvirt/qemu")" ] \
                && [ -d /var/cache/libvirt/qemu/capabilities ]; then
            cp -a /var/cache/libvirt/qemu/capabilities "$HOSTB_ROOT/cache/libvirt/qemu/"
        fi
    fi

    if pid="$(hostb_pid virtlogd)"; then
        if [ "$hostb_virtlogd_conf_changed" = 1 ]; then
            log "host B: virtlogd.conf changed: re-exec virtlogd (pid $pid) with SIGUSR1 (open logs are kept)"
            mark_log "$HOSTB_LOG/virtlogd.log"
            kill -USR1 "$pid"
            sleep 0.2
            wait_hostb_virtlogd
            [ "$(hostb_pid virtlogd)" = "$pid" ] \
                || { show_logs "$HOSTB_LOG/virtlogd.log"; die "host B: virtlogd did not survive its re-exec"; }
        else
            log "host B: virtlogd running, pid $pid"
        fi
    else
        start_hostb_daemon virtlogd
    fi
    wait_hostb_virtlogd

    if pid="$(hostb_pid libvirtd)"; then
        if [ "$hostb_libvirtd_conf_changed" = 1 ]; then
            log "host B: libvirtd.conf/qemu.conf changed: restarting libvirtd (guests keep running)"
            stop_pid "$pid" "host B libvirtd"
            start_hostb_daemon libvirtd
        else
            log "host B: libvirtd running, pid $pid"
        fi
    else
        start_hostb_daemon libvirtd
    fi
    log "host B: waiting for virsh -c '$HOSTB_URI' to answer"
    wait_hostb_libvirtd
}

check_hostb() {
    local a b want to_a
    a="$(host_uuid_of "$HOSTA_URI")"
    b="$(host_uuid_of "$HOSTB_URI")"
    want="$(configured_hostb_uuid)"
    [ -n "$a" ] && [ -n "$b" ] || die "cannot read the host UUIDs (A: '$a', B: '$b')"
    [ "${b,,}" = "${want,,}" ] || die "host B's libvirtd reports host UUID $b, not its configured $want"
    [ "${a,,}" != "${b,,}" ] || die "hosts A and B have one host UUID ($a): migration would be refused"
    to_a="$(hostb_to_hosta_uri)" || die "host A's libvirtd is not running"
    hostb_run timeout 20 virsh -q -c "$to_a" version >/dev/null 2>&1 9<&- \
        || die "host B's namespaces cannot reach host A's libvirtd as '$to_a'"
    log "host UUIDs: A $a, B $b; host B reaches host A as $to_a"
}

# ensure_rsync_password ADDR: the clients' password file for the daemon at ADDR (made once,
# random, 0600); prints its path.
ensure_rsync_password() {
    local file="$RSYNC_PASSWORD_DIR/$1"
    (umask 077; mkdir -p "$RSYNC_PASSWORD_DIR")
    if [ ! -s "$file" ]; then
        (umask 077
         printf '%s\n' "$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')" >"$file.new"
         mv -f "$file.new" "$file")
        log "rsync: new password for the daemon at $1 in $file"
    fi
    chmod 600 "$file"
    printf '%s\n' "$file"
}

# write_secrets H ADDR: the daemon's secrets file "user:password" (0600); succeeds when it
# changed.
write_secrets() {
    local file="$STATE_DIR/rsyncd-$1.secrets" password tmp
    password="$(head -n1 "$(ensure_rsync_password "$2")")"
    tmp="$(umask 077; mktemp "$file.new.XXXXXX")"
    printf '%s:%s\n' "$RSYNC_USER" "$password" >"$tmp"
    chmod 600 "$tmp"
    if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        return 1
    fi
    mv -f "$tmp" "$file"
    return 0
}

# UUID_GLOB: rsync wildcard for a canonical (lowercase) instance uuid.
UUID_GLOB="$(h='[0-9a-f]'; h4="$h$h$h$h"; printf '%s' "$h4$h4-$h4-$h4-$h4-$h4$h4$h4")"
readonly UUID_GLOB

rsync_conf() {
    local h="$1" addr="$2" dir="$3"
    cat <<EOF
# rsync daemon of host ${h^^} for nova's tools/two-hosts.sh (rewritten by "up").
# Bound to the host's migration address, the two hosts only; every module needs the login of
# user $RSYNC_USER (secrets file, 0600) and takes nothing but console logs: write only,
# only <uuid>/console.log and <uuid>/console.log.<0-99> (virtlogd max_backups), no folder
# below <uuid> (one named console.log would replace the log: "- /*/*/", a trailing slash
# matches folders only, comes first), made
# 0600/0700 whatever the client asks, every option refused but the three the log copy
# sends, at most $RSYNC_MAX_CONNECTIONS connections a module (rsync's timeout does not
# cut a silent connection: max connections is the bound).
address = $addr
port = $RSYNC_PORT
pid file = $STATE_DIR/rsyncd-$h.pid
log file = $STATE_DIR/rsyncd-$h.log
lock file = $STATE_DIR/rsyncd-$h.lock
reverse lookup = no
hosts allow = $ADDR_A $ADDR_B
hosts deny = *
auth users = $RSYNC_USER
secrets file = $STATE_DIR/rsyncd-$h.secrets
strict modes = yes
use chroot = yes
munge symlinks = yes
write only = yes
incoming chmod = D700,F600
refuse options = * !recursive !times !timeout
filter = - /*/*/ + /$UUID_GLOB + /$UUID_GLOB/console.log + /$UUID_GLOB/console.log.[0-9] + /$UUID_GLOB/console.log.[1-9][0-9] - *
timeout = $RSYNC_TIMEOUT
max connections = $RSYNC_MAX_CONNECTIONS
uid = root
gid = root

[$RSYNC_MODULE]
    comment = host ${h^^} instances dir
    path = $dir
    read only = false

# Fault injection for the log-copy tests: the same folder refusing writes
# (permission denied), and a 64 KiB file system (disk full).
[$RSYNC_MODULE-readonly]
    path = $dir
    read only = true

[$RSYNC_MODULE-full]
    path = $STATE_DIR/full-$h
    read only = false
EOF
}

# ensure_full_fs H: the tiny tmpfs behind module $RSYNC_MODULE-full.
ensure_full_fs() {
    local dir="$STATE_DIR/full-$1"
    mkdir -p "$dir"
    mountpoint -q "$dir" || mount -t tmpfs -o size=64k,mode=0755 tmpfs "$dir" \
        || die "cannot mount the 64 KiB tmpfs on $dir"
}

drop_full_fs() {
    local dir="$STATE_DIR/full-$1"
    if mountpoint -q "$dir" 2>/dev/null; then umount "$dir" || warn "umount $dir failed"; fi
}

# ensure_rsync H ADDR DIR
ensure_rsync() {
    local h="$1" addr="$2" dir="$3" conf="$STATE_DIR/rsyncd-$1.conf" changed=0 pid i
    local launch="$STATE_DIR/rsyncd-$h.launch.log" pre=() busy
    if rsync_conf "$h" "$addr" "$dir" | write_if_changed "$conf"; then changed=1; fi
    if write_secrets "$h" "$addr"; then changed=1; fi
    [ "$h" = b ] && pre=(nsenter --net="$NETNS_PATH")
    if pid="$(rsync_pid "$h")"; then
        if [ "$changed" = 0 ]; then
            log "rsync daemon of host ${h^^}: running, pid $pid"
            return 0
        fi
        stop_pid "$pid" "rsync daemon of host ${h^^} (config changed)"
    fi
    busy="$("${pre[@]}" ss -ltnpH "sport = :$RSYNC_PORT" 2>/dev/null | awk '{print $4, $6}' \
            | grep -E "^(0\.0\.0\.0|\*|\[::\]|$addr):" || true)"
    [ -z "$busy" ] || die "port $RSYNC_PORT is taken on host ${h^^} ($busy)"
    rm -f "$STATE_DIR/rsyncd-$h.pid"
    mark_log "$STATE_DIR/rsyncd-$h.log"
    log "rsync daemon of host ${h^^}: starting on $addr:$RSYNC_PORT, module $RSYNC_MODULE = $dir"
    if ! "${pre[@]}" rsync --daemon --config="$conf" </dev/null >"$launch" 2>&1 9<&-; then
        show_logs "$launch" "$STATE_DIR/rsyncd-$h.log"
        die "rsync --daemon for host ${h^^} failed"
    fi
    for ((i = 0; i < DAEMON_WAIT * 10; i++)); do
        pid="$(rsync_pid "$h")" && break
        sleep 0.1
    done
    if [ -z "${pid:-}" ]; then
        show_logs "$launch" "$STATE_DIR/rsyncd-$h.log"
        die "rsync daemon of host ${h^^} did not come up"
    fi
}

check_rsync() {
    local i
    for ((i = 0; i < 50; i++)); do
        rsync_probe "$ADDR_A" && rsync_probe "$ADDR_B" && rsync_probe "$ADDR_A" in-netns && return 0
        sleep 0.1
    done
    show_logs "$STATE_DIR/rsyncd-a.log" "$STATE_DIR/rsyncd-b.log"
    die "the rsync daemons do not both list module $RSYNC_MODULE (rsync://$ADDR_A/, rsync://$ADDR_B/)"
}

do_up() {
    local t0=$SECONDS
    ensure_hosta
    install_packages
    ensure_state_root
    ensure_network
    write_hostb_configs
    ensure_hostb_daemons
    check_hostb
    make_dir "$HOSTA_INSTANCES"
    make_dir "$HOSTB_INSTANCES"
    ensure_full_fs a
    ensure_full_fs b
    ensure_rsync a "$ADDR_A" "$HOSTA_INSTANCES"
    ensure_rsync b "$ADDR_B" "$HOSTB_INSTANCES"
    check_rsync
    log "two hosts up ($((SECONDS - t0)) s): A $ADDR_A ($HOSTA_URI), B $ADDR_B ($HOSTB_URI); eval \"\$($SCRIPT_PATH env)\""
}

# =============================================================================================
# down
# =============================================================================================
do_down() {
    local pid guests g leftovers name h top
    if pid="$(hostb_pid libvirtd)"; then
        if guests="$(virsh_q "$HOSTB_URI" list --name 2>/dev/null)"; then
            guests="$(sed '/^$/d' <<<"$guests")"
        elif [ "$force" = 1 ]; then
            warn "host B's libvirtd does not answer: cannot list its guests"
            guests=""
        else
            die "host B's libvirtd (pid $pid) does not answer, so its guests are unknown: use down --force"
        fi
        if [ -n "$guests" ]; then
            [ "$force" = 1 ] || die "host B still runs guests ($(tr '\n' ' ' <<<"$guests" | sed 's/ $//')): destroy them first, or use down --force"
            while read -r g; do
                log "host B: destroying guest $g"
                virsh_q "$HOSTB_URI" destroy "$g" >/dev/null || warn "virsh destroy $g failed"
            done <<<"$guests"
        fi
    fi
    for name in libvirtd virtlogd; do
        if pid="$(hostb_pid "$name")"; then stop_pid "$pid" "host B $name"; fi
    done
    for h in a b; do
        if pid="$(rsync_pid "$h")"; then stop_pid "$pid" "rsync daemon of host ${h^^}"; fi
        drop_full_fs "$h"
    done

    leftovers="$(netns_processes)"
    if [ -n "$leftovers" ]; then
        [ "$force" = 1 ] || die "processes still run in netns $NETNS: $(tr '\n' ',' <<<"$leftovers" | sed 's/,$//'); use down --force to end them"
        while read -r pid name; do stop_pid "$pid" "$name (left in netns $NETNS)"; done <<<"$leftovers"
    fi

    if ip link show "$VETH_A" >/dev/null 2>&1; then
        log "deleting veth $VETH_A <-> $VETH_B"
        ip link del "$VETH_A"
    fi
    if [ -e "$NETNS_PATH" ]; then
        log "deleting netns $NETNS"
        ip netns del "$NETNS" || die "ip netns del $NETNS failed"
    fi

    local kept=()
    if [ -f "$CREATED_LIST" ]; then
        while read -r top; do
            [ -n "$top" ] || continue
            if [ "$top" = /run/netns ]; then
                # made by "ip netns add" (a bind mount of itself); only when nothing is left
                if [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
                    umount /run/netns 2>/dev/null || true
                    rmdir /run/netns 2>/dev/null || warn "could not remove /run/netns"
                fi
                continue
            fi
            [ -e "$top" ] || continue
            if dir_in_use "$top"; then
                warn "keeping $top: a process still has a file open in it (run down again later)"
                kept+=("$top")
                continue
            fi
            log "removing $top"
            rm -rf --one-file-system "$top"
        done <"$CREATED_LIST"
    fi
    if [ -e "$MARKER" ] && [ ${#kept[@]} -gt 0 ]; then
        # Keep only the marker and the record of what is still to remove.
        log "removing $HOSTB_ROOT, except $CREATED_LIST"
        find "$HOSTB_ROOT" -mindepth 1 -maxdepth 1 ! -name state ! -name "${MARKER##*/}" \
            -exec rm -rf --one-file-system {} +
        find "$STATE_DIR" -mindepth 1 -maxdepth 1 ! -name "${CREATED_LIST##*/}" \
            -exec rm -rf --one-file-system {} +
        printf '%s\n' "${kept[@]}" >"$CREATED_LIST"
    elif [ -e "$MARKER" ]; then
        log "removing $HOSTB_ROOT"
        rm -rf --one-file-system "$HOSTB_ROOT"
    elif [ -e "$HOSTB_ROOT" ]; then
        warn "$HOSTB_ROOT was not made by this script: left alone"
    fi
    log "down: host B, its network and both rsync daemons are gone; host A's daemons untouched"
}

# =============================================================================================
# status
# =============================================================================================
do_status() {
    local rc=0 pid v a_uuid="" b_uuid="" to_a
    say() { printf '%s\n' "$*"; }
    bad() { printf '%s\n' "$*"; rc=3; }

    for v in libvirtd virtlogd; do
        if pid="$(hosta_pid "$v")"; then say "host A $v: running, pid $pid"; else bad "host A $v: NOT running"; fi
    done
    if a_uuid="$(host_uuid_of "$HOSTA_URI")" && [ -n "$a_uuid" ]; then
        say "host A: virsh -c $HOSTA_URI answers, host uuid $a_uuid"
    else
        bad "host A: virsh -c $HOSTA_URI does NOT answer"
    fi

    if netns_present; then say "netns $NETNS: present"; else bad "netns $NETNS: MISSING"; fi
    if ip -4 -o addr show dev "$VETH_A" 2>/dev/null | grep -q " $ADDR_A/$NET_PREFIX " \
            && ip link show "$VETH_A" 2>/dev/null | grep -q ',UP'; then
        say "veth $VETH_A: up, $ADDR_A/$NET_PREFIX"
    else
        bad "veth $VETH_A: missing, down or without $ADDR_A/$NET_PREFIX"
    fi
    if netns_present && ip -n "$NETNS" -4 -o addr show dev "$VETH_B" 2>/dev/null | grep -q " $ADDR_B/$NET_PREFIX " \
            && ip -n "$NETNS" link show "$VETH_B" 2>/dev/null | grep -q ',UP'; then
        say "veth $VETH_B (netns $NETNS): up, $ADDR_B/$NET_PREFIX"
    else
        bad "veth $VETH_B (netns $NETNS): missing, down or without $ADDR_B/$NET_PREFIX"
    fi

    for v in virtlogd libvirtd; do
        if pid="$(hostb_pid "$v")"; then say "host B $v: running, pid $pid"; else bad "host B $v: NOT running"; fi
    done
    if b_uuid="$(host_uuid_of "$HOSTB_URI")" && [ -n "$b_uuid" ]; then
        say "host B: virsh -c '$HOSTB_URI' answers, host uuid $b_uuid, $(virsh_q "$HOSTB_URI" list --name 2>/dev/null | sed '/^$/d' | wc -l) guest(s) running"
        if [ -n "$a_uuid" ] && [ "${a_uuid,,}" = "${b_uuid,,}" ]; then
            bad "host UUIDs: A and B are EQUAL: migration would be refused"
        fi
    else
        bad "host B: virsh -c '$HOSTB_URI' does NOT answer"
    fi
    if to_a="$(hostb_to_hosta_uri)" && { pid="$(hostb_pid virtlogd)" || pid="$(hostb_pid libvirtd)"; } \
            && nsenter --target "$pid" --mount --net -- timeout 20 virsh -q -c "$to_a" version >/dev/null 2>&1; then
        say "host B reaches host A: $to_a"
    else
        bad "host B does NOT reach host A's libvirtd"
    fi

    for v in "$HOSTA_INSTANCES" "$HOSTB_INSTANCES"; do
        if [ -d "$v" ]; then say "instances dir $v: present"; else bad "instances dir $v: MISSING"; fi
    done
    if pid="$(rsync_pid a)" && rsync_probe "$ADDR_A"; then
        say "rsync daemon of host A: pid $pid, rsync://$ADDR_A/$RSYNC_MODULE answers"
    else
        bad "rsync daemon of host A: NOT running or not answering on rsync://$ADDR_A/"
    fi
    if pid="$(rsync_pid b)" && rsync_probe "$ADDR_B"; then
        say "rsync daemon of host B: pid $pid, rsync://$ADDR_B/$RSYNC_MODULE answers"
    else
        bad "rsync daemon of host B: NOT running or not answering on rsync://$ADDR_B/"
    fi
    return "$rc"
}

# =============================================================================================
# env
# =============================================================================================
# Shell-quote a value only when it needs it.
shq() {
    if [[ "$1" =~ ^[A-Za-z0-9_./:@%+,=-]+$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}

do_env() {
    local to_a uuid
    to_a="$(hostb_to_hosta_uri)" || die "host A's libvirtd is not running (no live pid in /run/libvirtd.pid): run tools/two-hosts.sh up"
    hostb_pid libvirtd >/dev/null || warn "host B's libvirtd is not running: run tools/two-hosts.sh up"
    uuid="$(configured_hostb_uuid)"
    local -a vars=(
        HOSTA_URI "$HOSTA_URI"
        HOSTB_URI "$HOSTB_URI"
        HOSTB_TO_HOSTA_URI "$to_a"
        HOSTA_ADDR "$ADDR_A"
        HOSTB_ADDR "$ADDR_B"
        HOSTA_MIGRATE_URI "tcp://$ADDR_A"
        HOSTB_MIGRATE_URI "tcp://$ADDR_B"
        HOSTA_INSTANCES "$HOSTA_INSTANCES"
        HOSTB_INSTANCES "$HOSTB_INSTANCES"
        HOSTB_NETNS "$NETNS"
        HOSTB_ROOT "$HOSTB_ROOT"
        HOSTB_HOST_UUID "$uuid"
        RSYNC_PORT "$RSYNC_PORT"
        RSYNC_MODULE "$RSYNC_MODULE"
        RSYNC_TIMEOUT "$RSYNC_TIMEOUT"
        RSYNC_MAX_CONNECTIONS "$RSYNC_MAX_CONNECTIONS"
        HOSTA_RSYNC_URL "rsync://$RSYNC_USER@$ADDR_A/$RSYNC_MODULE"
        HOSTB_RSYNC_URL "rsync://$RSYNC_USER@$ADDR_B/$RSYNC_MODULE"
        RSYNC_USER "$RSYNC_USER"
        HOSTA_RSYNC_PASSWORD_FILE "$RSYNC_PASSWORD_DIR/$ADDR_A"
        HOSTB_RSYNC_PASSWORD_FILE "$RSYNC_PASSWORD_DIR/$ADDR_B"
        RSYNC_PASSWORD_FILE "$RSYNC_PASSWORD_DIR/%(dest)s"
    )
    local i
    for ((i = 0; i < ${#vars[@]}; i += 2)); do
        printf '%s=%s\n' "${vars[i]}" "$(shq "${vars[i+1]}")"
    done
}

# =============================================================================================
case "$action" in
    up|down)
        exec 9<"$SCRIPT_PATH"
        flock -w 300 9 || die "another tools/two-hosts.sh up/down still runs"
        if [ "$action" = up ]; then do_up; else do_down; fi ;;
    status) do_status || exit $? ;;
    env) do_env ;;
esac
