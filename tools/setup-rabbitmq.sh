#!/bin/bash
# setup-rabbitmq.sh - a RabbitMQ broker on this Debian 12 machine (root, no systemd) for
# the oslo.messaging transport of nova's compute services, on loopback and the addresses
# asked for only.
#
# Usage:
#   tools/setup-rabbitmq.sh [--listen ADDR]... [--forget-listen] [--port PORT] [--vhost NAME] [--print-transport-url ADDR]
#   tools/setup-rabbitmq.sh --restart [--listen ADDR]... [--forget-listen] [--port PORT]
#   tools/setup-rabbitmq.sh --status [--port PORT]
#   tools/setup-rabbitmq.sh --stop
#   tools/setup-rabbitmq.sh --list-vhosts | --delete-vhost NAME
#
# Setup (the default action), idempotent; from scratch about 30 s (apt-get install about
# 13 s, the first broker boot about 15 s), again about 0.5 s when nothing is to change:
#   * apt-installs rabbitmq-server (Debian's 3.10) and iproute2 when missing ("apt-get
#     update" only when the package lists are empty or the install fails without it).
#     Without systemd the package's own start attempt would hang (its init script waits
#     up to 600 s): a temporary /usr/sbin/policy-rc.d answering 101 ("do not start")
#     forbids it, and is removed afterwards unless it was there before.
#   * writes /etc/rabbitmq/rabbitmq.conf, rabbitmq-env.conf and enabled_plugins, each only
#     when its content differs:
#       - AMQP listeners 127.0.0.1:PORT plus ADDR:PORT for each address asked for (see
#         --listen), and no other (no TLS listener, no plugins: so no management,
#         Prometheus, MQTT, STOMP or stream listeners);
#       - the Erlang distribution listener of the broker (port 25672) on 127.0.0.1 only,
#         and that of the CLI tools (rabbitmqctl & co, ports 35672-35682) too;
#       - epmd (port 4369) on loopback only (ERL_EPMD_ADDRESS=127.0.0.1; epmd always adds
#         ::1 itself);
#       - node name rabbit@localhost (independent of the host name); should a "guest"
#         user ever exist, it may log in from loopback only (RabbitMQ's default, written
#         down explicitly).
#   * starts epmd (as user rabbitmq, "epmd -address 127.0.0.1") when none runs, then the
#     broker: /usr/lib/rabbitmq/bin/rabbitmq-server as user rabbitmq in its own session,
#     detached from this script (output: $STATE_DIR/launch.log; broker log:
#     /var/log/rabbitmq/rabbit@localhost.log), and waits until it listens and
#     "rabbitmqctl await_startup" says it has booted (at most 120 s; on failure the end of
#     both logs is shown).  Every later boot takes about 10 s too (RabbitMQ scans all its
#     plugins' modules while "upgrading the Mnesia schema").
#   * a broker started by this script whose configuration changed (also when a former
#     run was cut off between writing the files and restarting) is restarted.  A broker
#     not started by this script is kept when it listens exactly where asked; otherwise
#     this script fails and says how to stop it.
#   * user "nova" with full permissions (".*" ".*" ".*") on vhost "/"; its password is
#     made once (32 letters and digits, so URL-safe) and kept in /var/lib/nova/rabbitmq-
#     password (mode 0600).  Checked by a real AMQP 0-9-1 login as nova, opening vhost
#     "/" and declaring a server-named exclusive queue; the user is made or its password
#     reset with rabbitmqctl only when that fails.
#   * no user "guest": the broker makes it (password "guest", all permissions on "/") at its
#     first boot, and on loopback any local user of this machine could log in with it and
#     send the compute hosts' RPC calls (read another tenant's console, reboot a guest).
#     After every broker start the users are listed (rabbitmqctl): "guest" is deleted, any
#     other account but nova's is named in a warning (not deleted: not ours).  On runs
#     that start nothing, a guest/guest AMQP login is tried instead (fast); should it
#     succeed, the user is deleted the same way.
#   * last, every listening socket of the broker and of epmd (ss -ltnp) is checked to be
#     on 127.0.0.0/8, ::1 or an address asked for, and the AMQP listeners to be exactly those
#     asked for.
#   --listen ADDR   also listen on ADDR (IPv4 or IPv6 literal, repeatable), e.g. the
#                   two-host rig's 192.168.251.1 (tools/two-hosts.sh up); it must be an
#                   address of this machine, never a wildcard.  Addresses asked for by
#                   earlier runs are kept (read back from rabbitmq.conf), so that several
#                   users each add theirs and a run without --listen (--print-transport-url,
#                   --restart) changes nothing; one that no interface has any more (rig
#                   down) is dropped with a warning.  Adding an address restarts the broker.
#   --forget-listen listen on 127.0.0.1 and this run's --listen ADDRs only.
#   --port PORT     the AMQP port (default: the one of the last setup, at first 5672)
#   --vhost NAME    also make virtual host NAME (letters, digits, ".", "_", "-"; at most 64)
#                   when missing, with full permissions for user nova only; checked by
#                   a login as nova opening it.  Each test cloud uses one of its own, so
#                   that two clouds on one broker (with the same host names) never take
#                   each other's messages.
#   --print-transport-url ADDR
#                   after setup, print rabbit://nova:PASSWORD@ADDR:PORT/ on stdout (the
#                   password URL-quoted; with --vhost NAME, .../NAME); ADDR must be
#                   127.0.0.1, localhost or an address the broker listens on (else exit 2).
#
# --restart  stops the broker (when this script started it) and sets up again as above:
#            the fault "broker restarted during idle time" (about 12 s); epmd, the
#            listeners, the user, its password and hence the transport URLs stay the same.
# --status   prints the state of the broker and epmd, their listening sockets and whether
#            user nova can log in on 127.0.0.1:PORT (never the password) on stdout; exit
#            0 when the broker runs and answers, else 3.
# --stop     stops the broker and epmd when this script started them (as recorded in the
#            state directory; others are left alone).  epmd is kept while other Erlang
#            nodes are still registered with it.
# --list-vhosts         prints the broker's virtual hosts, one a line, on stdout.
# --delete-vhost NAME   deletes virtual host NAME (and its queues) when it exists; never "/".
#
# stdout: nothing, except the URL with --print-transport-url, the report of --status and
#         the list of --list-vhosts.
# stderr: progress messages; on failure an "ERROR:" line (plus the end of the broker's
#         logs when it does not come up).
# Exit codes: 0 success, 1 failure, 2 bad usage, 3 (--status only) not running/answering.
# State: $NOVA_RABBITMQ_STATE_DIR, default /run/nova-rabbitmq/: broker.started ("PID
#        STARTTIME CONFIG-HASH" of the broker this script started), epmd.started
#        ("PID STARTTIME"), launch.log and epmd.log (their output).  Runs other than
#        --status are serialised (flock on this script).
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH
readonly STATE_DIR="${NOVA_RABBITMQ_STATE_DIR:-/run/nova-rabbitmq}"
readonly CONF_DIR=/etc/rabbitmq
readonly RABBITMQ_CONF=$CONF_DIR/rabbitmq.conf
readonly RABBITMQ_ENV_CONF=$CONF_DIR/rabbitmq-env.conf
readonly PLUGINS_FILE=$CONF_DIR/enabled_plugins
readonly PASSWORD_FILE=/var/lib/nova/rabbitmq-password
readonly NODENAME=rabbit@localhost
readonly RABBIT_HOME=/var/lib/rabbitmq
readonly PID_FILE=$RABBIT_HOME/mnesia/$NODENAME.pid
readonly BROKER_LOG=/var/log/rabbitmq/$NODENAME.log
readonly SERVER_BIN=/usr/lib/rabbitmq/bin/rabbitmq-server
readonly RABBITMQCTL=/usr/sbin/rabbitmqctl
readonly NOVA_USER=nova
readonly VHOST=/
readonly EPMD_PORT=4369
readonly PACKAGES=(rabbitmq-server iproute2)
readonly BROKER_WAIT=120    # s; the first boot takes about 15 s, later ones about 10 s
readonly STOP_WAIT=30       # s; SIGTERM -> graceful shutdown takes about 1 s
readonly CLEAN_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 LC_ALL=C.UTF-8)

