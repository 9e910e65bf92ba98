#!/bin/bash
# two-hosts.sh - a second libvirt host "B" on this machine for the live-migration and
# multi-host tests, and one rsync daemon per host for copying console logs between hosts.
#
# Usage:
#   tools/two-hosts.sh up
#   tools/two-hosts.sh down [--force]
#   tools/two-hosts.sh status
#   tools/two-hosts.sh env
#
# Host A is this machine's libvirtd + virtlogd (tools/setup-host.sh, run by "up" only when
# "setup-host.sh --status" says host A is not up: otherwise A is never touched).
# Host B is a second libvirtd + virtlogd in network namespace nova-hostb and a private
# mount namespace in which /srv/nova-hostb/{etc,run,lib,log,cache}/libvirt are bind-mounted
# on /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt:
#   root netns: nvA 192.168.251.1/24 <-- veth --> netns nova-hostb: nvB 192.168.251.2/24
# Only these two addresses and loopback are used: no IPv6 on the pair, no default route in
# the netns, no reverse DNS in the rsync daemons.
#
# up      idempotent (about 1.5 s from scratch, 1 s again):
#         * netns, veth and addresses; host B's libvirtd.conf (a host_uuid of its own,
#           kept until "down": libvirt refuses to migrate between hosts of one UUID),
#           qemu.conf (root, no security driver, no cgroups, migration_host and
#           migration_address 192.168.251.2), virtlogd.conf copied from host A's. A changed
#           virtlogd.conf re-execs B's virtlogd (SIGUSR1); a changed libvirtd.conf or
#           qemu.conf restarts B's libvirtd (guests keep running);
#         * B's virtlogd and libvirtd (start-stop-daemon; QEMU capabilities cache seeded
#           from A's), checked: own UUID, B reaches A's libvirtd;
#         * instances dirs /var/lib/nova-hosta/instances, /var/lib/nova-hostb/instances;
#         * an rsync daemon per host on its address, port 873, module "nova-instances" =
#           that host's instances dir: login "nova" with a password per host (kept until
#           "down"; clients' files /srv/nova-hostb/state/rsync-password/<address>), write
#           only, chroot, only <uuid>/console.log and console.log.<0-99>, made 0600/0700,
#           every option refused but recursive/times/timeout, timeout 30 s, at most 4
#           connections a module (rsync's timeout does not cut a silent connection); and
#           for fault tests "nova-instances-readonly" (writes refused) and
#           "nova-instances-full" (a 64 KiB tmpfs).
# down [--force]  stops and removes all that "up" made (never host A's daemons); refuses
#         while host B runs guests unless --force (then destroys them). An instances dir
#         a process still has a file open in is kept.
# status  report on stdout; exit 3 unless everything is up.
# env     shell variables on stdout (eval "$(tools/two-hosts.sh env)"): HOSTA_URI, HOSTB_URI,
#         HOSTB_TO_HOSTA_URI (host A as B's libvirtd reaches it: through /proc/<A's libvirtd
#         pid>/root, so it changes when A's libvirtd restarts), HOSTA_ADDR, HOSTB_ADDR,
#         HOSTA_MIGRATE_URI, HOSTB_MIGRATE_URI, HOSTA_INSTANCES, HOSTB_INSTANCES, HOSTB_NETNS,
#         HOSTB_ROOT, HOSTB_HOST_UUID, RSYNC_PORT, RSYNC_MODULE, RSYNC_TIMEOUT,
#         RSYNC_MAX_CONNECTIONS, HOSTA_RSYNC_URL, HOSTB_RSYNC_URL, RSYNC_USER,
#         HOSTA_RSYNC_PASSWORD_FILE, HOSTB_RSYNC_PASSWORD_FILE and RSYNC_PASSWORD_FILE
#         (with "%(dest)s" for the address: nova's [libvirt]
#         console_log_rsync_password_file).
#
# Migrating B->A needs VIR_MIGRATE_PARAM_URI = HOSTA_MIGRATE_URI and LISTEN_ADDRESS =
# HOSTA_ADDR: host A's qemu.conf has no migration_host (setup-host.sh owns it).
# Exit codes: 0 success, 1 failure, 2 bad usage, 3 (status) not fully up.
# State: /srv/nova-hostb/state/ (rsync configs, secrets, pid files, logs, the list of paths
#        "up" created). up and down are serialised (flock).
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH PROG=two-hosts TOOLS_DIR="${SCRIPT_PATH%/*}"
readonly NETNS=nova-hostb NETNS_PATH=/run/netns/nova-hostb VETH_A=nvA VETH_B=nvB
readonly ADDR_A=192.168.251.1 ADDR_B=192.168.251.2 NET_PREFIX=24 NET_CIDR=192.168.251.0/24
readonly HOSTB_ROOT=/srv/nova-hostb
readonly STATE_DIR=$HOSTB_ROOT/state MARKER=$HOSTB_ROOT/.made-by-two-hosts
readonly CREATED_LIST=$HOSTB_ROOT/state/created
readonly HOSTA_INSTANCES=/var/lib/nova-hosta/instances HOSTB_INSTANCES=/var/lib/nova-hostb/instances
readonly HOSTA_URI=qemu:///system
readonly HOSTB_RUN=$HOSTB_ROOT/run/libvirt HOSTB_ETC=$HOSTB_ROOT/etc/libvirt HOSTB_LOG=$HOSTB_ROOT/log/libvirt
readonly HOSTB_URI="qemu+unix:///system?socket=$HOSTB_RUN/libvirt-sock"
readonly RSYNC_PORT=873 RSYNC_MODULE=nova-instances RSYNC_USER=nova
readonly RSYNC_PASSWORD_DIR=$STATE_DIR/rsync-password
readonly LIBVIRTD_WAIT=90          # s; B's first libvirtd start probes QEMU (about 8 s)
readonly RSYNC_TIMEOUT=30          # s; rsync's I/O timeout once a transfer runs
readonly RSYNC_MAX_CONNECTIONS=4   # per module, counted from naming it (lock file)
readonly BIND_MOUNTS=(etc/libvirt /etc/libvirt run/libvirt /run/libvirt lib/libvirt /var/lib/libvirt
                      log/libvirt /var/log/libvirt cache/libvirt /var/cache/libvirt)
