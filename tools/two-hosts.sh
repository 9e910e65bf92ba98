#!/bin/bash
# two-hosts.sh - a second libvirt host "B" on this machine for the live-migration and
# multi-host tests, and one sshd per host for nova's remote file system (remotefs).
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
# the netns, no DNS lookups in the sshds.
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
#         * an sshd per host on its address, port 2222 (host B's in netns nova-hostb, in
#           the root mount namespace as B's nova-compute), with its own config, host key
#           and authorized_keys under /srv/nova-hostb/state/ssh/<a|b>/: key only, login
#           root only (the rig's computes run as root), each host's authorized_keys holds
#           the OTHER host's compute key, "restrict" (no forwarding, tty, agent, X11,
#           user rc), from= the rig's two addresses and command= nova-remotefs-guard
#           (only remotefs's scripts, below the instances and fault folders, and the
#           absolute folders listed, comma-separated, in TWO_HOSTS_EXTRA_ALLOWED_PATHS,
#           for a cloud run by hand with instance folders of its own); MaxStartups 4:50:8, LoginGraceTime
#           10 s, ClientAlive 10 s x 3, no sftp. The computes' client keys (one per host)
#           and the known_hosts with both host keys ("[addr]:2222") are made once and
#           kept until "down". Fault-injection folders per host: a 64 KiB tmpfs (disk
#           full) and a read-only tmpfs (permission denied);
#         * an rsync daemon left by an older two-hosts.sh (its pid file under state/) is
#           stopped: no listener that takes writes without ssh's key login remains.
# down [--force]  stops and removes all that "up" made (never host A's daemons); refuses
#         while host B runs guests unless --force (then destroys them). An instances dir
#         a process still has a file open in is kept.
# status  report on stdout; exit 3 unless everything is up.
# env     shell variables on stdout (eval "$(tools/two-hosts.sh env)"): HOSTA_URI, HOSTB_URI,
#         HOSTB_TO_HOSTA_URI (host A as B's libvirtd reaches it: through /proc/<A's libvirtd
#         pid>/root, so it changes when A's libvirtd restarts), HOSTA_ADDR, HOSTB_ADDR,
#         HOSTA_MIGRATE_URI, HOSTB_MIGRATE_URI, HOSTA_INSTANCES, HOSTB_INSTANCES, HOSTB_NETNS,
#         HOSTB_ROOT, HOSTB_HOST_UUID; for nova's [libvirt] remote_filesystem_* options:
#         SSH_PORT, SSH_USER, SSH_KNOWN_HOSTS, HOSTA_SSH_IDENTITY (the key host A's compute
#         logs in to B with), HOSTB_SSH_IDENTITY (B's, to A), REMOTEFS_ALLOWED_PATHS (both
#         instances dirs: they differ in the rig), SSH_TIMEOUT; for fault tests
#         HOSTA_FULL_DIR, HOSTB_FULL_DIR (64 KiB tmpfs), HOSTA_READONLY_DIR,
#         HOSTB_READONLY_DIR (read-only tmpfs), HOSTA_SSH_HOST_KEY, HOSTB_SSH_HOST_KEY
#         (public host keys).
#
# Migrating B->A needs VIR_MIGRATE_PARAM_URI = HOSTA_MIGRATE_URI and LISTEN_ADDRESS =
# HOSTA_ADDR: host A's qemu.conf has no migration_host (setup-host.sh owns it).
# Exit codes: 0 success, 1 failure, 2 bad usage, 3 (status) not fully up.
# State: /srv/nova-hostb/state/ (sshd configs, keys, pid files, logs, the list of paths
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
readonly SSH_PORT=2222 SSH_USER=root SSH_DIR=$STATE_DIR/ssh
readonly KNOWN_HOSTS=$SSH_DIR/known_hosts
readonly LIBVIRTD_WAIT=90          # s; B's first libvirtd start probes QEMU (about 8 s)
readonly SSH_TIMEOUT=10            # s; sshd's LoginGraceTime, the clients' ConnectTimeout
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