log() { printf 'setup-rabbitmq: %s\n' "$*" >&2; }
warn() { printf 'setup-rabbitmq: WARNING: %s\n' "$*" >&2; }
die() { printf 'setup-rabbitmq: ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/common.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"
usage() {
    sed -n '7,11p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
bad_usage() { printf 'setup-rabbitmq: %s\n' "$*" >&2; usage; }

# --- arguments --------------------------------------------------------------------------------
action=setup
port=5672
port_given=0
listen=()
url_addr=""
forget_listen=0
vhost=""
vhost_given=0
while [ $# -gt 0 ]; do
    case "$1" in
        --listen) [ $# -ge 2 ] || usage; listen+=("$2"); shift 2 ;;
        --listen=*) listen+=("${1#*=}"); shift ;;
        --port) [ $# -ge 2 ] || usage; port="$2"; port_given=1; shift 2 ;;
        --port=*) port="${1#*=}"; port_given=1; shift ;;
        --forget-listen) forget_listen=1; shift ;;
        --print-transport-url) [ $# -ge 2 ] || usage; url_addr="$2"; shift 2 ;;
        --print-transport-url=*) url_addr="${1#*=}"; shift ;;
        --vhost) [ $# -ge 2 ] || usage; vhost="$2"; vhost_given=1; shift 2 ;;
        --vhost=*) vhost="${1#*=}"; vhost_given=1; shift ;;
        --delete-vhost) [ $# -ge 2 ] || usage; action=delete-vhost; vhost="$2"; vhost_given=1; shift 2 ;;
        --delete-vhost=*) action=delete-vhost; vhost="${1#*=}"; vhost_given=1; shift ;;
        --list-vhosts) action=list-vhosts; shift ;;
        --status) action=status; shift ;;
        --stop) action=stop; shift ;;
        --restart) action=restart; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        *) bad_usage "unknown argument: $1" ;;
    esac
done
if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 45535 ]; then
    bad_usage "--port must be 1..45535 (the distribution port is PORT + 20000)"
