#!/bin/bash
# setup-glance.sh - a real Glance (OpenStack Image service) for nova on this Debian 12
# machine (root, no systemd): from PyPI in its own virtualenv, file store, SQLite,
# keystonemiddleware against the Keystone of tools/setup-keystone.sh, served by gunicorn.
#
# Usage:
#   tools/setup-glance.sh [--listen ADDR]... [--forget-listen] [--port PORT] [--keystone-ready]
#   tools/setup-glance.sh --status | --stop
#
# Setup (the default action), idempotent; from scratch about 60 s (most of it pip), again
# about 2 s when nothing is to change:
#   * tools/setup-keystone.sh first (Glance checks every token there; it also holds the
#     image service's catalog entry, set to http://127.0.0.1:PORT here).
#   * virtualenv $VENV with glance==$GLANCE_VERSION and gunicorn==$GUNICORN_VERSION
#     (pip, through the machine's pip configuration); done again only when the pinned
#     versions change (recorded in $VENV/nova-glance.installed).
#   * system user "glance" (no login) runs the server and owns its data: the SQLite
#     database $DATA_DIR/glance.db and the file store $DATA_DIR/images (mode 0750).
#   * $CONF_DIR/glance-api.conf (file store, [keystone_authtoken] as user glance of
#     project service, paste flavor keystone), glance-api-paste.ini (Glance's own) and
#     gunicorn.conf.py, written only when they differ; a change restarts the server.
#   * glance-manage db_sync when the database was never synced by this Glance version.
#   * gunicorn (glance.wsgi.api:application, 2 workers) bound to 127.0.0.1:PORT and
#     ADDR:PORT for each listen address, started by start-stop-daemon as user glance
#     (pid file $STATE_DIR/glance.pid), waited for (GET /versions, at most 60 s); then
#     every listening socket of its processes must be one of those (else it is stopped
#     and this script fails).
#   --listen ADDR    also listen on ADDR, an address of this machine (never a wildcard):
#                    the two-host rig's host A address (tools/two-hosts.sh env:
#                    HOSTA_ADDR), so compute hosts in other network namespaces reach it.
#                    Remembered ($CONF_DIR/listen) while the address exists here.
#   --forget-listen  listen on 127.0.0.1 and this run's --listen ADDRs only.
#   --port PORT      Glance's port (default 9292)
#   --keystone-ready do not run tools/setup-keystone.sh first: the caller just did (with
#                    --image-url http://127.0.0.1:PORT, its default for port 9292).
#
# --status  whether the server runs, where it listens and whether /versions answers;
#           exit 0 when it answers, else 3.
# --stop    stops the server this script started (pid file).
#
# stdout: nothing, except the report of --status.  stderr: progress; on failure an
# "ERROR:" line (and the end of the server's log when it does not come up).
# Exit codes: 0 success, 1 failure, 2 bad usage, 3 (--status only) not answering.
# Runs other than --status are serialised (flock on this script).
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH
readonly TOOLS_DIR="${SCRIPT_PATH%/*}"
readonly GLANCE_VERSION=33.0.0
readonly GUNICORN_VERSION=27.0.1
readonly VENV=/opt/nova-glance/venv
readonly CONF_DIR=/etc/nova-glance
readonly CONF_FILE=$CONF_DIR/glance-api.conf
readonly LISTEN_FILE=$CONF_DIR/listen
readonly CLOUDS_YAML=/etc/nova-keystone/clouds.yaml
readonly DATA_DIR=/var/lib/nova-glance
readonly LOG_DIR=/var/log/nova-glance
readonly STATE_DIR=/run/nova-glance
readonly PID_FILE=$STATE_DIR/glance.pid
readonly CONF_HASH_FILE=$STATE_DIR/glance.conf-hash
readonly SERVER_LOG=$LOG_DIR/gunicorn.log
readonly GL_USER=glance
readonly START_WAIT=60      # s; the first start takes about 4 s

readonly PROG=setup-glance
# shellcheck source=lib/common.sh
source "$TOOLS_DIR/lib/common.sh"
usage() { header 7,8; exit 2; }

