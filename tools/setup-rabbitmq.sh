#!/bin/bash
# setup-rabbitmq.sh - Debian's RabbitMQ broker for nova's compute services on this machine
# (root, no systemd), listening on loopback and the addresses asked for only.
#
# Usage:
#   tools/setup-rabbitmq.sh [--listen ADDR]... [--forget-listen] [--port PORT] [--vhost NAME] [--print-transport-url ADDR]
#   tools/setup-rabbitmq.sh --restart [--listen ADDR]... [--forget-listen] [--port PORT]
#   tools/setup-rabbitmq.sh --status [--port PORT]
#   tools/setup-rabbitmq.sh --stop
#   tools/setup-rabbitmq.sh --list-vhosts | --delete-vhost NAME
#
# Setup (the default), idempotent (about 1 s when nothing is to change, 30 s from scratch):
#   * apt-installs rabbitmq-server and iproute2 when missing;
#   * writes /etc/rabbitmq/rabbitmq.conf, rabbitmq-env.conf and enabled_plugins (only when
#     they differ): AMQP on 127.0.0.1:PORT and ADDR:PORT for each --listen ADDR, nothing
#     else (no TLS listener, no plugins); the Erlang distribution of the broker (25672) and
#     of the CLI tools, and epmd (4369), on loopback only; node name rabbit@localhost;
#   * starts epmd and the broker as user rabbitmq with start-stop-daemon (output in the
#     state directory, broker log /var/log/rabbitmq/rabbit@localhost.log) and waits for
#     it ("rabbitmqctl wait", at most 120 s). A broker this script started is restarted
#     when its configuration changed; one it did not start is kept when it listens
#     exactly where asked, else this script fails;
#   * user "nova", all permissions on vhost "/", password made once (32 letters and
#     digits) in /var/lib/nova/rabbitmq-password (0600): checked with "rabbitmqctl
#     authenticate_user", made or reset only when that fails;
#   * no user "guest" (made by the broker's first boot with password guest: any local user
#     could drive the compute hosts with it): deleted; other users are named in a warning;
#   * last, every listening socket of the broker and epmd (ss) must be on loopback or an
#     address asked for, and the AMQP listeners exactly those asked for.
#   --listen ADDR   also listen on ADDR (an address of this machine, never a wildcard;
#                   repeatable). Addresses of earlier runs are kept (read back from
#                   rabbitmq.conf) while an interface has them; a new one restarts the broker.
#   --forget-listen listen on 127.0.0.1 and this run's --listen ADDRs only.
#   --port PORT     AMQP port (default: the last setup's, at first 5672)
#   --vhost NAME    also make vhost NAME (letters, digits, ".", "_", "-"; at most 64) with
#                   all permissions for nova only.
#   --print-transport-url ADDR   then print rabbit://nova:PASSWORD@ADDR:PORT/[NAME] on
#                   stdout; ADDR is 127.0.0.1, localhost or a listen address (else exit 2).
# --restart  stops the broker (when this script started it) and sets up again: the
#            transport URLs stay the same.
# --status   state, listeners and whether nova can log in, on stdout; exit 3 when the
#            broker does not run or answer.
# --stop     stops the broker and epmd when this script started them (epmd only when no
#            other Erlang node uses it).
# --list-vhosts / --delete-vhost NAME (never "/")
#
# stdout: only the URL, the status report or the vhost list. stderr: progress; "ERROR:".
# Exit codes: 0 success, 1 failure, 2 bad usage, 3 (--status) not running/answering.
# State: $NOVA_RABBITMQ_STATE_DIR (default /run/nova-rabbitmq/): broker.started ("PID
#        STARTTIME CONFIG-HASH" of the broker this script started), epmd.started,
#        launch.log, epmd.log. Runs other than --status are serialised (flock).
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH PROG=setup-rabbitmq
readonly STATE_DIR="${NOVA_RABBITMQ_STATE_DIR:-/run/nova-rabbitmq}"
readonly CONF_DIR=/etc/rabbitmq
readonly RABBITMQ_CONF=$CONF_DIR/rabbitmq.conf
readonly PASSWORD_FILE=/var/lib/nova/rabbitmq-password
readonly NODENAME=rabbit@localhost
readonly RABBIT_HOME=/var/lib/rabbitmq
readonly PID_FILE=$RABBIT_HOME/mnesia/$NODENAME.pid
readonly BROKER_LOG=/var/log/rabbitmq/$NODENAME.log
readonly NOVA_USER=nova
readonly EPMD_PORT=4369
readonly BROKER_WAIT=120    # s; a boot takes 10-15 s
readonly CLEAN_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 LC_ALL=C.UTF-8)
# shellcheck source=lib/common.sh
source "${SCRIPT_PATH%/*}/lib/common.sh"
usage() { header 6,10; exit 2; }
bad_usage() { printf '%s: %s\n' "$PROG" "$*" >&2; usage; }