fi
if [ "$action" != setup ] && [ "$action" != restart ]; then
    if [ ${#listen[@]} -gt 0 ] || [ "$forget_listen" = 1 ]; then
        bad_usage "--listen and --forget-listen go with setup or --restart only"
    fi
fi
if [ -n "$url_addr" ] && [ "$action" != setup ]; then
    bad_usage "--print-transport-url goes with setup only"
fi
if [ "$vhost_given" = 1 ]; then
    [ "$action" = setup ] || [ "$action" = delete-vhost ] \
        || bad_usage "--vhost goes with setup only"
    # Letters, digits and ._- only: safe in a URL path and on a command line as they are.
    [[ "$vhost" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] \
        || bad_usage "vhost $vhost: expected 1 to 64 letters, digits, '.', '_' or '-' (not starting with one of the last three)"
fi
[ "$(id -u)" = 0 ] || die "must run as root"

# --- addresses ---------------------------------------------------------------------------------
# canon_ip ADDR: the canonical text of an IPv4 or IPv6 literal (as ss prints it), or failure.
canon_ip() {
    local a="$1" o
    a="${a#[}"; a="${a%]}"
    if [[ "$a" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]]; then
        for o in "${BASH_REMATCH[@]:1}"; do [ $((10#$o)) -le 255 ] || return 1; done
        printf '%d.%d.%d.%d\n' "$((10#${BASH_REMATCH[1]}))" "$((10#${BASH_REMATCH[2]}))" \
            "$((10#${BASH_REMATCH[3]}))" "$((10#${BASH_REMATCH[4]}))"
    elif [[ "$a" =~ ^[0-9A-Fa-f:.]+$ ]] && [[ "$a" == *:* ]]; then
        python3 -I -S -c 'import ipaddress, sys; print(ipaddress.IPv6Address(sys.argv[1]).compressed)' \
            "$a" 2>/dev/null
    else
        return 1
    fi
}

is_loopback() { [[ "$1" == 127.* ]] || [ "$1" = ::1 ]; }

# host_part ADDR: ADDR as it goes in a URL or a "HOST:PORT" (IPv6 in brackets).
host_part() { if [[ "$1" == *:* ]]; then printf '[%s]' "$1"; else printf '%s' "$1"; fi; }

# The --listen ADDRs, canonical, each once.
given_addrs=()
for a in "${listen[@]}"; do
    c="$(canon_ip "$a")" || bad_usage "--listen $a: not an IPv4 or IPv6 address"
    case "$c" in
        0.0.0.0|::) bad_usage "--listen $a: the wildcard address is exactly what this script avoids" ;;
    esac
    dup=0
    for b in "${given_addrs[@]}"; do [ "$b" = "$c" ] && dup=1; done
    [ "$dup" = 1 ] || given_addrs+=("$c")
done
url_host=""
if [ -n "$url_addr" ]; then
    if [ "$url_addr" = localhost ]; then
        url_host=localhost
    else
        url_host="$(canon_ip "$url_addr")" \
            || bad_usage "--print-transport-url $url_addr: not an IP address (or localhost)"
    fi
fi
unset a b c dup

# Succeeds when ADDR (canonical) may be bound here: loopback or an address of an interface.
addr_present() {
    is_loopback "$1" && return 0
    ip -o addr show 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4}' | grep -qxF -- "$1"
}

# "ADDR PORT" of each AMQP listener in rabbitmq.conf (as the last setup wrote it).
configured_listeners() {
    [ -f "$RABBITMQ_CONF" ] || return 0
    sed -n 's/^listeners\.tcp\.[0-9]\{1,\} = \(.*\):\([0-9]\{1,5\}\)$/\1 \2/p' "$RABBITMQ_CONF"
}

# Without --port: the port of the last setup (default 5672).
sticky_port() {
    local p
    [ "$port_given" = 0 ] || return 0
    p="$(configured_listeners | awk '$1 == "127.0.0.1" {print $2; exit}')"
    [ -z "$p" ] || port="$p"
}

amqp_addrs=(127.0.0.1)
add_addr() {
    local b
    for b in "${amqp_addrs[@]}"; do [ "$b" = "$1" ] && return 0; done
    amqp_addrs+=("$1")
}

# plan_listeners: the AMQP addresses of this run into amqp_addrs: 127.0.0.1, the ones of
# the last setup (unless --forget-listen) that still exist here, then the --listen ADDRs.
plan_listeners() {
    local a p ok=0
    sticky_port
    amqp_addrs=(127.0.0.1)
    if [ "$forget_listen" = 0 ]; then
        while read -r a p; do
            if [ -z "$a" ] || [ "$a" = 127.0.0.1 ]; then continue; fi
            if addr_present "$a"; then
                add_addr "$a"
            else
                warn "no longer listening on $a: no interface of this machine has that address now"
            fi
        done < <(configured_listeners)
    fi
    for a in "${given_addrs[@]}"; do
        addr_present "$a" || die "--listen $a: no interface of this machine has that address (the two-host rig's: tools/two-hosts.sh up)"
        add_addr "$a"
    done
    if [ -n "$url_host" ] && [ "$url_host" != localhost ]; then
        for a in "${amqp_addrs[@]}"; do [ "$a" = "$url_host" ] && ok=1; done
        if [ "$ok" = 0 ]; then
            printf 'setup-rabbitmq: --print-transport-url %s: the broker does not listen there; add --listen %s\n' \
                "$url_addr" "$url_addr" >&2
            exit 2
        fi
    fi
}

amqp_addrs_text() {
    local a
    for a in "${amqp_addrs[@]}"; do printf '%s:%s ' "$(host_part "$a")" "$port"; done | sed 's/ $//'
}

# --- processes ---------------------------------------------------------------------------------

proc_comm() { cat "/proc/$1/comm" 2>/dev/null; }

# The running broker (its beam.smp) from its pid file, or failure.
broker_pid() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
    pid="${pid//[[:space:]]/}"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(proc_comm "$pid")" = beam.smp ] || return 1
    proc_alive "$pid" || return 1
    printf '%s\n' "$pid"
}

# recorded NAME: "PID STARTTIME [HASH]" from $STATE_DIR/NAME.started when that process
# still runs, else failure (and the stale record is removed).
recorded() {
    local f="$STATE_DIR/$1.started" pid start rest
    [ -f "$f" ] || return 1
    read -r pid start rest <"$f" || true
    if [[ "${pid:-}" =~ ^[0-9]+$ ]] && proc_alive "$pid" \
            && [ "$(proc_starttime "$pid")" = "${start:-}" ]; then
        printf '%s %s %s\n' "$pid" "$start" "${rest:-}"
        return 0
    fi
    rm -f "$f" 2>/dev/null || true
    return 1
}

# Succeeds when the broker running now is the one this script started.
broker_is_ours() {
    local pid rec
    pid="$(broker_pid)" || return 1
    rec="$(recorded broker)" || return 1
    [ "${rec%% *}" = "$pid" ]
}

# Listening TCP sockets as "ADDR PORT PROCESS PID" lines (ADDR canonical, without
# brackets; "*" as 0.0.0.0), one per process that holds the socket.
listeners() {
    ss -ltnpH 2>/dev/null | awk '
        {
            local_ = $4; procs = $0
            sub(/^.*users:\(/, "", procs)
            port = local_; sub(/^.*:/, "", port)
            addr = local_; sub(/:[^:]*$/, "", addr)
            gsub(/[\[\]]/, "", addr); sub(/%.*$/, "", addr)
            if (addr == "*") addr = "0.0.0.0"
            n = 0
            while (match(procs, /\("[^"]*",pid=[0-9]+/)) {
                p = substr(procs, RSTART + 2, RLENGTH - 2)
                name = p; sub(/",pid=.*/, "", name)
                pid = p; sub(/^.*pid=/, "", pid)
                print addr, port, name, pid
                procs = substr(procs, RSTART + RLENGTH)
                n++
            }
            if (n == 0) print addr, port, "-", "-"
        }'
}

# The epmd process listening on port 4369, or failure.
epmd_pid() {
    local pid
    pid="$(listeners | awk -v p="$EPMD_PORT" '$2 == p && $3 == "epmd" {print $4; exit}')"
    [ -n "$pid" ] && proc_alive "$pid" || return 1
    printf '%s\n' "$pid"
}

# --- logs ---------------------------------------------------------------------------------------
LOG_OFFSET=0
mark_broker_log() { LOG_OFFSET="$(stat -c %s "$BROKER_LOG" 2>/dev/null || echo 0)"; }

show_broker_logs() {
    local f="$STATE_DIR/launch.log"
    if [ -s "$f" ]; then
        printf -- '----- %s (last lines) -----\n' "$f" >&2
        tail -n 30 "$f" >&2
    fi
    if [ -s "$BROKER_LOG" ]; then
        printf -- '----- last lines written to %s -----\n' "$BROKER_LOG" >&2
        tail -c +"$((LOG_OFFSET + 1))" "$BROKER_LOG" | tail -n 30 | cut -c1-400 >&2
    fi
}

# --- AMQP probe ------------------------------------------------------------------------------------
# A real AMQP 0-9-1 client in a few lines (the system python has no AMQP library): log in
# with PLAIN, open the vhost, open a channel, declare a server-named exclusive queue,
# close.  argv: host port user vhost; the password on fd 3.  Exit 0 ok, 10 cannot connect,
# 11 login refused, 12 vhost refused, 13 queue declare refused, 1 anything else.
readonly AMQP_PROBE='
import socket, struct, sys

host, port, user, vhost = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(3, closefd=False) as f:
    password = f.readline().rstrip("\n")


class Refused(Exception):
    def __init__(self, code, text):
        super().__init__("%d %s" % (code, text))
        self.code = code


def shortstr(s):
    b = s.encode()
    return struct.pack("B", len(b)) + b


def longstr(b):
    return struct.pack(">I", len(b)) + b


def table(d):
    out = b""
    for k, v in d.items():
        out += shortstr(k)
        if isinstance(v, bool):
            out += b"t" + struct.pack("B", v)
        elif isinstance(v, dict):
            out += b"F" + table(v)
        else:
            out += b"S" + longstr(v.encode())
    return struct.pack(">I", len(out)) + out


def send(sock, channel, cls, meth, args=b""):
    payload = struct.pack(">HH", cls, meth) + args
    sock.sendall(struct.pack(">BHI", 1, channel, len(payload)) + payload + b"\xce")


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("the broker closed the connection")
        buf += chunk
    return buf


def recv_method(sock):
    while True:
        ftype, channel, size = struct.unpack(">BHI", recv_exact(sock, 7))
        if ftype == ord("A"):
            raise RuntimeError("the broker does not speak AMQP 0-9-1")
        payload = recv_exact(sock, size)
        if recv_exact(sock, 1) != b"\xce":
            raise RuntimeError("bad frame end")
        if ftype != 1:
            continue  # heartbeats
        cls, meth = struct.unpack(">HH", payload[:4])
        args = payload[4:]
        if (cls, meth) in ((10, 50), (20, 40)):  # connection.close, channel.close
            code = struct.unpack(">H", args[:2])[0]
            text = args[3:3 + args[2]].decode(errors="replace")
            raise Refused(code, text)
        return cls, meth, args


def expect(sock, cls, meth):
    got = recv_method(sock)
    if got[:2] != (cls, meth):
        raise RuntimeError("expected method %d.%d, got %d.%d" % (cls, meth, got[0], got[1]))
    return got[2]


stage = "connect"
try:
    sock = socket.create_connection((host, port), timeout=5)
except OSError as e:
    print("cannot connect to %s:%d: %s" % (host, port, e), file=sys.stderr)
    sys.exit(10)
try:
    sock.sendall(b"AMQP\x00\x00\x09\x01")
    expect(sock, 10, 10)                                    # connection.start
    stage = "login"
    props = {"product": "nova setup-rabbitmq probe",
             "capabilities": {"authentication_failure_close": True}}
    send(sock, 0, 10, 11, table(props) + shortstr("PLAIN")
         + longstr(b"\0" + user.encode() + b"\0" + password.encode()) + shortstr("en_US"))
    tune = expect(sock, 10, 30)                             # connection.tune
    channel_max, frame_max, _ = struct.unpack(">HIH", tune[:8])
    send(sock, 0, 10, 31, struct.pack(">HIH", channel_max, frame_max, 0))
    stage = "vhost"
    send(sock, 0, 10, 40, shortstr(vhost) + shortstr("") + b"\x00")
    expect(sock, 10, 41)                                    # connection.open-ok
    stage = "queue"
    send(sock, 1, 20, 10, shortstr(""))
    expect(sock, 20, 11)                                    # channel.open-ok
    send(sock, 1, 50, 10, struct.pack(">H", 0) + shortstr("") + b"\x0c" + struct.pack(">I", 0))
    expect(sock, 50, 11)                                    # queue.declare-ok
    send(sock, 0, 10, 50, struct.pack(">H", 200) + shortstr("bye") + struct.pack(">HH", 0, 0))
    expect(sock, 10, 51)                                    # connection.close-ok
except Refused as e:
    print("%s refused: %s" % (stage, e), file=sys.stderr)
    sys.exit({"login": 11, "vhost": 12, "queue": 13}.get(stage, 1))
except EOFError as e:
    print("%s: %s" % (stage, e), file=sys.stderr)
    sys.exit(11 if stage == "login" else 1)
except (OSError, RuntimeError, struct.error) as e:
    print("%s: %s" % (stage, e), file=sys.stderr)
    sys.exit(1)
finally:
    sock.close()
'

# amqp_login HOST USER VHOST PASSWORD: log in on HOST:PORT, open VHOST, declare a queue; the
# exit code is the probe's, the reason of a failure is in $PROBE_ERR.
PROBE_ERR=""
amqp_login() {
    local rc=0
    PROBE_ERR="$(python3 -I -S -c "$AMQP_PROBE" "$1" "$port" "$2" "$3" 3<<<"$4" 2>&1 >/dev/null)" \
        || rc=$?
    return "$rc"
}

# amqp_probe HOST [VHOST]: log in as nova on HOST:PORT (vhost "/" by default).
amqp_probe() { amqp_login "$1" "$NOVA_USER" "${2:-$VHOST}" "$password"; }

rabbitmqctl_q() {
    (cd / && "${CLEAN_ENV[@]}" "$RABBITMQCTL" -q "$@")
}

# --- password ------------------------------------------------------------------------------------
password=""
read_password() {
    [ -f "$PASSWORD_FILE" ] || return 1
    IFS= read -r password <"$PASSWORD_FILE" || true
    [ -n "$password" ]
}

ensure_password() {
    local dir tmp
    dir="$(dirname "$PASSWORD_FILE")"
    if [ ! -d "$dir" ]; then
        mkdir -p "$dir"
        chmod 755 "$dir"
    fi
    if read_password; then
        [ "$(stat -c %a "$PASSWORD_FILE")" = 600 ] || chmod 600 "$PASSWORD_FILE"
        [ "$(stat -c %u "$PASSWORD_FILE")" = 0 ] || chown root: "$PASSWORD_FILE"
        return 0
    fi
    password="$(python3 -I -S -c 'import secrets, string
alphabet = string.ascii_letters + string.digits
print("".join(secrets.choice(alphabet) for _ in range(32)))')"
    [[ "$password" =~ ^[A-Za-z0-9]{32}$ ]] || die "cannot make a password"
    tmp="$(umask 077 && mktemp "$PASSWORD_FILE.XXXXXX")"
    printf '%s\n' "$password" >"$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$PASSWORD_FILE"
    log "made a new password for user $NOVA_USER in $PASSWORD_FILE"
}

# URL-quote: every byte but letters, digits and -._~ as %XX.
urlquote() {
    local LC_ALL=C s="$1" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            [A-Za-z0-9._~-]) out+="$c" ;;
            *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s' "$out"
}

# --- packages ------------------------------------------------------------------------------------

POLICY_RC_D=/usr/sbin/policy-rc.d
made_policy=0
drop_policy() {
    if [ "$made_policy" = 1 ]; then
        rm -f "$POLICY_RC_D"
        made_policy=0
    fi
}

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    log "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [ ! -e "$POLICY_RC_D" ]; then
        # No systemd: keep the maintainer scripts from starting the broker (its init script
        # would wait up to 600 s); this script starts it itself.
        trap drop_policy EXIT
        printf '#!/bin/sh\n# Made by nova tools/setup-rabbitmq.sh during apt-get install; removed after.\nexit 101\n' \
            >"$POLICY_RC_D"
        chmod 755 "$POLICY_RC_D"
        made_policy=1
    fi
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        log "apt package lists are empty: apt-get update"
        apt-get update >&2 || die "apt-get update failed"
    fi
    local opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confold)
    if ! apt-get install "${opts[@]}" "${missing[@]}" >&2; then
        log "apt-get install failed; retrying after apt-get update"
        apt-get update >&2 || die "apt-get update failed"
        apt-get install "${opts[@]}" "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
    fi
    drop_policy
    for p in "${missing[@]}"; do pkg_installed "$p" || die "package $p is still not installed"; done
    id rabbitmq >/dev/null 2>&1 || die "the package made no user rabbitmq"
}

# --- configuration ------------------------------------------------------------------------------

rabbitmq_conf() {
    local i=1 a
    cat <<EOF
# Written by nova's tools/setup-rabbitmq.sh; rewritten on every run.
# AMQP on 127.0.0.1 and the addresses asked for with --listen only; no TLS listener.
EOF
    for a in "${amqp_addrs[@]}"; do
        printf 'listeners.tcp.%d = %s:%s\n' "$i" "$a" "$port"
        i=$((i + 1))
    done
    # (The text stays as it was: a changed file restarts the broker. This script deletes
    # "guest"; the line below only limits it should it ever come back.)
    cat <<'EOF'
listeners.ssl = none
# Erlang distribution (port 25672): loopback only.
distribution.listener.interface = 127.0.0.1
# "guest" may log in from loopback only (the default, said explicitly).
loopback_users.guest = true
EOF
}

rabbitmq_env_conf() {
    cat <<EOF
# Written by nova's tools/setup-rabbitmq.sh; rewritten on every run.
# Read by the broker and by the CLI tools (rabbitmqctl & co).
NODENAME=$NODENAME
# epmd (port 4369), when the broker or a CLI tool has to start it: loopback only.
ERL_EPMD_ADDRESS=127.0.0.1
# The CLI tools' own distribution listener (ports 35672-35682): loopback only.
CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
}

conf_hash=""
write_configs() {
    [ -d "$CONF_DIR" ] || mkdir -p "$CONF_DIR"
    rabbitmq_conf | write_if_changed "$RABBITMQ_CONF" || true
    rabbitmq_env_conf | write_if_changed "$RABBITMQ_ENV_CONF" || true
    # No plugins at all: no management, Prometheus, MQTT, STOMP or stream listeners.
    printf '[].\n' | write_if_changed "$PLUGINS_FILE" || true
    conf_hash="$(cat "$RABBITMQ_CONF" "$RABBITMQ_ENV_CONF" "$PLUGINS_FILE" | sha256sum)"
    conf_hash="${conf_hash%% *}"
}

# --- epmd ------------------------------------------------------------------------------------------
ensure_epmd() {
    local pid i
    if pid="$(epmd_pid)"; then
        return 0
    fi
    rm -f "$STATE_DIR/epmd.started"
    log "starting epmd on 127.0.0.1:$EPMD_PORT (and ::1)"
    # (fd 9 holds the flock of this script: a daemon must not keep it)
    (cd "$RABBIT_HOME" && exec setsid "${CLEAN_ENV[@]}" HOME="$RABBIT_HOME" \
        setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
        epmd -address 127.0.0.1 -port "$EPMD_PORT" </dev/null >>"$STATE_DIR/epmd.log" 2>&1 9<&-) &
    pid=$!
    for ((i = 0; i < 100; i++)); do
        if [ "$(epmd_pid || true)" = "$pid" ]; then
            printf '%s %s\n' "$pid" "$(proc_starttime "$pid")" >"$STATE_DIR/epmd.started"
            log "epmd started, pid $pid"
            return 0
        fi
        proc_alive "$pid" || break
        sleep 0.05
    done
    tail -n 20 "$STATE_DIR/epmd.log" >&2 || true
    die "epmd did not come up on port $EPMD_PORT"
}

# --- broker -----------------------------------------------------------------------------------------
broker_started=0
start_broker() {
    local launcher pid="" i start=$SECONDS busy
    busy="$(listeners | awk -v p="$port" '$2 == p' || true)"
    [ -z "$busy" ] || die "port $port is already taken: $(tr '\n' ';' <<<"$busy")"
    rm -f "$PID_FILE" "$STATE_DIR/broker.started"
    mark_broker_log
    log "starting the broker ($NODENAME; AMQP on $(amqp_addrs_text))"
    (cd "$RABBIT_HOME" && exec setsid "${CLEAN_ENV[@]}" HOME="$RABBIT_HOME" \
        setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
        "$SERVER_BIN" </dev/null >"$STATE_DIR/launch.log" 2>&1 9<&-) &
    launcher=$!
    while :; do
        if [ -z "$pid" ] && pid="$(broker_pid)"; then
            printf '%s %s %s\n' "$pid" "$(proc_starttime "$pid")" "$conf_hash" >"$STATE_DIR/broker.started"
        fi
        if [ -n "$pid" ] && listeners | awk -v p="$port" -v b="$pid" \
                '$1 == "127.0.0.1" && $2 == p && $4 == b {f = 1} END {exit !f}'; then
            break
        fi
        if [ -n "$pid" ] && ! proc_alive "$pid"; then
            show_broker_logs
            die "the broker (pid $pid) exited while starting"
        fi
        if [ -z "$pid" ] && ! proc_alive "$launcher" && ! broker_pid >/dev/null; then
            show_broker_logs
            die "the broker exited while starting (before writing $PID_FILE)"
        fi
        if [ $((SECONDS - start)) -ge "$BROKER_WAIT" ]; then
            show_broker_logs
            die "the broker does not listen on 127.0.0.1:$port after $BROKER_WAIT s"
        fi
        sleep 0.2
    done
    if ! rabbitmqctl_q --timeout 60 await_startup >/dev/null 2>"$STATE_DIR/await.err"; then
        cat "$STATE_DIR/await.err" >&2
        show_broker_logs
        die "rabbitmqctl await_startup failed"
    fi
    log "broker started, pid $pid ($((SECONDS - start)) s)"
    broker_started=1
}

stop_broker() {
    local pid
    if ! pid="$(broker_pid)"; then
        rm -f "$STATE_DIR/broker.started"
        log "broker: not running"
        return 0
    fi
    if ! broker_is_ours; then
        log "broker (pid $pid) was not started by this script: leaving it alone"
        return 1
    fi
    # SIGTERM makes RabbitMQ shut down cleanly (as "rabbitmqctl stop", without starting a CLI VM).
    stop_pid "$pid" "broker"
    rm -f "$STATE_DIR/broker.started"
}

stop_epmd() {
    local rec pid names
    if ! rec="$(recorded epmd)"; then
        if pid="$(epmd_pid)"; then
            log "epmd (pid $pid) was not started by this script: leaving it alone"
        fi
        return 0
    fi
    pid="${rec%% *}"
    names="$(epmd -port "$EPMD_PORT" -names 2>/dev/null | grep '^name ' || true)"
    if [ -n "$names" ]; then
        log "epmd (pid $pid) still has nodes registered ($(awk '{print $2}' <<<"$names" | tr '\n' ' ' | sed 's/ $//')): leaving it running"
        return 0
    fi
    stop_pid "$pid" "epmd"
    rm -f "$STATE_DIR/epmd.started"
}

# The AMQP listeners of the broker (canonical addresses, sorted) vs the ones asked for.
broker_amqp_addrs() {
    listeners | awk -v p="$port" -v b="$1" '$2 == p && $4 == b {print $1}' | sort -u
}
wanted_amqp_addrs() { printf '%s\n' "${amqp_addrs[@]}" | sort -u; }

# check_listeners: every socket of the broker and epmd on loopback or an asked address.
check_listeners() {
    local bpid="$1" epid bad="" addr lport name lpid a ok
    epid="$(epmd_pid || true)"
    while read -r addr lport name lpid; do
        [ "$lpid" = "$bpid" ] || [ "$lpid" = "$epid" ] || continue
        is_loopback "$addr" && continue
        ok=0
        for a in "${amqp_addrs[@]}"; do
            [ "$a" = "$addr" ] && [ "$lport" = "$port" ] && [ "$lpid" = "$bpid" ] && ok=1
        done
        [ "$ok" = 1 ] || bad+="$(host_part "$addr"):$lport ($name pid $lpid); "
    done < <(listeners)
    [ -z "$bad" ] || die "listening where it must not: ${bad%; }"
    [ "$(broker_amqp_addrs "$bpid")" = "$(wanted_amqp_addrs)" ] \
        || die "the broker's AMQP listeners are [$(broker_amqp_addrs "$bpid" | tr '\n' ' ' | sed 's/ $//')], not [$(wanted_amqp_addrs | tr '\n' ' ' | sed 's/ $//')]"
}

ensure_user() {
    local rc=0
    amqp_probe 127.0.0.1 || rc=$?
    case "$rc" in
        0) return 0 ;;
        11|12|13) log "user $NOVA_USER: $PROBE_ERR: (re)making it" ;;
        *) die "AMQP on 127.0.0.1:$port does not answer: $PROBE_ERR" ;;
    esac
    if rabbitmqctl_q list_users --no-table-headers | awk '{print $1}' | grep -qxF "$NOVA_USER"; then
        rabbitmqctl_q change_password "$NOVA_USER" <<<"$password" >/dev/null \
            || die "rabbitmqctl change_password $NOVA_USER failed"
        log "user $NOVA_USER: password set from $PASSWORD_FILE"
    else
        rabbitmqctl_q add_user "$NOVA_USER" <<<"$password" >/dev/null \
            || die "rabbitmqctl add_user $NOVA_USER failed"
        log "user $NOVA_USER: created"
    fi
    rabbitmqctl_q set_permissions -p "$VHOST" "$NOVA_USER" '.*' '.*' '.*' >/dev/null \
        || die "rabbitmqctl set_permissions failed"
    rc=0
    amqp_probe 127.0.0.1 || rc=$?
    [ "$rc" = 0 ] || die "user $NOVA_USER still cannot use vhost $VHOST: $PROBE_ERR"
}