# shellcheck source=lib/common.sh
source "$TOOLS_DIR/lib/common.sh"
usage() { header 5,9; exit 2; }

[ $# -ge 1 ] || usage
action="$1"; shift
force=0
case "$action" in
    up|status|env) [ $# -eq 0 ] || usage ;;
    down) for a in "$@"; do [ "$a" = --force ] || usage; force=1; done ;;
    -h|--help) header '2,/^set -euo/'; exit 0 ;;
    *) printf '%s: unknown action: %s\n' "$PROG" "$action" >&2; usage ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root"

# --- processes and namespaces -----------------------------------------------------------
ns_inode() { stat -L -c %i "$1" 2>/dev/null || true; }
MY_NETNS="$(ns_inode /proc/$$/ns/net)" MY_MNTNS="$(ns_inode /proc/$$/ns/mnt)"
readonly MY_NETNS MY_MNTNS
netns_present() { [ -n "$(ns_inode "$NETNS_PATH")" ] && [ "$(ns_inode "$NETNS_PATH")" != "$MY_NETNS" ]; }

hosta_pid() { pid_from_file "/run/$1.pid" "/usr/sbin/$1"; }

# Host B's daemon NAME: from B's pid file, running in netns nova-hostb and in a mount
# namespace other than ours.
hostb_pid() {
    local pid
    pid="$(pid_from_file "$HOSTB_RUN/$1.pid" "/usr/sbin/$1")" && netns_present \
        && [ "$(ns_inode "/proc/$pid/ns/net")" = "$(ns_inode "$NETNS_PATH")" ] \
        && [ "$(ns_inode "/proc/$pid/ns/mnt")" != "$MY_MNTNS" ] || return 1
    printf '%s\n' "$pid"
}

# rsync_pid H: the rsync daemon of host H (a or b), in that host's netns.
rsync_pid() {
    local pid want="$MY_NETNS"
    [ "$1" = a ] || want="$(ns_inode "$NETNS_PATH")"
    pid="$(pid_from_file "$STATE_DIR/rsyncd-$1.pid" /usr/bin/rsync)" && [ -n "$want" ] \
        && [ "$(ns_inode "/proc/$pid/ns/net")" = "$want" ] || return 1
    printf '%s\n' "$pid"
}

# Every live process in netns nova-hostb, "PID COMM" a line.
netns_processes() {
    local ino p
    netns_present || return 0
    ino="$(ns_inode "$NETNS_PATH")"
    for p in /proc/[0-9]*; do
        [ "$(ns_inode "$p/ns/net")" = "$ino" ] && [ -e "$p/exe" ] || continue
        printf '%s %s\n' "${p#/proc/}" "$(cat "$p/comm" 2>/dev/null)"
    done
}