# --- arguments --------------------------------------------------------------------------
action=setup port=5672 port_given=0 url_addr="" forget_listen=0 vhost="" vhost_given=0
listen=()
while [ $# -gt 0 ]; do
    arg="$1"; val=""
    case "$arg" in
        --*=*) val="${arg#*=}"; arg="${arg%%=*}"; shift ;;
        --listen|--port|--print-transport-url|--vhost|--delete-vhost)
            [ $# -ge 2 ] || usage; val="$2"; shift 2 ;;
        *) shift ;;
    esac
    case "$arg" in
        --listen) listen+=("$val") ;;
        --port) port="$val"; port_given=1 ;;
        --forget-listen) forget_listen=1 ;;
        --print-transport-url) url_addr="$val" ;;
        --vhost) vhost="$val"; vhost_given=1 ;;
        --delete-vhost) action=delete-vhost; vhost="$val"; vhost_given=1 ;;
        --list-vhosts) action=list-vhosts ;;
        --status) action=status ;;
        --stop) action=stop ;;
        --restart) action=restart ;;
        -h|--help) header '2,/^set -euo/'; exit 0 ;;
        *) bad_usage "unknown argument: $arg" ;;
    esac
done
if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 45535 ]; then
    bad_usage "--port must be 1..45535 (the distribution port is PORT + 20000)"