# The broker's users, one a line.
list_users() {
    rabbitmqctl_q list_users --no-table-headers | awk 'NF {print $1}'
}

# remove_guest: delete user "guest"; name any other account but nova's in a warning.
remove_guest() {
    local users u
    users="$(list_users)" || die "rabbitmqctl list_users failed"
    for u in $users; do
        case "$u" in
            "$NOVA_USER") ;;
            guest)
                rabbitmqctl_q delete_user guest >/dev/null || die "rabbitmqctl delete_user guest failed"
                log "user guest: deleted (any local user could log in with it)" ;;
            *) warn "user $u is not nova's; this script leaves it (remove it with: rabbitmqctl delete_user $u)" ;;
        esac
    done
}

ensure_no_guest() {
    local rc=0
    if [ "$broker_started" = 0 ]; then
        # Nothing started: a guest/guest login is the quick check (no CLI VM to boot).
        amqp_login 127.0.0.1 guest / guest || rc=$?
        case "$rc" in
            11) return 0 ;;
            0) log "user guest: logs in with password guest" ;;
            *) die "AMQP on 127.0.0.1:$port does not answer: $PROBE_ERR" ;;
        esac
    fi
    remove_guest
    rc=0
    amqp_login 127.0.0.1 guest / guest || rc=$?
    [ "$rc" = 11 ] || die "user guest can still log in on 127.0.0.1:$port"
}

