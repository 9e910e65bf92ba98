#!/bin/bash
# setup-keystone.sh - a real Keystone (OpenStack Identity) for nova on this Debian 12
# machine (root, no systemd): from PyPI in its own virtualenv, SQLite, fernet tokens,
# served by gunicorn on 127.0.0.1 only.
#
# Usage:
#   tools/setup-keystone.sh [--port PORT] [--compute-url URL] [--image-url URL]
#   tools/setup-keystone.sh --status | --stop
#
# Setup (the default action), idempotent; from scratch about 50 s (most of it pip), again
# about 5 s when nothing is to change (six password logins checked):
#   * virtualenv $VENV with keystone==$KEYSTONE_VERSION and gunicorn==$GUNICORN_VERSION
#     (pip, through the machine's pip configuration); done again only when the pinned
#     versions change (recorded in $VENV/nova-keystone.installed).
#   * system user "keystone" (no login, no home) runs the server and owns its data.
#   * $CONF_DIR/keystone.conf (SQLite $DATA_DIR/keystone.db, fernet token and credential
#     keys under $DATA_DIR, log $LOG_DIR/keystone.log), written only when it differs;
#     a change restarts the server.
#   * keystone-manage fernet_setup / credential_setup when the key repositories are
#     empty, db_sync when the database was never synced by this Keystone version, and
#     bootstrap (admin user, project "admin", roles admin/member/reader, region RegionOne,
#     the identity endpoints) when the admin cannot log in.
#   * gunicorn (keystone.wsgi.api:application, 2 workers) bound to 127.0.0.1:PORT, started
#     by start-stop-daemon as user keystone (pid file $STATE_DIR/keystone.pid), waited for
#     (GET /v3, at most 60 s), and then every listening socket of its processes is checked
#     to be on 127.0.0.1:PORT (else it is stopped and this script fails).
#   * tools/lib/keystone_resources.py (run by the venv's python) makes what is missing:
#     projects demo, alt and service; users demo (member of demo), alt (member of alt),
#     custom (only role "custom" on demo), nova and glance (role service on project
#     service); the admin also gets role admin on domain Default (for domain-scoped
#     tokens; bootstrap gives it the system scope); services compute ("nova") and image
#     ("glance") with public/internal/admin endpoints in RegionOne at --compute-url and
#     --image-url (updated when they differ). Each user logs in with its password or
#     gets it set again.
#   * passwords are made once (32 letters and digits) and kept in $CLOUDS_YAML (mode 0600,
#     root): an openstacksdk clouds.yaml with clouds nova-admin (project admin),
#     nova-admin-domain, nova-admin-system, nova-demo, nova-alt, nova-custom, nova-service
#     (user nova, for nova's [keystone_authtoken]) and glance-service. Use it with
#     OS_CLIENT_CONFIG_FILE=$CLOUDS_YAML openstack --os-cloud nova-demo ...
#   --port PORT        Keystone's port (default 5000)
#   --compute-url URL  the compute endpoint (default http://127.0.0.1:8774/v2.1)
#   --image-url URL    the image endpoint (default http://127.0.0.1:9292)
#
# --status  prints whether the server runs, where it listens and whether /v3 answers;
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
readonly KEYSTONE_VERSION=30.0.0
readonly GUNICORN_VERSION=27.0.1
readonly VENV=/opt/nova-keystone/venv
readonly CONF_DIR=/etc/nova-keystone
readonly CONF_FILE=$CONF_DIR/keystone.conf
readonly CLOUDS_YAML=$CONF_DIR/clouds.yaml
readonly DATA_DIR=/var/lib/nova-keystone
readonly LOG_DIR=/var/log/nova-keystone
readonly STATE_DIR=/run/nova-keystone
readonly PID_FILE=$STATE_DIR/keystone.pid
readonly CONF_HASH_FILE=$STATE_DIR/keystone.conf-hash
readonly SERVER_LOG=$LOG_DIR/gunicorn.log
readonly KS_USER=keystone
readonly START_WAIT=60      # s; the first start takes about 3 s