fi
if [ "$action" != setup ] && [ "$action" != restart ] \
        && { [ ${#listen[@]} -gt 0 ] || [ "$forget_listen" = 1 ]; }; then
    bad_usage "--listen and --forget-listen go with setup or --restart only"
fi
[ -z "$url_addr" ] || [ "$action" = setup ] || bad_usage "--print-transport-url goes with setup only"
if [ "$vhost_given" = 1 ]; then
    [ "$action" = setup ] || [ "$action" = delete-vhost ] || bad_usage "--vhost goes with setup only"
    # Safe in a URL path and on a command line as it is.
    [[ "$vhost" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] \
        || bad_usage "vhost $vhost: expected 1 to 64 letters, digits, '.', '_' or '-' (not starting with one of the last three)"
fi
[ "$(id -u)" = 0 ] || die "must run as root"

# --- addresses --------------------------------------------------------------------------
# canon_ip ADDR: the canonical text of an IPv4 or IPv6 literal (as ss prints it).
canon_ip() {
    local o
    if [[ "$1" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]]; then
        for o in "${BASH_REMATCH[@]:1}"; do [ $((10#$o)) -le 255 ] || return 1; done
        printf '%d.%d.%d.%d\n' "$((10#${BASH_REMATCH[1]}))" "$((10#${BASH_REMATCH[2]}))" \
            "$((10#${BASH_REMATCH[3]}))" "$((10#${BASH_REMATCH[4]}))"
    else
        python3 -I -S -c 'import ipaddress, sys
print(ipaddress.IPv6Address(sys.argv[1].strip("[]")).compressed)' "$1" 2>/dev/null
    fi
}
is_loopback() { [[ "$1" == 127.* ]] || [ "$1" = ::1 ]; }
# host_part ADDR: as it goes in a URL or "HOST:PORT" (IPv6 in brackets).
host_part() { if [[ "$1" == *:* ]]; then printf '[%s]' "$1"; else printf '%s' "$1"; fi; }
joined() { tr '\n' ' ' | sed 's/ $//'; }

given_addrs=()
for a in "${listen[@]}"; do
    c="$(canon_ip "$a")" || bad_usage "--listen $a: not an IPv4 or IPv6 address"
    case "$c" in 0.0.0.0|::) bad_usage "--listen $a: the wildcard address is exactly what this script avoids" ;; esac
    [[ " ${given_addrs[*]} " == *" $c "* ]] || given_addrs+=("$c")
done
url_host=""
if [ -n "$url_addr" ] && [ "$url_addr" != localhost ]; then
    url_host="$(canon_ip "$url_addr")" || bad_usage "--print-transport-url $url_addr: not an IP address (or localhost)"
elif [ -n "$url_addr" ]; then
    url_host=localhost
fi

addr_present() {
    is_loopback "$1" || ip -o addr show | awk '{sub(/\/.*/, "", $4); print $4}' | grep -qxF -- "$1"
}

# "ADDR PORT" of each AMQP listener in rabbitmq.conf (as the last setup wrote it).
configured_listeners() {
    [ ! -f "$RABBITMQ_CONF" ] ||
        sed -n 's/^listeners\.tcp\.[0-9]\{1,\} = \(.*\):\([0-9]\{1,5\}\)$/\1 \2/p' "$RABBITMQ_CONF"
}

# Without --port: the port of the last setup.
sticky_port() {
    local p
    [ "$port_given" = 1 ] || p="$(configured_listeners | awk '$1 == "127.0.0.1" {print $2; exit}')"
    port="${p:-$port}"
}

# plan_listeners: amqp_addrs = 127.0.0.1, the last setup's that still exist here (unless
# --forget-listen), the --listen ADDRs.
amqp_addrs=(127.0.0.1)
plan_listeners() {
    local a p
    sticky_port
    if [ "$forget_listen" = 0 ]; then
        while read -r a p; do
            [ -n "$a" ] && [ "$a" != 127.0.0.1 ] || continue
            if addr_present "$a"; then amqp_addrs+=("$a")
            else warn "no longer listening on $a: no interface of this machine has that address now"; fi
        done < <(configured_listeners)
    fi
    for a in "${given_addrs[@]}"; do
        addr_present "$a" || die "--listen $a: no interface of this machine has that address (the two-host rig's: tools/two-hosts.sh up)"
        [[ " ${amqp_addrs[*]} " == *" $a "* ]] || amqp_addrs+=("$a")
    done
    if [ -n "$url_host" ] && [ "$url_host" != localhost ] && [[ " ${amqp_addrs[*]} " != *" $url_host "* ]]; then
        printf '%s: --print-transport-url %s: the broker does not listen there; add --listen %s\n' \
            "$PROG" "$url_addr" "$url_addr" >&2
        exit 2
    fi
}
amqp_addrs_text() { for a in "${amqp_addrs[@]}"; do printf '%s:%s\n' "$(host_part "$a")" "$port"; done | joined; }

# --- processes --------------------------------------------------------------------------
beam_exe() { local f; for f in /usr/lib/erlang/erts-*/bin/beam.smp; do printf '%s' "$f"; done; }
broker_pid() { pid_from_file "$PID_FILE" "$(beam_exe)"; }

# recorded NAME EXE: the record $STATE_DIR/NAME.started ("PID [...]") while its pid runs EXE.
recorded() {
    local rec
    rec="$(cat "$STATE_DIR/$1.started" 2>/dev/null)" || return 1
    pid_runs "${rec%% *}" "$2" || { rm -f "$STATE_DIR/$1.started"; return 1; }
    printf '%s\n' "$rec"
}
broker_is_ours() {
    local pid rec
    pid="$(broker_pid)" && rec="$(recorded broker "$(beam_exe)")" && [ "${rec%% *}" = "$pid" ]
}

# Listening TCP sockets as "ADDR PORT PROCESS PID" (ADDR canonical, "*" as 0.0.0.0).
listeners() {
    ss -ltnpH | awk '{
        addr = $4; port = addr; sub(/^.*:/, "", port); sub(/:[^:]*$/, "", addr)
        gsub(/[\[\]]/, "", addr); sub(/%.*$/, "", addr); if (addr == "*") addr = "0.0.0.0"
        procs = $0
        while (match(procs, /\("[^"]*",pid=[0-9]+/)) {
            p = substr(procs, RSTART + 2, RLENGTH - 2); name = p; sub(/",pid=.*/, "", name)
            sub(/^.*pid=/, "", p); print addr, port, name, p
            procs = substr(procs, RSTART + RLENGTH)
        }
    }'
}
epmd_pid() { listeners | awk -v p="$EPMD_PORT" '$2 == p && $3 == "epmd" {print $4; f = 1; exit} END {exit !f}'; }

rabbitmqctl_q() { (cd / && "${CLEAN_ENV[@]}" rabbitmqctl -q "$@"); }
# as_rabbitmq START-STOP-DAEMON-ARGS...: start a daemon as user rabbitmq, detached.
as_rabbitmq() {
    "${CLEAN_ENV[@]}" HOME="$RABBIT_HOME" start-stop-daemon --start --quiet --background \
        --chuid rabbitmq --chdir "$RABBIT_HOME" "$@"
}

# --- password ---------------------------------------------------------------------------
password=""
read_password() { [ -f "$PASSWORD_FILE" ] && IFS= read -r password <"$PASSWORD_FILE" && [ -n "$password" ]; }

ensure_password() {
    local tmp
    mkdir -p "${PASSWORD_FILE%/*}"
    if read_password; then
        chown root: "$PASSWORD_FILE"
        chmod 600 "$PASSWORD_FILE"
        return 0
    fi
    # A finite read: "tr </dev/urandom | head" dies of SIGPIPE (141) under pipefail.
    password="$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c1-32)"
    [[ "$password" =~ ^[A-Za-z0-9]{32}$ ]] || die "cannot make a password"
    tmp="$(umask 077 && mktemp "$PASSWORD_FILE.XXXXXX")"
    printf '%s\n' "$password" >"$tmp"
    mv -f "$tmp" "$PASSWORD_FILE"
    log "made a new password for user $NOVA_USER in $PASSWORD_FILE"
}

# Every byte but letters, digits and -._~ as %XX (ours has none: no python to start).
urlquote() {
    if [[ "$1" =~ ^[A-Za-z0-9._~-]*$ ]]; then printf '%s' "$1"; return; fi
    python3 -I -S -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""), end="")' "$1"
}

# --- configuration ----------------------------------------------------------------------
rabbitmq_conf() {
    local i=1 a
    cat <<EOF
# Written by nova's tools/setup-rabbitmq.sh; rewritten on every run.
# AMQP on 127.0.0.1 and the addresses asked for with --listen only; no TLS listener.
$(for a in "${amqp_addrs[@]}"; do printf 'listeners.tcp.%d = %s:%s\n' "$((i++))" "$a" "$port"; done)
listeners.ssl = none
# Erlang distribution (port 25672): loopback only.
distribution.listener.interface = 127.0.0.1
# "guest" may log in from loopback only (the default, said explicitly).
loopback_users.guest = true
EOF
}

conf_hash=""
write_configs() {
    mkdir -p "$CONF_DIR"
    rabbitmq_conf | write_if_changed "$RABBITMQ_CONF" || true
    write_if_changed "$CONF_DIR/rabbitmq-env.conf" <<EOF || true
# Written by nova's tools/setup-rabbitmq.sh; rewritten on every run.
# Read by the broker and by the CLI tools (rabbitmqctl & co).
NODENAME=$NODENAME
# epmd (port 4369), when the broker or a CLI tool has to start it: loopback only.
ERL_EPMD_ADDRESS=127.0.0.1
# The CLI tools' own distribution listener (ports 35672-35682): loopback only.
CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
    # No plugins: no management, Prometheus, MQTT, STOMP or stream listeners.
    printf '[].\n' | write_if_changed "$CONF_DIR/enabled_plugins" || true
    conf_hash="$(cat "$RABBITMQ_CONF" "$CONF_DIR/rabbitmq-env.conf" "$CONF_DIR/enabled_plugins" | sha256sum)"
    conf_hash="${conf_hash%% *}"
}

# --- daemons ----------------------------------------------------------------------------
ensure_epmd() {
    local pid
    epmd_pid >/dev/null && return 0
    log "starting epmd on 127.0.0.1:$EPMD_PORT (and ::1)"
    as_rabbitmq --make-pidfile --pidfile "$STATE_DIR/epmd.started" --output "$STATE_DIR/epmd.log" \
        --exec /usr/bin/epmd -- -address 127.0.0.1 -port "$EPMD_PORT" || die "cannot start epmd"
    for _ in {1..100}; do
        if pid="$(epmd_pid)"; then
            printf '%s %s\n' "$pid" "$(proc_starttime "$pid")" >"$STATE_DIR/epmd.started"
            return 0
        fi
        sleep 0.05
    done
    show_logs "$STATE_DIR/epmd.log"
    die "epmd did not come up on port $EPMD_PORT"
}

broker_started=0
start_broker() {
    local pid start=$SECONDS busy
    busy="$(listeners | awk -v p="$port" '$2 == p' | joined)"
    [ -z "$busy" ] || die "port $port is already taken: $busy"
    rm -f "$PID_FILE" "$STATE_DIR/broker.started"
    mark_log "$BROKER_LOG"
    log "starting the broker ($NODENAME; AMQP on $(amqp_addrs_text))"
    as_rabbitmq --output "$STATE_DIR/launch.log" --pidfile "$PID_FILE" --exec "$(beam_exe)" \
        --startas /usr/lib/rabbitmq/bin/rabbitmq-server || die "cannot start the broker"
    # "wait" fails as soon as the broker's process exits.
    if ! rabbitmqctl_q wait --timeout "$BROKER_WAIT" "$PID_FILE" >/dev/null 2>"$STATE_DIR/wait.err" \
            || ! pid="$(broker_pid)"; then
        show_logs "$STATE_DIR/wait.err" "$STATE_DIR/launch.log" "$BROKER_LOG"
        die "the broker did not come up"
    fi
    # "PID STARTTIME HASH", as earlier versions of this script read it too.
    printf '%s %s %s\n' "$pid" "$(proc_starttime "$pid")" "$conf_hash" >"$STATE_DIR/broker.started"
    log "broker started, pid $pid ($((SECONDS - start)) s)"
    broker_started=1
}

stop_broker() {
    local pid
    if ! pid="$(broker_pid)"; then
        log "broker: not running"
    elif ! broker_is_ours; then
        log "broker (pid $pid) was not started by this script: leaving it alone"
        return 1
    else
        # SIGTERM: a clean shutdown (as "rabbitmqctl stop"), about 1 s.
        daemon_stop "$pid" broker 30
    fi
    rm -f "$STATE_DIR/broker.started"
}

stop_epmd() {
    local pid names
    if ! pid="$(recorded epmd /usr/bin/epmd)"; then
        ! pid="$(epmd_pid)" || log "epmd (pid $pid) was not started by this script: leaving it alone"
        return 0
    fi
    pid="${pid%% *}"
    names="$(epmd -port "$EPMD_PORT" -names 2>/dev/null | awk '/^name / {print $2}' | joined)"
    if [ -n "$names" ]; then
        log "epmd (pid $pid) still has nodes registered ($names): leaving it running"
    else
        daemon_stop "$pid" epmd
        rm -f "$STATE_DIR/epmd.started"
    fi
}

# --- checks -----------------------------------------------------------------------------
broker_amqp_addrs() { listeners | awk -v p="$port" -v b="$1" '$2 == p && $4 == b {print $1}' | sort -u; }
wanted_amqp_addrs() { printf '%s\n' "${amqp_addrs[@]}" | sort -u; }

# check_listeners PID: every socket of the broker and epmd on loopback or an AMQP address
# asked for, and the AMQP listeners exactly those.
check_listeners() {
    local epid bad="" addr lport name lpid
    epid="$(epmd_pid || true)"
    while read -r addr lport name lpid; do
        { [ "$lpid" = "$1" ] || [ "$lpid" = "$epid" ]; } && ! is_loopback "$addr" || continue
        [ "$lpid" = "$1" ] && [ "$lport" = "$port" ] && [[ " ${amqp_addrs[*]} " == *" $addr "* ]] \
            || bad+="$(host_part "$addr"):$lport ($name pid $lpid); "
    done < <(listeners)
    [ -z "$bad" ] || die "listening where it must not: ${bad%; }"
    [ "$(broker_amqp_addrs "$1")" = "$(wanted_amqp_addrs)" ] \
        || die "the broker's AMQP listeners are [$(broker_amqp_addrs "$1" | joined)], not [$(wanted_amqp_addrs | joined)]"
}

# query_broker: users, nova's login (rc, 65: refused) and permissions, asked at once:
# each rabbitmqctl boots an Erlang VM (0.4 s, seconds on a busy machine).
users="" login_rc=0
query_broker() {
    local q="$STATE_DIR/query" p1 p2 p3
    mkdir -p "$q"
    rabbitmqctl_q list_users --no-table-headers >"$q/users" 2>&1 & p1=$!
    rabbitmqctl_q authenticate_user "$NOVA_USER" <<<"$password" >/dev/null 2>&1 & p2=$!
    rabbitmqctl_q list_user_permissions "$NOVA_USER" --no-table-headers >"$q/permissions" 2>/dev/null & p3=$!
    login_rc=0
    wait "$p2" || login_rc=$?
    wait "$p3" || true
    wait "$p1" || return 1
    users="$(awk 'NF {print $1}' "$q/users")"
}

# has_permissions VHOST: nova has every permission on VHOST (as last queried).
has_permissions() {
    awk -F'\t' -v v="$1" '$1 == v && $2 $3 $4 == ".*.*.*" {f = 1} END {exit !f}' "$STATE_DIR/query/permissions"
}

# grant VHOST: make it (when missing), every permission on it for nova.
grant() {
    rabbitmqctl_q add_vhost "$1" >/dev/null && rabbitmqctl_q set_permissions -p "$1" "$NOVA_USER" '.*' '.*' '.*' >/dev/null \
        && rabbitmqctl_q list_user_permissions "$NOVA_USER" --no-table-headers >"$STATE_DIR/query/permissions" \
        && has_permissions "$1" || die "cannot give user $NOVA_USER every permission on vhost $1"
    log "vhost $1: every permission for user $NOVA_USER"
}

# ensure_users: nova logs in with the kept password and may use "/" (and --vhost); no
# guest; other users named.
ensure_users() {
    local u verb
    query_broker || die "rabbitmqctl list_users: the broker does not answer: $(tail -n 3 "$STATE_DIR/query/users")"
    case "$login_rc" in
        0) ;;
        65)
            verb=change_password
            grep -qxF "$NOVA_USER" <<<"$users" || verb=add_user
            rabbitmqctl_q "$verb" "$NOVA_USER" <<<"$password" >/dev/null || die "rabbitmqctl $verb $NOVA_USER failed"
            rabbitmqctl_q authenticate_user "$NOVA_USER" <<<"$password" >/dev/null 2>&1 \
                || die "user $NOVA_USER still cannot log in"
            log "user $NOVA_USER: $verb with the password of $PASSWORD_FILE" ;;
        *) die "rabbitmqctl authenticate_user: the broker does not answer (exit $login_rc)" ;;
    esac
    has_permissions / || grant /
    [ -z "$vhost" ] || has_permissions "$vhost" || grant "$vhost"
    for u in $users; do
        case "$u" in
            "$NOVA_USER") ;;
            guest) rabbitmqctl_q delete_user guest >/dev/null || die "rabbitmqctl delete_user guest failed"
                   log "user guest: deleted (any local user could log in with it)" ;;
            *) warn "user $u is not nova's; this script leaves it (remove it with: rabbitmqctl delete_user $u)" ;;
        esac
    done
}