# hostb_run CMD...: CMD in host B's network and mount namespaces: those of B's running
# daemons, or new ones with the bind mounts when none runs.
# shellcheck disable=SC2016
hostb_run() {
    local pid
    if pid="$(hostb_pid virtlogd)" || pid="$(hostb_pid libvirtd)"; then
        nsenter --target "$pid" --mount --net -- "$@"
    else
        nsenter --net="$NETNS_PATH" unshare --mount --propagation private -- sh -c '
            set -e; root=$1; shift
            while [ "$1" != -- ]; do mount --bind "$root/$1" "$2"; shift 2; done
            shift; exec "$@"' sh "$HOSTB_ROOT" "${BIND_MOUNTS[@]}" -- "$@"
    fi
}

virsh_q() { local uri="$1"; shift; timeout 20 virsh -q -c "$uri" "$@"; }
# The host UUID that libvirt at URI reports; empty when it does not answer.
host_uuid_of() { virsh_q "$1" capabilities 2>/dev/null | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -n1 || true; }
hostb_to_hosta_uri() {
    local pid
    pid="$(hosta_pid libvirtd)" || return 1
    printf 'qemu+unix:///system?socket=/proc/%s/root/run/libvirt/libvirt-sock\n' "$pid"
}
configured_hostb_uuid() { sed -n 's/^host_uuid *= *"\([0-9a-fA-F-]*\)".*/\1/p' "$HOSTB_ETC/libvirtd.conf" 2>/dev/null | head -n1 || true; }
hostb_reaches_hosta() {
    local to_a
    to_a="$(hostb_to_hosta_uri)" && hostb_run timeout 20 virsh -q -c "$to_a" version >/dev/null 2>&1 9<&-
}

# rsync_probe ADDR [in-netns]: the daemon at ADDR lists the module.
rsync_probe() {
    local pre=()
    [ "${2:-}" != in-netns ] || pre=(nsenter --net="$NETNS_PATH")
    "${pre[@]}" timeout 10 rsync --contimeout=5 "rsync://$1:$RSYNC_PORT/" 2>/dev/null | grep -q "^$RSYNC_MODULE\b"
}

# make_dir DIR: mkdir -p, recording the topmost directory it made (for "down").
make_dir() {
    local top="$1"
    [ ! -d "$1" ] || return 0
    while [ ! -e "${top%/*}" ]; do top="${top%/*}"; done
    mkdir -p "$1"
    grep -qxF "$top" "$CREATED_LIST" 2>/dev/null || printf '%s\n' "$top" >>"$CREATED_LIST"
    log "created $1"
}