action=setup port=9292 forget_listen=0 keystone_ready=0
listen=()
while [ $# -gt 0 ]; do
    case "$1" in
        --port) [ $# -ge 2 ] || usage; port="$2"; shift 2 ;;
        --listen) [ $# -ge 2 ] || usage; listen+=("$2"); shift 2 ;;
        --forget-listen) forget_listen=1; shift ;;
        --keystone-ready) keystone_ready=1; shift ;;
        --status) action=status; shift ;;
        --stop) action=stop; shift ;;
        -h|--help) header '2,/^set -euo/'; exit 0 ;;
        *) printf 'setup-glance: unknown argument: %s\n' "$1" >&2; usage ;;
    esac
done
if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    printf 'setup-glance: --port must be 1..65535\n' >&2; usage
fi
for a in "${listen[@]}"; do
    [[ "$a" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] \
        || { printf 'setup-glance: --listen %s: not an IPv4 address\n' "$a" >&2; usage; }
    [ "$a" != 0.0.0.0 ] \
        || { printf 'setup-glance: --listen 0.0.0.0: the wildcard is what this script avoids\n' >&2; usage; }
done
[ "$(id -u)" = 0 ] || die "must run as root"
readonly URL="http://127.0.0.1:$port"

# Addresses of this machine (root namespace), one a line.
local_addrs() { ip -o -4 addr show 2>/dev/null | awk '{sub("/.*", "", $4); print $4}'; }

# The listen addresses: 127.0.0.1, the remembered ones still here, the --listen ones.
plan_listen() {
    local a here
    here="$(local_addrs)"
    for a in "${listen[@]}"; do
        grep -qxF "$a" <<<"$here" || die "--listen $a: not an address of this machine"
    done
    {
        printf '127.0.0.1\n'
        if [ "$forget_listen" = 0 ] && [ -f "$LISTEN_FILE" ]; then
            while read -r a; do grep -qxF "$a" <<<"$here" && printf '%s\n' "$a"; done <"$LISTEN_FILE"
        fi
        for a in "${listen[@]}"; do printf '%s\n' "$a"; done
    } | awk '!seen[$0]++'
}

# --- install ------------------------------------------------------------------------------
ensure_venv() {
    local want="glance==$GLANCE_VERSION gunicorn==$GUNICORN_VERSION"
    # Debian's python3: user glance must be able to read the interpreter.
    if ! grep -qx 'home = /usr/bin' "$VENV/pyvenv.cfg" 2>/dev/null; then
        [ ! -e "$VENV" ] || log "$VENV was not made from /usr/bin/python3: making it again"
        rm -rf "$VENV"
        pkg_installed python3-venv || die "python3-venv is missing (apt-get install python3-venv)"
        log "making the virtualenv $VENV"
        mkdir -p "${VENV%/*}"
        /usr/bin/python3 -m venv "$VENV" || die "/usr/bin/python3 -m venv $VENV failed"
    elif [ -x "$VENV/bin/gunicorn" ] && [ -x "$VENV/bin/glance-manage" ] \
            && [ "$(cat "$VENV/nova-glance.installed" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    log "pip install $want (into $VENV)"
    # shellcheck disable=SC2086
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q $want 2>&1 \
        | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
    "$VENV/bin/python" -c 'import glance.common.wsgi_app, gunicorn' 2>/dev/null \
        || die "pip install $want into $VENV failed"
    [ -f "$VENV/etc/glance/glance-api-paste.ini" ] \
        || die "$VENV/etc/glance/glance-api-paste.ini is missing: glance's install is incomplete"
    printf '%s\n' "$want" >"$VENV/nova-glance.installed"
}

ensure_user() {
    id -u "$GL_USER" >/dev/null 2>&1 && return 0
    useradd --system --no-create-home --home-dir "$DATA_DIR" --shell /usr/sbin/nologin \
        "$GL_USER" || die "useradd $GL_USER failed"
    log "made system user $GL_USER"
}

# The glance service user's password, from setup-keystone's clouds.yaml.
glance_password() {
    awk '$1 == "username:" {cur = $2} $1 == "password:" && cur == "glance" {print $2; exit}' \
        "$CLOUDS_YAML"
}

conf_changed=0
write_config() {
    local pw addrs binds="" a
    pw="$(glance_password)"
    [[ "$pw" =~ ^[A-Za-z0-9]{32}$ ]] || die "no password of user glance in $CLOUDS_YAML (tools/setup-keystone.sh)"
    addrs="$(plan_listen)"
    for a in $addrs; do binds+="'$a:$port', "; done
    install -d -m 0755 "$CONF_DIR" "$STATE_DIR"
    install -d -m 0750 -o "$GL_USER" -g "$GL_USER" "$DATA_DIR" "$DATA_DIR/images" \
        "$DATA_DIR/staging" "$DATA_DIR/tasks" "$LOG_DIR"
    # The password: readable by root and the server only.
    local tmp
    tmp="$(mktemp "$CONF_FILE.new.XXXXXX")"
    cat >"$tmp" <<EOF
# Written by tools/setup-glance.sh; changes here are overwritten.
[DEFAULT]
log_file = $LOG_DIR/glance-api.log
use_stderr = false
enabled_backends = file:file
# Glance's own link back to itself (image import between workers).
worker_self_reference_url = $URL
# Images of the test cloud are small; a bound all the same (10 GiB).
image_size_cap = 10737418240

[database]
connection = sqlite:///$DATA_DIR/glance.db

[glance_store]
default_backend = file

[file]
filesystem_store_datadir = $DATA_DIR/images/

[os_glance_staging_store]
filesystem_store_datadir = $DATA_DIR/staging/

[os_glance_tasks_store]
filesystem_store_datadir = $DATA_DIR/tasks/

[paste_deploy]
flavor = keystone

[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:5000/v3
auth_url = http://127.0.0.1:5000/v3
auth_type = password
username = glance
password = $pw
user_domain_name = Default
project_name = service
project_domain_name = Default
region_name = RegionOne
EOF
    chown "root:$GL_USER" "$tmp"
    chmod 0640 "$tmp"
    if [ -f "$CONF_FILE" ] && cmp -s "$tmp" "$CONF_FILE"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$CONF_FILE"
        log "wrote $CONF_FILE"
        conf_changed=1
    fi
    write_if_changed "$CONF_DIR/glance-api-paste.ini" <"$VENV/etc/glance/glance-api-paste.ini" \
        && conf_changed=1
    # gunicorn reads ./gunicorn.conf.py (it runs in $CONF_DIR): no argument on its
    # command line, which Glance's oslo.config would parse and refuse.
    write_if_changed "$CONF_DIR/gunicorn.conf.py" <<EOF && conf_changed=1
# Written by tools/setup-glance.sh; changes here are overwritten.
wsgi_app = 'glance.wsgi.api:application'
bind = [${binds%, }]
workers = 2
timeout = 600
proc_name = 'nova-glance'
EOF
    printf '%s\n' $addrs | grep -vxF 127.0.0.1 | write_if_changed "$LISTEN_FILE" || true
    WANT_LISTENERS="$(for a in $addrs; do printf '%s:%s\n' "$a" "$port"; done | sort)"
}

manage() {
    setpriv --reuid="$GL_USER" --regid="$GL_USER" --init-groups \
        env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$DATA_DIR" PYTHONWARNINGS=ignore \
        "$VENV/bin/glance-manage" --config-file "$CONF_FILE" "$@"
}

ensure_db() {
    local synced="$DATA_DIR/db_synced"
    if ! [ -f "$DATA_DIR/glance.db" ] \
            || [ "$(cat "$synced" 2>/dev/null)" != "$GLANCE_VERSION" ]; then
        log "glance-manage db_sync"
        manage db_sync >>"$LOG_DIR/db_sync.log" 2>&1 \
            || { tail -n 20 "$LOG_DIR/db_sync.log" >&2; die "glance-manage db_sync failed (log: $LOG_DIR/db_sync.log)"; }
        chmod 0640 "$DATA_DIR/glance.db"
        printf '%s\n' "$GLANCE_VERSION" >"$synced"
    fi
}

# --- server ------------------------------------------------------------------------------------
server_pid() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
    pid="${pid//[[:space:]]/}"
    pid_runs "$pid" "$(readlink -f "$VENV/bin/python3")" >/dev/null || return 1
    # setproctitle (a dependency of Glance's) makes gunicorn name its master so.
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null \
        | grep -qxF -e "$VENV/bin/gunicorn" -e 'gunicorn: master [nova-glance]' || return 1
    printf '%s\n' "$pid"
}

server_listeners() {
    local pids
    pids="$({ printf '%s\n' "$1"; pgrep -P "$1" || true; } | paste -sd'|')"
    ss -ltnpH 2>/dev/null | awk -v re="pid=($pids)," '$0 ~ re {print $4}' | sort -u
}

answers() { curl -fsS -m 3 -o /dev/null "$URL/versions" 2>/dev/null; }

conf_hash() { cat "$CONF_FILE" "$CONF_DIR/glance-api-paste.ini" "$CONF_DIR/gunicorn.conf.py" | sha256sum | cut -c1-16; }

start_server() {
    local pid t0=$SECONDS
    if ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
        die "port $port is already taken: $(ss -ltnpH "sport = :$port" | tr '\n' ';')"
    fi
    log "starting glance-api under gunicorn on $(tr '\n' ' ' <<<"$WANT_LISTENERS")"
    mark_log "$SERVER_LOG" "$LOG_DIR/glance-api.log"
    start-stop-daemon --start --quiet --background --no-close \
        --make-pidfile --pidfile "$PID_FILE" \
        --chuid "$GL_USER:$GL_USER" --chdir "$CONF_DIR" \
        --startas /usr/bin/env -- -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$DATA_DIR" \
        OS_GLANCE_CONFIG_DIR="$CONF_DIR" "$VENV/bin/gunicorn" </dev/null >>"$SERVER_LOG" 2>&1 9<&- \
        || die "start-stop-daemon could not start gunicorn"
    while [ $((SECONDS - t0)) -lt "$START_WAIT" ]; do
        answers && break
        # (The pid may still be env's, before it execs gunicorn.)
        if ! kill -0 "$(cat "$PID_FILE" 2>/dev/null)" 2>/dev/null; then
            show_logs "$SERVER_LOG" "$LOG_DIR/glance-api.log"
            die "gunicorn exited while starting (log: $SERVER_LOG)"
        fi
        sleep 0.2
    done
    if ! answers; then
        show_logs "$SERVER_LOG" "$LOG_DIR/glance-api.log"
        die "glance does not answer on $URL/versions after $START_WAIT s"
    fi
    pid="$(server_pid)" || die "gunicorn is not running"
    printf '%s %s\n' "$(conf_hash)" "$port" >"$CONF_HASH_FILE"
    log "glance answers on $URL (pid $pid)"
}

stop_server() {
    local pid
    if ! pid="$(server_pid)"; then
        rm -f "$PID_FILE"
        log "glance: not running"
        return 0
    fi
    daemon_stop "$pid" "glance (gunicorn)"
    rm -f "$PID_FILE" "$CONF_HASH_FILE"
}

check_listeners() {
    local got
    got="$(server_listeners "$1")"
    if [ "$got" != "$WANT_LISTENERS" ]; then
        stop_server
        die "glance listened on [$(tr '\n' ' ' <<<"$got" | sed 's/ $//')], not [$(tr '\n' ' ' <<<"$WANT_LISTENERS" | sed 's/ $//')]: stopped it"
    fi
}

ensure_server() {
    local pid
    if pid="$(server_pid)"; then
        if [ "$conf_changed" = 1 ] \
                || [ "$(cat "$CONF_HASH_FILE" 2>/dev/null)" != "$(conf_hash) $port" ]; then
            log "configuration or port changed: restarting glance"
            stop_server
            start_server
        elif ! answers; then
            die "glance (pid $pid) runs but $URL does not answer (log: $SERVER_LOG); tools/setup-glance.sh --stop, then again"
        fi
    else
        start_server
    fi
    check_listeners "$(server_pid)"
}

do_setup() {
    local t0=$SECONDS
    [ "$keystone_ready" = 1 ] || "$TOOLS_DIR/setup-keystone.sh" --image-url "$URL" >&2
    ensure_venv
    ensure_user
    write_config
    ensure_db
    ensure_server
    log "glance ready ($((SECONDS - t0)) s): $URL, listening on $(tr '\n' ' ' <<<"$WANT_LISTENERS")"
}

do_status() {
    local pid
    if pid="$(server_pid)"; then
        printf 'glance: running, gunicorn pid %s\n' "$pid"
        server_listeners "$pid" | sed 's/^/listener: /'
    else
        printf 'glance: not running\n'
    fi
    if answers; then
        printf 'GET %s/versions: answers\n' "$URL"
        return 0
    fi
    printf 'GET %s/versions: no answer\n' "$URL"
    return 3
}

# ====================================================================================================
case "$action" in
    status) do_status || exit $? ;;
    *)
        exec 9<"$SCRIPT_PATH"
        flock -w 600 9 || die "another tools/setup-glance.sh still runs"
        case "$action" in
            setup) do_setup ;;
            stop) stop_server ;;
        esac ;;
esac