running_broker() { broker_pid >/dev/null || die "the broker is not running (tools/setup-rabbitmq.sh starts it)"; }

# --- actions ----------------------------------------------------------------------------
do_setup() {
    local t0=$SECONDS pid rec
    apt_install rabbitmq-server iproute2
    plan_listeners
    if pid="$(broker_pid)" && ! broker_is_ours && [ "$(broker_amqp_addrs "$pid")" != "$(wanted_amqp_addrs)" ]; then
        die "a broker not started by this script runs (pid $pid) with AMQP listeners [$(broker_amqp_addrs "$pid" | joined)], not [$(wanted_amqp_addrs | joined)]: stop it (rabbitmqctl stop) and run this again"
    fi
    ensure_password
    write_configs
    ensure_epmd
    if ! pid="$(broker_pid)"; then
        start_broker
    elif ! broker_is_ours; then
        log "broker (pid $pid, not started by this script) listens where asked: keeping it"
    elif rec="$(recorded broker "$(beam_exe)")" && [ "${rec##* }" != "$conf_hash" ]; then
        log "configuration changed: restarting the broker"
        stop_broker
        start_broker
    fi
    pid="$(broker_pid)" || die "the broker is not running"
    ensure_users
    check_listeners "$pid"
    log "broker ready ($((SECONDS - t0)) s): pid $pid, AMQP on $(amqp_addrs_text), user $NOVA_USER${vhost:+, vhost $vhost}"
    if [ -n "$url_addr" ]; then
        printf 'rabbit://%s:%s@%s:%s/%s\n' "$NOVA_USER" "$(urlquote "$password")" "$(host_part "$url_host")" "$port" "$vhost"
    fi
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
    local rc=0 pid epid owner addr lport name lpid users
    sticky_port
    if pid="$(broker_pid)"; then
        if broker_is_ours; then owner=""; else owner="not "; fi
        printf 'broker: running, pid %s (%sstarted by setup-rabbitmq.sh), node %s\n' "$pid" "$owner" "$NODENAME"
    else
        printf 'broker: not running\n'
        rc=3
    fi
    if epid="$(epmd_pid)"; then
        if recorded epmd /usr/bin/epmd >/dev/null; then owner=""; else owner="not "; fi
        printf 'epmd: running, pid %s (%sstarted by setup-rabbitmq.sh)\n' "$epid" "$owner"
    else
        printf 'epmd: not running\n'
    fi
    printf 'configured AMQP listeners: %s\n' "$(configured_listeners | while read -r addr lport; do
        printf '%s:%s\n' "$(host_part "$addr")" "$lport"; done | joined)"
    while read -r addr lport name lpid; do
        [ "$lpid" != "${pid:-x}" ] && [ "$lpid" != "${epid:-x}" ] \
            || printf 'listener: %s:%s %s pid %s\n' "$(host_part "$addr")" "$lport" "$name" "$lpid"
    done < <(listeners | sort -u)
    [ "$rc" = 0 ] || return "$rc"
    if ! read_password; then
        printf 'user %s: no password in %s (run tools/setup-rabbitmq.sh)\n' "$NOVA_USER" "$PASSWORD_FILE"
        return 3
    fi
    query_broker || { printf 'rabbitmqctl list_users: the broker does not answer\n'; return 3; }
    printf 'users: %s\n' "$(joined <<<"$users")"
    case "$login_rc" in
        0) printf 'user %s: logs in (rabbitmqctl authenticate_user)\n' "$NOVA_USER" ;;
        65) printf 'user %s: password refused (run tools/setup-rabbitmq.sh)\n' "$NOVA_USER" ;;
        *) printf 'rabbitmqctl authenticate_user: the broker does not answer (exit %s)\n' "$login_rc" ;;
    esac
    [ "$login_rc" = 0 ] || return 3
}

# ========================================================================================
mkdir -p "$STATE_DIR"
if [ "$action" = status ]; then
    do_status || exit $?
    exit 0
fi
exec 9<"$SCRIPT_PATH"
flock -w 300 9 || die "another tools/setup-rabbitmq.sh still runs"
case "$action" in
    setup) do_setup ;;
    restart) do_restart ;;
    stop) stop_broker || true; stop_epmd ;;
    list-vhosts) running_broker; rabbitmqctl_q list_vhosts --no-table-headers | awk 'NF' ;;
    delete-vhost)
        running_broker
        if rabbitmqctl_q list_vhosts --no-table-headers | grep -qxF -- "$vhost"; then
            rabbitmqctl_q delete_vhost "$vhost" >/dev/null || die "rabbitmqctl delete_vhost $vhost failed"
            log "vhost $vhost: deleted"
        else
            log "vhost $vhost: does not exist"
        fi ;;
esac