# ensure_vhost NAME: NAME exists, user nova (only) has every permission on it.
ensure_vhost() {
    local rc=0
    amqp_probe 127.0.0.1 "$1" || rc=$?
    case "$rc" in
        0) return 0 ;;
        12|13) ;;
        *) die "user $NOVA_USER on 127.0.0.1:$port: $PROBE_ERR" ;;
    esac
    if ! rabbitmqctl_q list_vhosts --no-table-headers | grep -qxF -- "$1"; then
        rabbitmqctl_q add_vhost "$1" >/dev/null || die "rabbitmqctl add_vhost $1 failed"
        log "vhost $1: created"
    fi
    rabbitmqctl_q set_permissions -p "$1" "$NOVA_USER" '.*' '.*' '.*' >/dev/null \
        || die "rabbitmqctl set_permissions -p $1 failed"
    rc=0
    amqp_probe 127.0.0.1 "$1" || rc=$?
    [ "$rc" = 0 ] || die "user $NOVA_USER still cannot use vhost $1: $PROBE_ERR"
}

running_broker() {
    broker_pid >/dev/null || die "the broker is not running (tools/setup-rabbitmq.sh starts it)"
}

do_list_vhosts() {
    running_broker
    rabbitmqctl_q list_vhosts --no-table-headers | awk 'NF' || die "rabbitmqctl list_vhosts failed"
}