# Succeeds when some process has a file under DIR open (or it as its cwd).
dir_in_use() {
    [ -n "$(find /proc/[0-9]*/fd /proc/[0-9]*/cwd -maxdepth 1 \( -lname "$1" -o -lname "$1/*" \) \
            -print -quit 2>/dev/null || true)" ]
}

# =========================================================================================
# up
# =========================================================================================
ensure_hosta() {
    local args=() v
    if "$TOOLS_DIR/setup-host.sh" --status >/dev/null 2>&1 9<&-; then
        log "host A: libvirtd and virtlogd up (setup-host.sh --status), not touching them"
        return 0
    fi
    # Keep host A's virtlogd limits: setup-host.sh would write its defaults.
    for v in size backups; do
        v="$(sed -n "s/^max_$v *= *\([0-9][0-9]*\).*/--virtlogd-max-$v \1/p" /etc/libvirt/virtlogd.conf 2>/dev/null | tail -n1)"
        [ -z "$v" ] || args+=($v)
    done
    log "host A: not fully up; running tools/setup-host.sh ${args[*]}"
    "$TOOLS_DIR/setup-host.sh" "${args[@]}" </dev/null >&2 9<&- || die "tools/setup-host.sh failed"
}

ensure_state_root() {
    if [ -e "$HOSTB_ROOT" ] && [ ! -e "$MARKER" ] && [ -n "$(ls -A "$HOSTB_ROOT")" ]; then
        die "$HOSTB_ROOT exists but was not made by this script: move it away first"
    fi
    mkdir -p "$STATE_DIR" "$HOSTB_ROOT/lib/libvirt/qemu" "$HOSTB_LOG/qemu" "$HOSTB_ROOT/cache/libvirt/qemu" \
        "$HOSTB_ETC" "$HOSTB_RUN"
    : >"$MARKER"
}

ensure_network() {
    local other
    # The /24 must not be in use elsewhere in the root namespace.
    other="$(ip -4 -o addr show to "$NET_CIDR" | awk -v d="$VETH_A" '$2 != d {print $2 ": " $4}')"
    [ -z "$other" ] || die "$NET_CIDR is already used here ($other)"
    other="$(ip -4 route show "$NET_CIDR" | grep -v "dev $VETH_A\b" || true)"
    [ -z "$other" ] || die "a route for $NET_CIDR exists already: $other"
    if ! netns_present; then
        [ ! -e "$NETNS_PATH" ] || die "$NETNS_PATH exists but is not a network namespace: remove it (ip netns del $NETNS)"
        [ -d /run/netns ] || printf '%s\n' /run/netns >>"$CREATED_LIST"
        log "creating netns $NETNS"
        ip netns add "$NETNS" || die "ip netns add $NETNS failed"
    fi
    if ! ip link show "$VETH_A" >/dev/null 2>&1; then
        log "creating veth $VETH_A <-> $VETH_B (in $NETNS)"
        ip link add "$VETH_A" type veth peer name "$VETH_B" netns "$NETNS" || die "cannot create veth pair $VETH_A/$VETH_B"
    fi
    ip -n "$NETNS" link show "$VETH_B" >/dev/null 2>&1 || die "$VETH_A exists but its peer $VETH_B is not in netns $NETNS: ip link del $VETH_A"
    # No IPv6 on the pair: no link-local addresses, no multicast neighbour discovery.
    sysctl -qw "net.ipv6.conf.$VETH_A.disable_ipv6=1" 2>/dev/null || true
    ip netns exec "$NETNS" sysctl -qw "net.ipv6.conf.$VETH_B.disable_ipv6=1" 2>/dev/null || true
    ip addr replace "$ADDR_A/$NET_PREFIX" dev "$VETH_A"
    ip -n "$NETNS" addr replace "$ADDR_B/$NET_PREFIX" dev "$VETH_B"
    ip link set "$VETH_A" up
    ip -n "$NETNS" link set lo up
    ip -n "$NETNS" link set "$VETH_B" up
}

libvirtd_changed=0 virtlogd_changed=0
write_hostb_configs() {
    local a_uuid uuid
    a_uuid="$(host_uuid_of "$HOSTA_URI")"
    [ -n "$a_uuid" ] || die "cannot read host A's host UUID (virsh -c $HOSTA_URI capabilities)"
    uuid="$(configured_hostb_uuid)"
    [ "${uuid,,}" != "${a_uuid,,}" ] || { [ -z "$uuid" ] || warn "host B's host_uuid equals host A's: choosing a new one"; uuid=""; }
    while [ -z "$uuid" ] || [ "${uuid,,}" = "${a_uuid,,}" ]; do uuid="$(cat /proc/sys/kernel/random/uuid)"; done
    write_if_changed "$HOSTB_ETC/libvirtd.conf" <<EOF && libvirtd_changed=1
# Host B of nova's tools/two-hosts.sh (rewritten by "up").  Its own host UUID: libvirt
# refuses to migrate between hosts with one UUID.
host_uuid = "$uuid"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
    write_if_changed "$HOSTB_ETC/qemu.conf" <<EOF && libvirtd_changed=1
# Host B of nova's tools/two-hosts.sh (rewritten by "up").
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
# Incoming migrations: offered to the source as tcp://$ADDR_B, listened for there only.
migration_host = "$ADDR_B"
migration_address = "$ADDR_B"
EOF
    [ -f /etc/libvirt/virtlogd.conf ] || die "host A has no /etc/libvirt/virtlogd.conf (tools/setup-host.sh writes it)"
    write_if_changed "$HOSTB_ETC/virtlogd.conf" </etc/libvirt/virtlogd.conf && virtlogd_changed=1
    return 0
}

# start_hostb_daemon NAME: "NAME -d" inside host B's namespaces.
start_hostb_daemon() {
    local name="$1" pid launch="$STATE_DIR/hostb-$1.launch.log"
    rm -f "$HOSTB_RUN/$name.pid"
    mark_log "$HOSTB_LOG/$name.log"
    log "host B: starting $name"
    hostb_run start-stop-daemon --start --quiet --pidfile "/run/libvirt/$name.pid" --exec "/usr/sbin/$name" \
        -- -d -p "/run/libvirt/$name.pid" </dev/null >"$launch" 2>&1 9<&- \
        || { show_logs "$launch" "$HOSTB_LOG/$name.log"; die "host B: $name -d failed"; }
    for _ in {1..50}; do pid="$(hostb_pid "$name")" && break; sleep 0.1; done
    [ -n "${pid:-}" ] || { show_logs "$launch" "$HOSTB_LOG/$name.log"; die "host B: $name did not come up (no live pid in $HOSTB_RUN/$name.pid)"; }
    log "host B: $name started, pid $pid"
}

wait_hostb_virtlogd() {
    for _ in {1..200}; do
        hostb_pid virtlogd >/dev/null && [ -S "$HOSTB_RUN/virtlogd-sock" ] \
            && [ ! -e "$HOSTB_RUN/virtlogd-restart-exec.json" ] && return 0
        sleep 0.1
    done
    show_logs "$HOSTB_LOG/virtlogd.log"
    die "host B: virtlogd is not up after 20 s (no $HOSTB_RUN/virtlogd-sock)"
}

ensure_hostb_daemons() {
    local pid start
    if ! hostb_pid virtlogd >/dev/null && ! hostb_pid libvirtd >/dev/null \
            && ! netns_processes | grep -q ' qemu'; then
        # Nothing of host B runs: its run dir holds leftovers only (as after a reboot).
        find "$HOSTB_RUN" -mindepth 1 -delete
        # Seed B's QEMU capabilities cache from A's; libvirtd probes anew when it does not fit.
        if [ -z "$(ls -A "$HOSTB_ROOT/cache/libvirt/qemu")" ] && [ -d /var/cache/libvirt/qemu/capabilities ]; then
            cp -a /var/cache/libvirt/qemu/capabilities "$HOSTB_ROOT/cache/libvirt/qemu/"
        fi
    fi
    if ! pid="$(hostb_pid virtlogd)"; then
        start_hostb_daemon virtlogd
    elif [ "$virtlogd_changed" = 1 ]; then
        log "host B: virtlogd.conf changed: SIGUSR1 to virtlogd (pid $pid): it re-execs, keeping open logs"
        mark_log "$HOSTB_LOG/virtlogd.log"
        kill -USR1 "$pid"
        sleep 0.2
        wait_hostb_virtlogd
        [ "$(hostb_pid virtlogd)" = "$pid" ] || { show_logs "$HOSTB_LOG/virtlogd.log"; die "host B: virtlogd did not survive its re-exec"; }
    fi
    wait_hostb_virtlogd
    if ! pid="$(hostb_pid libvirtd)"; then
        start_hostb_daemon libvirtd
    elif [ "$libvirtd_changed" = 1 ]; then
        daemon_stop "$pid" "host B libvirtd (libvirtd.conf/qemu.conf changed; guests keep running)"
        start_hostb_daemon libvirtd
    fi
    start=$SECONDS
    until virsh_q "$HOSTB_URI" version >/dev/null 2>&1; do
        hostb_pid libvirtd >/dev/null && [ $((SECONDS - start)) -lt "$LIBVIRTD_WAIT" ] \
            || { show_logs "$STATE_DIR/hostb-libvirtd.launch.log" "$HOSTB_LOG/libvirtd.log"; die "host B: libvirtd does not answer virsh -c '$HOSTB_URI'"; }
        sleep 0.3
    done
}

check_hostb() {
    local a b want
    a="$(host_uuid_of "$HOSTA_URI")" b="$(host_uuid_of "$HOSTB_URI")" want="$(configured_hostb_uuid)"
    [ -n "$a" ] && [ -n "$b" ] || die "cannot read the host UUIDs (A: '$a', B: '$b')"
    [ "${b,,}" = "${want,,}" ] || die "host B's libvirtd reports host UUID $b, not its configured $want"
    [ "${a,,}" != "${b,,}" ] || die "hosts A and B have one host UUID ($a): migration would be refused"
    hostb_reaches_hosta || die "host B's namespaces cannot reach host A's libvirtd as '$(hostb_to_hosta_uri || true)'"
    log "host UUIDs: A $a, B $b; host B reaches host A as $(hostb_to_hosta_uri)"
}

# write_secrets H ADDR: the clients' password file for ADDR (made once, random) and the
# daemon's secrets file "user:password", both 0600 from the start; succeeds when the
# latter changed.
write_secrets() {
    local file="$RSYNC_PASSWORD_DIR/$2" secrets="$STATE_DIR/rsyncd-$1.secrets" tmp
    (umask 077
     mkdir -p "$RSYNC_PASSWORD_DIR"
     [ -s "$file" ] || { printf '%s\n' "$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')" >"$file.new"
                         mv -f "$file.new" "$file"; log "rsync: new password for the daemon at $2 in $file"; })
    chmod 600 "$file"
    tmp="$(umask 077; mktemp "$secrets.new.XXXXXX")"
    printf '%s:%s\n' "$RSYNC_USER" "$(head -n1 "$file")" >"$tmp"
    if cmp -s "$tmp" "$secrets"; then rm -f "$tmp"; return 1; fi
    mv -f "$tmp" "$secrets"
}

# rsync wildcard for a canonical (lowercase) instance uuid.
h4='[0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
readonly UUID_GLOB="$h4$h4-$h4-$h4-$h4-$h4$h4$h4"

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

# ensure_rsync H ADDR DIR: host H's daemon, restarted when its config changed.
ensure_rsync() {
    local h="$1" conf="$STATE_DIR/rsyncd-$1.conf" changed=0 pid pre=() busy
    local launch="$STATE_DIR/rsyncd-$h.launch.log" full="$STATE_DIR/full-$h"
    mkdir -p "$full"
    mountpoint -q "$full" || mount -t tmpfs -o size=64k,mode=0755 tmpfs "$full" || die "cannot mount the 64 KiB tmpfs on $full"
    rsync_conf "$h" "$2" "$3" | write_if_changed "$conf" && changed=1
    write_secrets "$h" "$2" && changed=1
    [ "$h" = a ] || pre=(nsenter --net="$NETNS_PATH")
    if pid="$(rsync_pid "$h")"; then
        [ "$changed" = 1 ] || return 0
        daemon_stop "$pid" "rsync daemon of host ${h^^} (config changed)"
    fi
    busy="$("${pre[@]}" ss -ltnH "sport = :$RSYNC_PORT" | awk '{print $4}' | grep -E "^(0\.0\.0\.0|\*|\[::\]|$2):" || true)"
    [ -z "$busy" ] || die "port $RSYNC_PORT is taken on host ${h^^} ($busy)"
    rm -f "$STATE_DIR/rsyncd-$h.pid"
    mark_log "$STATE_DIR/rsyncd-$h.log"
    log "rsync daemon of host ${h^^}: starting on $2:$RSYNC_PORT, module $RSYNC_MODULE = $3"
    "${pre[@]}" start-stop-daemon --start --quiet --pidfile "$STATE_DIR/rsyncd-$h.pid" --exec /usr/bin/rsync \
        -- --daemon --config="$conf" </dev/null >"$launch" 2>&1 9<&- \
        || { show_logs "$launch" "$STATE_DIR/rsyncd-$h.log"; die "rsync --daemon for host ${h^^} failed"; }
    for _ in {1..200}; do rsync_pid "$h" >/dev/null && return 0; sleep 0.1; done
    show_logs "$launch" "$STATE_DIR/rsyncd-$h.log"
    die "rsync daemon of host ${h^^} did not come up"
}

do_up() {
    local t0=$SECONDS
    ensure_hosta
    apt_install iproute2 rsync
    ensure_state_root
    ensure_network
    write_hostb_configs
    ensure_hostb_daemons
    check_hostb
    make_dir "$HOSTA_INSTANCES"
    make_dir "$HOSTB_INSTANCES"
    ensure_rsync a "$ADDR_A" "$HOSTA_INSTANCES"
    ensure_rsync b "$ADDR_B" "$HOSTB_INSTANCES"
    for _ in {1..50}; do
        rsync_probe "$ADDR_A" && rsync_probe "$ADDR_B" && rsync_probe "$ADDR_A" in-netns && break
        sleep 0.1
    done
    rsync_probe "$ADDR_A" && rsync_probe "$ADDR_B" && rsync_probe "$ADDR_A" in-netns \
        || { show_logs "$STATE_DIR/rsyncd-a.log" "$STATE_DIR/rsyncd-b.log"; die "the rsync daemons do not both list module $RSYNC_MODULE"; }
    log "two hosts up ($((SECONDS - t0)) s): A $ADDR_A ($HOSTA_URI), B $ADDR_B ($HOSTB_URI); eval \"\$($SCRIPT_PATH env)\""
}

# =========================================================================================
# down
# =========================================================================================
do_down() {
    local pid guests="" g name h top kept=()
    if hostb_pid libvirtd >/dev/null; then
        guests="$(virsh_q "$HOSTB_URI" list --name 2>/dev/null)" || {
            [ "$force" = 1 ] || die "host B's libvirtd does not answer, so its guests are unknown: use down --force"
            warn "host B's libvirtd does not answer: cannot list its guests"; }
        guests="$(sed '/^$/d' <<<"$guests")"
    fi
    if [ -n "$guests" ]; then
        [ "$force" = 1 ] || die "host B still runs guests ($(tr '\n' ' ' <<<"$guests")): destroy them first, or use down --force"
        for g in $guests; do log "host B: destroying guest $g"; virsh_q "$HOSTB_URI" destroy "$g" >/dev/null || warn "virsh destroy $g failed"; done
    fi
    for name in libvirtd virtlogd; do
        if pid="$(hostb_pid "$name")"; then daemon_stop "$pid" "host B $name"; fi
    done
    for h in a b; do
        if pid="$(rsync_pid "$h")"; then daemon_stop "$pid" "rsync daemon of host ${h^^}"; fi
        if mountpoint -q "$STATE_DIR/full-$h" 2>/dev/null; then umount "$STATE_DIR/full-$h" || warn "umount $STATE_DIR/full-$h failed"; fi
    done
    while read -r pid name; do
        [ -n "$pid" ] || continue
        [ "$force" = 1 ] || die "processes still run in netns $NETNS: $(netns_processes | tr '\n' ',' | sed 's/,$//'); use down --force to end them"
        daemon_stop "$pid" "$name (left in netns $NETNS)"
    done < <(netns_processes)
    if ip link show "$VETH_A" >/dev/null 2>&1; then log "deleting veth $VETH_A <-> $VETH_B"; ip link del "$VETH_A"; fi
    if [ -e "$NETNS_PATH" ]; then log "deleting netns $NETNS"; ip netns del "$NETNS" || die "ip netns del $NETNS failed"; fi

    while read -r top; do
        if [ "$top" = /run/netns ]; then
            # made by "ip netns add" (a bind mount of itself): only when nothing is left
            if [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
                umount /run/netns 2>/dev/null || true
                rmdir /run/netns 2>/dev/null || warn "could not remove /run/netns"
            fi
        elif [ -n "$top" ] && [ -e "$top" ] && dir_in_use "$top"; then
            warn "keeping $top: a process still has a file open in it (run down again later)"
            kept+=("$top")
        elif [ -n "$top" ] && [ -e "$top" ]; then
            log "removing $top"
            rm -rf --one-file-system "$top"
        fi
    done < <(cat "$CREATED_LIST" 2>/dev/null || true)
    if [ -e "$MARKER" ] && [ ${#kept[@]} -gt 0 ]; then
        # Keep only the marker and the record of what is still to remove.
        find "$HOSTB_ROOT" -mindepth 1 -maxdepth 1 ! -name state ! -name "${MARKER##*/}" -exec rm -rf --one-file-system {} +
        find "$STATE_DIR" -mindepth 1 -maxdepth 1 ! -name "${CREATED_LIST##*/}" -exec rm -rf --one-file-system {} +
        printf '%s\n' "${kept[@]}" >"$CREATED_LIST"
    elif [ -e "$MARKER" ]; then
        log "removing $HOSTB_ROOT"
        rm -rf --one-file-system "$HOSTB_ROOT"
    elif [ -e "$HOSTB_ROOT" ]; then
        warn "$HOSTB_ROOT was not made by this script: left alone"
    fi
    log "down: host B, its network and both rsync daemons are gone; host A's daemons untouched"
}

# =========================================================================================
# status, env
# =========================================================================================
do_status() {
    local rc=0 pid v h addr a_uuid b_uuid
    check() { if "${@:2}" >/dev/null; then printf '%s: ok\n' "$1"; else printf '%s: NOT ok\n' "$1"; rc=3; fi; }
    veth_up() { ip "${@:3}" -4 -o addr show dev "$1" 2>/dev/null | grep -q " $2/$NET_PREFIX " \
                    && ip "${@:3}" link show "$1" 2>/dev/null | grep -q ',UP'; }
    for v in libvirtd virtlogd; do check "host A $v running (pid $(hosta_pid "$v" || echo -))" hosta_pid "$v"; done
    a_uuid="$(host_uuid_of "$HOSTA_URI")" b_uuid="$(host_uuid_of "$HOSTB_URI")"
    check "host A: virsh -c $HOSTA_URI answers, host uuid ${a_uuid:--}" [ -n "$a_uuid" ]
    check "netns $NETNS present" netns_present
    check "veth $VETH_A up, $ADDR_A/$NET_PREFIX" veth_up "$VETH_A" "$ADDR_A"
    check "veth $VETH_B (netns $NETNS) up, $ADDR_B/$NET_PREFIX" veth_up "$VETH_B" "$ADDR_B" -n "$NETNS"
    for v in virtlogd libvirtd; do check "host B $v running (pid $(hostb_pid "$v" || echo -))" hostb_pid "$v"; done
    check "host B: virsh -c '$HOSTB_URI' answers, host uuid ${b_uuid:--}, $(virsh_q "$HOSTB_URI" list --name 2>/dev/null | sed '/^$/d' | wc -l) guest(s) running" [ -n "$b_uuid" ]
    check "host UUIDs of A and B differ (else migration is refused)" [ "${a_uuid,,}" != "${b_uuid,,}" ]
    check "host B reaches host A as $(hostb_to_hosta_uri || echo -)" hostb_reaches_hosta
    for v in "$HOSTA_INSTANCES" "$HOSTB_INSTANCES"; do check "instances dir $v present" [ -d "$v" ]; done
    for h in a b; do
        if [ "$h" = a ]; then addr=$ADDR_A; else addr=$ADDR_B; fi
        check "rsync daemon of host ${h^^} (pid $(rsync_pid "$h" || echo -)), rsync://$addr/$RSYNC_MODULE answers" \
            eval 'rsync_pid "$h" >/dev/null && rsync_probe "$addr"'
    done
    return "$rc"
}

do_env() {
    local to_a name value
    to_a="$(hostb_to_hosta_uri)" || die "host A's libvirtd is not running (no live pid in /run/libvirtd.pid): run tools/two-hosts.sh up"
    hostb_pid libvirtd >/dev/null || warn "host B's libvirtd is not running: run tools/two-hosts.sh up"
    while read -r name value; do
        # Shell-quoted only when it needs it.
        [[ "$value" =~ ^[A-Za-z0-9_./:@%+,=-]+$ ]] || value="'${value//\'/\'\\\'\'}'"
        printf '%s=%s\n' "$name" "$value"
    done <<EOF
HOSTA_URI $HOSTA_URI
HOSTB_URI $HOSTB_URI
HOSTB_TO_HOSTA_URI $to_a
HOSTA_ADDR $ADDR_A
HOSTB_ADDR $ADDR_B
HOSTA_MIGRATE_URI tcp://$ADDR_A
HOSTB_MIGRATE_URI tcp://$ADDR_B
HOSTA_INSTANCES $HOSTA_INSTANCES
HOSTB_INSTANCES $HOSTB_INSTANCES
HOSTB_NETNS $NETNS
HOSTB_ROOT $HOSTB_ROOT
HOSTB_HOST_UUID $(configured_hostb_uuid)
RSYNC_PORT $RSYNC_PORT
RSYNC_MODULE $RSYNC_MODULE
RSYNC_TIMEOUT $RSYNC_TIMEOUT
RSYNC_MAX_CONNECTIONS $RSYNC_MAX_CONNECTIONS
HOSTA_RSYNC_URL rsync://$RSYNC_USER@$ADDR_A/$RSYNC_MODULE
HOSTB_RSYNC_URL rsync://$RSYNC_USER@$ADDR_B/$RSYNC_MODULE
RSYNC_USER $RSYNC_USER
HOSTA_RSYNC_PASSWORD_FILE $RSYNC_PASSWORD_DIR/$ADDR_A
HOSTB_RSYNC_PASSWORD_FILE $RSYNC_PASSWORD_DIR/$ADDR_B
RSYNC_PASSWORD_FILE $RSYNC_PASSWORD_DIR/%(dest)s
EOF
}

case "$action" in
    up|down)
        exec 9<"$SCRIPT_PATH"
        flock -w 300 9 || die "another tools/two-hosts.sh up/down still runs"
        "do_$action" ;;
    status) do_status || exit $? ;;
    env) do_env ;;
esac