# The daemons started here must not inherit our caller's descriptors: with
# "flock /work/wt/.rig.lock tools/two-hosts.sh up", B's libvirtd and
# virtlogd would hold that lock for as long as they run. (255: bash's own
# descriptor of this script.)
for fd in /proc/$$/fd/*; do
    fd="${fd##*/}"
    [[ "$fd" =~ ^[0-9]+$ ]] && [ "$fd" -gt 2 ] && [ "$fd" != 255 ] || continue
    eval "exec $fd>&-" 2>/dev/null || true
done

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

# rsync_pid H: an rsync daemon an older two-hosts.sh started for host H (a or b).
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

# sshd_pid H: the sshd of host H (a or b), in that host's netns.
sshd_pid() {
    local pid want="$MY_NETNS"
    [ "$1" = a ] || want="$(ns_inode "$NETNS_PATH")"
    pid="$(pid_from_file "$SSH_DIR/$1/sshd.pid" /usr/sbin/sshd)" && [ -n "$want" ] \
        && [ "$(ns_inode "/proc/$pid/ns/net")" = "$want" ] || return 1
    printf '%s\n' "$pid"
}

# guard_command: the forced command of the computes' keys (nova-remotefs-guard of this
# tree, with the system python3: it needs the standard library only).
guard_command() {
    local p args=""
    local extra=() ok='^/[A-Za-z0-9._/-]+$'
    if [ -n "${TWO_HOSTS_EXTRA_ALLOWED_PATHS:-}" ]; then
        IFS=, read -r -a extra <<< "$TWO_HOSTS_EXTRA_ALLOWED_PATHS"
    fi
    for p in "$HOSTA_INSTANCES" "$HOSTB_INSTANCES" "$STATE_DIR"/{full,readonly}-{a,b} \
             ${extra[@]+"${extra[@]}"}; do
        # An authorized_keys option: no quote, space or shell character may reach it.
        [[ "$p" =~ $ok ]] || die "TWO_HOSTS_EXTRA_ALLOWED_PATHS: not a plain absolute path: '$p'"
        args+=" --allowed-path $p"
    done
    printf 'env PYTHONPATH=%s /usr/bin/python3 -m nova.cmd.remotefs_guard%s --allow-rsync' \
        "${TOOLS_DIR%/*}" "$args"
}