readonly PROG=setup-keystone
# shellcheck source=lib/common.sh
source "$TOOLS_DIR/lib/common.sh"
usage() {
    sed -n '7,8p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

action=setup
port=5000
compute_url=http://127.0.0.1:8774/v2.1
image_url=http://127.0.0.1:9292
while [ $# -gt 0 ]; do
    case "$1" in
        --port) [ $# -ge 2 ] || usage; port="$2"; shift 2 ;;
        --compute-url) [ $# -ge 2 ] || usage; compute_url="$2"; shift 2 ;;
        --image-url) [ $# -ge 2 ] || usage; image_url="$2"; shift 2 ;;
        --status) action=status; shift ;;
        --stop) action=stop; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        *) printf 'setup-keystone: unknown argument: %s\n' "$1" >&2; usage ;;
    esac
done
if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    printf 'setup-keystone: --port must be 1..65535\n' >&2; usage
fi
for u in "$compute_url" "$image_url"; do
    [[ "$u" =~ ^https?://[^/[:space:]\"\']+(/[^[:space:]\"\']*)?$ ]] \
        || { printf 'setup-keystone: not an http(s) URL: %s\n' "$u" >&2; usage; }
done
[ "$(id -u)" = 0 ] || die "must run as root"
readonly AUTH_URL="http://127.0.0.1:$port/v3"

# --- install ------------------------------------------------------------------------------
ensure_venv() {
    local want="keystone==$KEYSTONE_VERSION gunicorn==$GUNICORN_VERSION"
    # Debian's python3: the server runs as user keystone, who must be able to
    # read the interpreter (a root user's pyenv or ~/.local one is not).
    if ! grep -qx 'home = /usr/bin' "$VENV/pyvenv.cfg" 2>/dev/null; then
        [ ! -e "$VENV" ] || log "$VENV was not made from /usr/bin/python3: making it again"
        rm -rf "$VENV"
        pkg_installed python3-venv || die "python3-venv is missing (apt-get install python3-venv)"
        log "making the virtualenv $VENV"
        mkdir -p "${VENV%/*}"
        /usr/bin/python3 -m venv "$VENV" || die "/usr/bin/python3 -m venv $VENV failed"
    elif [ -x "$VENV/bin/gunicorn" ] && [ -x "$VENV/bin/keystone-manage" ] \
            && [ "$(cat "$VENV/nova-keystone.installed" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    log "pip install $want (into $VENV)"
    # shellcheck disable=SC2086
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q $want 2>&1 \
        | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
    "$VENV/bin/python" -c 'import keystone.wsgi, gunicorn' 2>/dev/null \
        || die "pip install $want into $VENV failed"
    printf '%s\n' "$want" >"$VENV/nova-keystone.installed"
}

ensure_user() {
    id -u "$KS_USER" >/dev/null 2>&1 && return 0
    useradd --system --no-create-home --home-dir "$DATA_DIR" --shell /usr/sbin/nologin \
        "$KS_USER" || die "useradd $KS_USER failed"
    log "made system user $KS_USER"
}

conf_changed=0
write_config() {
    install -d -m 0755 "$CONF_DIR"
    install -d -m 0750 -o "$KS_USER" -g "$KS_USER" "$DATA_DIR" "$LOG_DIR"
    install -d -m 0755 "$STATE_DIR"
    if write_if_changed "$CONF_FILE" <<EOF
# Written by tools/setup-keystone.sh; changes here are overwritten.
[DEFAULT]
log_file = $LOG_DIR/keystone.log
use_stderr = false

[database]
connection = sqlite:///$DATA_DIR/keystone.db

[token]
provider = fernet
expiration = 3600

[fernet_tokens]
key_repository = $DATA_DIR/fernet-keys

[fernet_receipts]
key_repository = $DATA_DIR/fernet-keys

[credential]
key_repository = $DATA_DIR/credential-keys
EOF
    then
        conf_changed=1
    fi
    # gunicorn reads ./gunicorn.conf.py (it runs in $CONF_DIR), so its command
    # line has no argument at all: Keystone's oslo.config parses the worker's
    # sys.argv and refuses gunicorn's options.
    if write_if_changed "$CONF_DIR/gunicorn.conf.py" <<EOF
# Written by tools/setup-keystone.sh; changes here are overwritten.
wsgi_app = 'keystone.wsgi.api:application'
bind = ['127.0.0.1:$port']
workers = 2
timeout = 120
proc_name = 'nova-keystone'
EOF
    then
        conf_changed=1
    fi
}

# keystone-manage as user keystone (the files it makes must be the server's).
manage() {
    setpriv --reuid="$KS_USER" --regid="$KS_USER" --init-groups \
        env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$DATA_DIR" PYTHONWARNINGS=ignore \
        "$VENV/bin/keystone-manage" --config-file "$CONF_FILE" "$@"
}

ensure_keys_and_db() {
    local synced="$DATA_DIR/db_synced"
    if ! [ -f "$DATA_DIR/fernet-keys/0" ]; then
        manage fernet_setup --keystone-user "$KS_USER" --keystone-group "$KS_USER" \
            || die "keystone-manage fernet_setup failed"
        log "fernet keys made in $DATA_DIR/fernet-keys"
    fi
    if ! [ -f "$DATA_DIR/credential-keys/0" ]; then
        manage credential_setup --keystone-user "$KS_USER" --keystone-group "$KS_USER" \
            || die "keystone-manage credential_setup failed"
        log "credential keys made in $DATA_DIR/credential-keys"
    fi
    if ! [ -f "$DATA_DIR/keystone.db" ] \
            || [ "$(cat "$synced" 2>/dev/null)" != "$KEYSTONE_VERSION" ]; then
        log "keystone-manage db_sync"
        manage db_sync || die "keystone-manage db_sync failed (see $LOG_DIR/keystone.log)"
        chmod 0640 "$DATA_DIR/keystone.db"
        printf '%s\n' "$KEYSTONE_VERSION" >"$synced"
    fi
}

# --- passwords ------------------------------------------------------------------------------
# The clouds.yaml is the one place the passwords live: read back, made once.
readonly ACCOUNTS=(admin demo alt custom nova glance)
declare -A PASSWORD
load_passwords() {
    local name pw
    for name in "${ACCOUNTS[@]}"; do
        pw=""
        if [ -f "$CLOUDS_YAML" ]; then
            pw="$(awk -v u="$name" '
                $1 == "username:" {cur = $2}
                $1 == "password:" && cur == u {print $2; exit}' "$CLOUDS_YAML")"
        fi
        if ! [[ "$pw" =~ ^[A-Za-z0-9]{32}$ ]]; then
            # (no "| head -c" on an endless pipe: with pipefail its SIGPIPE fails us)
            pw="$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c1-32)"
            [[ "$pw" =~ ^[A-Za-z0-9]{32}$ ]] || die "could not make a password"
        fi
        PASSWORD[$name]="$pw"
    done
}

# cloud NAME USER SCOPE...: one entry of clouds.yaml.
cloud() {
    local name="$1" user="$2"
    shift 2
    printf '  %s:\n    region_name: RegionOne\n    identity_api_version: 3\n' "$name"
    printf '    auth:\n      auth_url: %s\n' "$AUTH_URL"
    printf '      username: %s\n      password: %s\n' "$user" "${PASSWORD[$user]}"
    printf '      user_domain_name: Default\n'
    while [ $# -gt 0 ]; do printf '      %s\n' "$1"; shift; done
}

write_clouds_yaml() {
    local tmp
    tmp="$(mktemp "$CLOUDS_YAML.new.XXXXXX")"
    chmod 0600 "$tmp"
    {
        printf '# Written by tools/setup-keystone.sh (root only: passwords).\nclouds:\n'
        cloud nova-admin admin 'project_name: admin' 'project_domain_name: Default'
        cloud nova-admin-domain admin 'domain_name: Default'
        cloud nova-admin-system admin 'system_scope: all'
        cloud nova-demo demo 'project_name: demo' 'project_domain_name: Default'
        cloud nova-alt alt 'project_name: alt' 'project_domain_name: Default'
        cloud nova-custom custom 'project_name: demo' 'project_domain_name: Default'
        cloud nova-service nova 'project_name: service' 'project_domain_name: Default'
        cloud glance-service glance 'project_name: service' 'project_domain_name: Default'
    } >"$tmp"
    if [ -f "$CLOUDS_YAML" ] && cmp -s "$tmp" "$CLOUDS_YAML"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$CLOUDS_YAML"
        log "wrote $CLOUDS_YAML"
    fi
    chown root:root "$CLOUDS_YAML"
    chmod 0600 "$CLOUDS_YAML"
}

# --- server ------------------------------------------------------------------------------------
# The gunicorn master from the pid file, or failure.
server_pid() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
    pid="${pid//[[:space:]]/}"
    # The venv's interpreter running its gunicorn (a reused pid runs else).
    pid_runs "$pid" "$(readlink -f "$VENV/bin/python3")" >/dev/null || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$VENV/bin/gunicorn" || return 1
    printf '%s\n' "$pid"
}

# The pids of the master and its workers.
server_pids() {
    local pid="$1"
    printf '%s\n' "$pid"
    pgrep -P "$pid" || true
}

# "ADDR:PORT" of every listening TCP socket of the server's processes.
server_listeners() {
    local pids
    pids="$(server_pids "$1" | paste -sd'|')"
    ss -ltnpH 2>/dev/null | awk -v re="pid=($pids)," '$0 ~ re {print $4}' | sort -u
}

answers() { curl -fsS -m 10 -o /dev/null "$AUTH_URL" 2>/dev/null; }

# A running server may be slow to answer on a loaded host (tests, guests
# booting): it is given START_WAIT s before it counts as broken.
answers_within_start_wait() {
    local t0=$SECONDS
    until answers; do
        [ $((SECONDS - t0)) -lt "$START_WAIT" ] || return 1
        sleep 1
    done
}

start_server() {
    local pid t0=$SECONDS
    if ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
        die "port $port is already taken: $(ss -ltnpH "sport = :$port" | tr '\n' ';')"
    fi
    log "starting keystone under gunicorn on 127.0.0.1:$port"
    start-stop-daemon --start --quiet --background --no-close \
        --make-pidfile --pidfile "$PID_FILE" \
        --chuid "$KS_USER:$KS_USER" --chdir "$CONF_DIR" \
        --startas /usr/bin/env -- -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$DATA_DIR" \
        OS_KEYSTONE_CONFIG_FILES="$CONF_FILE" "$VENV/bin/gunicorn" </dev/null >>"$SERVER_LOG" 2>&1 9<&- \
        || die "start-stop-daemon could not start gunicorn"
    while [ $((SECONDS - t0)) -lt "$START_WAIT" ]; do
        answers && break
        if ! pid="$(server_pid)"; then
            tail -n 30 "$SERVER_LOG" >&2 || true
            die "gunicorn exited while starting (log: $SERVER_LOG)"
        fi
        sleep 0.2
    done
    if ! answers; then
        tail -n 30 "$SERVER_LOG" >&2 || true
        die "keystone does not answer on $AUTH_URL after $START_WAIT s"
    fi
    pid="$(server_pid)" || die "gunicorn is not running"
    printf '%s\n' "$(cat "$CONF_FILE" "$CONF_DIR/gunicorn.conf.py" | sha256sum | cut -c1-16) $port" >"$CONF_HASH_FILE"
    log "keystone answers on $AUTH_URL (pid $pid)"
}

stop_server() {
    local pid
    if ! pid="$(server_pid)"; then
        rm -f "$PID_FILE"
        log "keystone: not running"
        return 0
    fi
    # SIGTERM: gunicorn's graceful shutdown (workers finish their request).
    daemon_stop "$pid" "keystone (gunicorn)"
    rm -f "$PID_FILE" "$CONF_HASH_FILE"
}

check_listeners() {
    local pid="$1" got
    got="$(server_listeners "$pid")"
    if [ "$got" != "127.0.0.1:$port" ]; then
        stop_server
        die "keystone listened on [$(tr '\n' ' ' <<<"$got" | sed 's/ $//')], not only 127.0.0.1:$port: stopped it"
    fi
}

ensure_server() {
    local pid want
    want="$(cat "$CONF_FILE" "$CONF_DIR/gunicorn.conf.py" | sha256sum | cut -c1-16) $port"
    if pid="$(server_pid)"; then
        if [ "$conf_changed" = 1 ] \
                || [ "$(cat "$CONF_HASH_FILE" 2>/dev/null)" != "$want" ]; then
            log "configuration or port changed: restarting keystone"
            stop_server
            start_server
        elif ! answers_within_start_wait; then
            die "keystone (pid $pid) runs but $AUTH_URL does not answer within $START_WAIT s (log: $SERVER_LOG); tools/setup-keystone.sh --stop, then again"
        fi
    else
        start_server
    fi
    check_listeners "$(server_pid)"
}

# --- bootstrap and resources ----------------------------------------------------------------------
admin_logs_in() {
    curl -fsS -m 10 -o /dev/null -H 'Content-Type: application/json' \
        --data-binary @- "$AUTH_URL/auth/tokens" <<EOF
{"auth": {"identity": {"methods": ["password"], "password": {"user": {
 "name": "admin", "domain": {"id": "default"}, "password": "${PASSWORD[admin]}"}}},
 "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
EOF
}

ensure_bootstrap() {
    admin_logs_in 2>/dev/null && return 0
    log "keystone-manage bootstrap (admin user, project, roles admin/member/reader)"
    manage bootstrap --bootstrap-password "${PASSWORD[admin]}" \
        --bootstrap-username admin --bootstrap-project-name admin \
        --bootstrap-role-name admin --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "$AUTH_URL" --bootstrap-internal-url "$AUTH_URL" \
        --bootstrap-public-url "$AUTH_URL" >/dev/null \
        || die "keystone-manage bootstrap failed (see $LOG_DIR/keystone.log)"
    admin_logs_in || die "the admin still cannot log in after bootstrap"
}

ensure_resources() {
    NOVA_KEYSTONE_AUTH_URL="$AUTH_URL" NOVA_KEYSTONE_COMPUTE_URL="$compute_url" \
    NOVA_KEYSTONE_IMAGE_URL="$image_url" \
    NOVA_KEYSTONE_PASSWORDS="$(for n in "${ACCOUNTS[@]}"; do printf '%s=%s\n' "$n" "${PASSWORD[$n]}"; done)" \
        "$VENV/bin/python" -I "$TOOLS_DIR/lib/keystone_resources.py" \
        || die "making the projects, users, roles and endpoints failed"
}

do_setup() {
    local t0=$SECONDS
    ensure_venv
    ensure_user
    write_config
    ensure_keys_and_db
    load_passwords
    write_clouds_yaml
    ensure_server
    ensure_bootstrap
    ensure_resources
    log "keystone ready ($((SECONDS - t0)) s): $AUTH_URL, credentials in $CLOUDS_YAML"
}

do_status() {
    local pid
    if pid="$(server_pid)"; then
        printf 'keystone: running, gunicorn pid %s\n' "$pid"
        server_listeners "$pid" | sed 's/^/listener: /'
    else
        printf 'keystone: not running\n'
    fi
    if answers; then
        printf 'GET %s: answers\n' "$AUTH_URL"
        return 0
    fi
    printf 'GET %s: no answer\n' "$AUTH_URL"
    return 3
}

# ====================================================================================================
case "$action" in
    status) do_status || exit $? ;;
    *)
        exec 9<"$SCRIPT_PATH"
        flock -w 600 9 || die "another tools/setup-keystone.sh still runs"
        case "$action" in
            setup) do_setup ;;
            stop) stop_server ;;
        esac ;;
esac