do_delete_vhost() {
    running_broker
    if rabbitmqctl_q list_vhosts --no-table-headers | grep -qxF -- "$vhost"; then
        rabbitmqctl_q delete_vhost "$vhost" >/dev/null || die "rabbitmqctl delete_vhost $vhost failed"
        log "vhost $vhost: deleted"
    else
        log "vhost $vhost: does not exist"
    fi
}

do_setup() {
    local t0=$SECONDS pid rec
    install_packages
    plan_listeners
    if pid="$(broker_pid)" && ! broker_is_ours \
            && [ "$(broker_amqp_addrs "$pid")" != "$(wanted_amqp_addrs)" ]; then
        die "a broker not started by this script runs (pid $pid) with AMQP listeners [$(broker_amqp_addrs "$pid" | tr '\n' ' ' | sed 's/ $//')], not [$(wanted_amqp_addrs | tr '\n' ' ' | sed 's/ $//')]: stop it (rabbitmqctl stop) and run this again"
    fi
    ensure_password
    write_configs
    ensure_epmd

    if pid="$(broker_pid)"; then
        if broker_is_ours; then
            rec="$(recorded broker)"
            if [ "${rec##* }" != "$conf_hash" ]; then
                log "configuration changed: restarting the broker"
                stop_broker
                start_broker
            fi
        else
            log "broker (pid $pid, not started by this script) listens where asked: keeping it"
        fi
    else
        start_broker
    fi
    pid="$(broker_pid)" || die "the broker is not running"
    ensure_user
    ensure_no_guest
    [ -z "$vhost" ] || ensure_vhost "$vhost"
    check_listeners "$pid"
    log "broker ready ($((SECONDS - t0)) s): pid $pid, AMQP on $(amqp_addrs_text), user $NOVA_USER${vhost:+, vhost $vhost}"
    if [ -n "$url_addr" ]; then
        printf 'rabbit://%s:%s@%s:%s/%s\n' "$NOVA_USER" "$(urlquote "$password")" "$(host_part "$url_host")" "$port" "$vhost"
    fi
}