# ssh_probe FROM TO_ADDR: host FROM's compute key logs in to the sshd at TO_ADDR and runs
# "true" there, the host key checked against the rig's known_hosts.
ssh_probe() {
    local pre=()
    [ "$1" = a ] || pre=(nsenter --net="$NETNS_PATH")
    "${pre[@]}" timeout 20 ssh -T -a -x -o BatchMode=yes -o StrictHostKeyChecking=yes \
        -o UserKnownHostsFile="$KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
        -o IdentitiesOnly=yes -i "$SSH_DIR/id-host$1" -o ConnectTimeout=5 \
        -p "$SSH_PORT" -l "$SSH_USER" -- "$2" true </dev/null >/dev/null 2>&1 9<&-
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

# keypair FILE COMMENT: an ed25519 key made once (kept until "down").
keypair() {
    [ -s "$1" ] && [ -s "$1.pub" ] && return 0
    rm -f "$1" "$1.pub"
    ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$1" </dev/null >/dev/null || die "ssh-keygen for $1 failed"
    log "ssh: new key $1"
}

sshd_conf() {
    local h="$1" addr="$2" dir="$SSH_DIR/$1"
    cat <<EOF
# sshd of host ${h^^} for nova's tools/two-hosts.sh (rewritten by "up"): nova's remote
# file system (ssh / rsync over ssh) between the compute hosts, key only.
ListenAddress $addr
Port $SSH_PORT
AddressFamily inet
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitEmptyPasswords no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers $SSH_USER
AllowTcpForwarding no
AllowStreamLocalForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PermitTTY no
PermitUserRC no
PermitUserEnvironment no
GatewayPorts no
DisableForwarding yes
UseDNS no
PrintMotd no
MaxStartups 4:50:8
MaxSessions 4
MaxAuthTries 3
LoginGraceTime $SSH_TIMEOUT
ClientAliveInterval $SSH_TIMEOUT
ClientAliveCountMax 3
LogLevel VERBOSE
EOF
}

# ensure_sshd H ADDR: host H's sshd, restarted when its config or host key changed.
ensure_sshd() {
    local h="$1" addr="$2" o dir="$SSH_DIR/$1" changed=0 pid pre=() busy
    [ "$h" = a ] && o=b || o=a
    local launch="$dir/sshd.launch.log"
    (umask 077; mkdir -p "$dir")
    chmod 700 "$SSH_DIR" "$dir"
    [ -s "$dir/ssh_host_ed25519_key" ] || changed=1
    keypair "$dir/ssh_host_ed25519_key" "nova-two-hosts host ${h^^}"
    sshd_conf "$h" "$addr" | write_if_changed "$dir/sshd_config" && changed=1
    # Only the other host's compute key, from the rig's two addresses (a test
    # may drive host B's driver from the root netns, whose source address
    # is A's), no extras, and confined by nova-remotefs-guard (forced command:
    # remotefs's scripts below the instances and fault folders, nothing else;
    # rsync too, for the transport tests: rsync itself is not confined). sshd
    # reads it at each login: no restart.
    local guard
    guard="$(guard_command)"    # (an assignment: a bad extra path stops "up" here)
    printf 'restrict,from="%s,%s",command="%s" %s\n' "$ADDR_A" "$ADDR_B" "$guard" \
        "$(cat "$SSH_DIR/id-host$o.pub")" | write_if_changed "$dir/authorized_keys" || true
    chmod 600 "$dir/authorized_keys"
    mkdir -p /run/sshd && chmod 755 /run/sshd   # sshd's privilege separation folder
    [ "$h" = a ] || pre=(nsenter --net="$NETNS_PATH")
    /usr/sbin/sshd -t -f "$dir/sshd_config" || die "sshd -t: bad config $dir/sshd_config"
    if pid="$(sshd_pid "$h")"; then
        [ "$changed" = 1 ] || return 0
        daemon_stop "$pid" "sshd of host ${h^^} (config or keys changed)"
    fi
    busy="$("${pre[@]}" ss -ltnH "sport = :$SSH_PORT" | awk '{print $4}' | grep -E "^(0\.0\.0\.0|\*|\[::\]|$addr):" || true)"
    [ -z "$busy" ] || die "port $SSH_PORT is taken on host ${h^^} ($busy)"
    rm -f "$dir/sshd.pid"
    mark_log "$dir/sshd.log"
    log "sshd of host ${h^^}: starting on $addr:$SSH_PORT"
    "${pre[@]}" start-stop-daemon --start --quiet --pidfile "$dir/sshd.pid" --exec /usr/sbin/sshd \
        -- -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null >"$launch" 2>&1 9<&- \
        || { show_logs "$launch" "$dir/sshd.log"; die "sshd for host ${h^^} failed"; }
    for _ in {1..100}; do sshd_pid "$h" >/dev/null && return 0; sleep 0.1; done
    show_logs "$launch" "$dir/sshd.log"
    die "sshd of host ${h^^} did not come up"
}

# ensure_known_hosts: both host keys under "[addr]:port", as the computes reach them.
ensure_known_hosts() {
    {
        printf '[%s]:%s %s\n' "$ADDR_A" "$SSH_PORT" "$(cut -d' ' -f1,2 "$SSH_DIR/a/ssh_host_ed25519_key.pub")"
        printf '[%s]:%s %s\n' "$ADDR_B" "$SSH_PORT" "$(cut -d' ' -f1,2 "$SSH_DIR/b/ssh_host_ed25519_key.pub")"
    } | write_if_changed "$KNOWN_HOSTS" || true
}

# ensure_fault_dirs H: a 64 KiB tmpfs (disk full) and a read-only tmpfs (permission
# denied, even for root) for the fault tests.
ensure_fault_dirs() {
    local full="$STATE_DIR/full-$1" ro="$STATE_DIR/readonly-$1"
    mkdir -p "$full" "$ro"
    mountpoint -q "$full" || mount -t tmpfs -o size=64k,mode=0755 tmpfs "$full" || die "cannot mount the 64 KiB tmpfs on $full"
    mountpoint -q "$ro" || mount -t tmpfs -o ro,size=64k,mode=0755 tmpfs "$ro" || die "cannot mount the read-only tmpfs on $ro"
}

# stop_old_rsync: the rsync daemons an older two-hosts.sh started (their pid files in
# our state folder, so they are ours) are stopped.
stop_old_rsync() {
    local h pid
    for h in a b; do
        if pid="$(rsync_pid "$h")"; then daemon_stop "$pid" "rsync daemon of host ${h^^} (older two-hosts.sh; replaced by sshd)"; fi
    done
}

do_up() {
    local t0=$SECONDS
    ensure_hosta
    apt_install iproute2 rsync openssh-server openssh-client
    ensure_state_root
    ensure_network
    write_hostb_configs
    ensure_hostb_daemons
    check_hostb
    make_dir "$HOSTA_INSTANCES"
    make_dir "$HOSTB_INSTANCES"
    stop_old_rsync
    (umask 077; mkdir -p "$SSH_DIR")
    keypair "$SSH_DIR/id-hosta" "nova-compute host A"
    keypair "$SSH_DIR/id-hostb" "nova-compute host B"
    ensure_sshd a "$ADDR_A"
    ensure_sshd b "$ADDR_B"
    ensure_known_hosts
    ensure_fault_dirs a
    ensure_fault_dirs b
    for _ in {1..50}; do
        ssh_probe a "$ADDR_B" && ssh_probe b "$ADDR_A" && break
        sleep 0.1
    done
    ssh_probe a "$ADDR_B" && ssh_probe b "$ADDR_A" \
        || { show_logs "$SSH_DIR/a/sshd.log" "$SSH_DIR/b/sshd.log"; die "the computes' keys do not log in to the other host's sshd"; }
    log "two hosts up ($((SECONDS - t0)) s): A $ADDR_A ($HOSTA_URI), B $ADDR_B ($HOSTB_URI); eval \"\$($SCRIPT_PATH env)\""
}

# =========================================================================================
# down
# =========================================================================================
do_down() {
    local pid guests="" g name h top kept=() v
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
        if pid="$(sshd_pid "$h")"; then daemon_stop "$pid" "sshd of host ${h^^}"; fi
        if pid="$(rsync_pid "$h")"; then daemon_stop "$pid" "rsync daemon of host ${h^^} (older two-hosts.sh)"; fi
        for v in full readonly; do
            if mountpoint -q "$STATE_DIR/$v-$h" 2>/dev/null; then umount "$STATE_DIR/$v-$h" || warn "umount $STATE_DIR/$v-$h failed"; fi
        done
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
    log "down: host B, its network and both sshds are gone; host A's daemons untouched"
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
        check "sshd of host ${h^^} (pid $(sshd_pid "$h" || echo -)) on $addr:$SSH_PORT, the other compute's key logs in" \
            eval 'sshd_pid "$h" >/dev/null && ssh_probe "$([ "$h" = a ] && echo b || echo a)" "$addr"'
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
SSH_PORT $SSH_PORT
SSH_USER $SSH_USER
SSH_TIMEOUT $SSH_TIMEOUT
SSH_KNOWN_HOSTS $KNOWN_HOSTS
HOSTA_SSH_IDENTITY $SSH_DIR/id-hosta
HOSTB_SSH_IDENTITY $SSH_DIR/id-hostb
HOSTA_SSH_HOST_KEY $SSH_DIR/a/ssh_host_ed25519_key.pub
HOSTB_SSH_HOST_KEY $SSH_DIR/b/ssh_host_ed25519_key.pub
REMOTEFS_ALLOWED_PATHS $HOSTA_INSTANCES,$HOSTB_INSTANCES
HOSTA_FULL_DIR $STATE_DIR/full-a
HOSTB_FULL_DIR $STATE_DIR/full-b
HOSTA_READONLY_DIR $STATE_DIR/readonly-a
HOSTB_READONLY_DIR $STATE_DIR/readonly-b
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