do_stop() {
    stop_broker || true
    stop_epmd
}

do_restart() {
    local pid
    if pid="$(broker_pid)"; then
        broker_is_ours || die "the broker (pid $pid) was not started by this script: not restarting it"
        stop_broker
    fi
    do_setup
}

do_status() {
    local rc=0 pid epid owner addr lport name lpid
    sticky_port
    if pid="$(broker_pid)"; then
        if broker_is_ours; then owner="started by setup-rabbitmq.sh"; else owner="not started by setup-rabbitmq.sh"; fi
        printf 'broker: running, pid %s (%s), node %s\n' "$pid" "$owner" "$NODENAME"
    else
        printf 'broker: not running\n'
        rc=3
    fi
    if epid="$(epmd_pid)"; then
        if recorded epmd >/dev/null; then owner="started by setup-rabbitmq.sh"; else owner="not started by setup-rabbitmq.sh"; fi
        printf 'epmd: running, pid %s (%s)\n' "$epid" "$owner"
    else
        printf 'epmd: not running\n'
    fi
    printf 'configured AMQP listeners: %s\n' "$(configured_listeners | while read -r addr lport; do
        printf '%s:%s ' "$(host_part "$addr")" "$lport"; done | sed 's/ $//')"
    while read -r addr lport name lpid; do
        if [ "$lpid" = "${pid:-x}" ] || [ "$lpid" = "${epid:-x}" ]; then
            printf 'listener: %s:%s %s pid %s\n' "$(host_part "$addr")" "$lport" "$name" "$lpid"
        fi
    done < <(listeners | sort -u)
    if [ "$rc" = 0 ]; then
        if ! read_password; then
            printf 'AMQP: no password in %s (run tools/setup-rabbitmq.sh)\n' "$PASSWORD_FILE"
            rc=3
        elif amqp_probe 127.0.0.1; then
            printf 'AMQP: user %s logs in on 127.0.0.1:%s, vhost %s usable\n' "$NOVA_USER" "$port" "$VHOST"
            if amqp_login 127.0.0.1 guest / guest; then
                printf 'AMQP: user guest logs in with password guest (run tools/setup-rabbitmq.sh)\n'
            else
                printf 'AMQP: guest/guest refused\n'
            fi
        else
            printf 'AMQP: user %s on 127.0.0.1:%s: %s\n' "$NOVA_USER" "$port" "$PROBE_ERR"
            rc=3
        fi
    fi
    return "$rc"
}

# ====================================================================================================
mkdir -p "$STATE_DIR"
case "$action" in
    status) do_status || exit $? ;;
    *)
        exec 9<"$SCRIPT_PATH"
        flock -w 300 9 || die "another tools/setup-rabbitmq.sh still runs"
        case "$action" in
            setup) do_setup ;;
            restart) do_restart ;;
            stop) do_stop ;;
            list-vhosts) do_list_vhosts ;;
            delete-vhost) do_delete_vhost ;;
        esac ;;
esac
