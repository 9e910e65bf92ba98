#!/bin/bash
# setup-mariadb.sh - Debian's MariaDB on this machine (root, no systemd) for nova's split
# and multi-host deployments and the multi-host functional tests: on 127.0.0.1 only.
#
# Usage:
#   tools/setup-mariadb.sh                      install, configure, start; idempotent
#   tools/setup-mariadb.sh --database NAME      the same, then database NAME (nova has all
#                                               rights on it); prints its [database]
#                                               connection URL
#   tools/setup-mariadb.sh --drop-database NAME
#   tools/setup-mariadb.sh --list-databases     the databases, one a line
#   tools/setup-mariadb.sh --status | --stop
#
# What setup does, each step only when needed:
#   * apt-installs mariadb-server (Debian 12: 10.11) and iproute2; a temporary
#     /usr/sbin/policy-rc.d (exit 101) keeps the package from starting the server itself.
#   * writes /etc/mysql/mariadb.conf.d/90-nova.cnf: bind-address 127.0.0.1, port
#     $NOVA_MARIADB_PORT (default 3306), utf8mb4, no name resolution.
#   * starts the server with Debian's init script (/etc/init.d/mariadb: mysqld_safe, no
#     systemd) or restarts it when that file changed; waits for it to answer.
#   * user nova@127.0.0.1 with a password made once (32 letters and digits) and kept in
#     /var/lib/nova/mariadb-password (root only, 0600); no anonymous users.
#   * last, checks every listening socket of the server (ss -ltnp): 127.0.0.1:PORT and
#     nothing else, or it fails.
# NAME: letters, digits and "_", at most 64 (no quoting needed anywhere).
set -euo pipefail

PORT=${NOVA_MARIADB_PORT:-3306}
CNF=/etc/mysql/mariadb.conf.d/90-nova.cnf
PASSWORD_FILE=/var/lib/nova/mariadb-password
INIT=/etc/init.d/mariadb
POLICY_RC_D=/usr/sbin/policy-rc.d

log() { echo "setup-mariadb: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
sql() { mariadb --protocol=socket -u root -N -B -e "$1"; }

valid_name() {
    [[ "$1" =~ ^[A-Za-z0-9_]{1,64}$ ]] || die "database name '$1': letters, digits, _ only"
}

running() { mariadb-admin --protocol=socket -u root ping >/dev/null 2>&1; }

install_packages() {
    local missing=() p
    for p in mariadb-server mariadb-client iproute2; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    local made=0
    if [ ! -e "$POLICY_RC_D" ]; then
        printf '#!/bin/sh\n# nova tools/setup-mariadb.sh, during apt-get install\nexit 101\n' \
            >"$POLICY_RC_D"
        chmod 755 "$POLICY_RC_D"
        made=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    local opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confold)
    apt-get install "${opts[@]}" "${missing[@]}" >&2 ||
        { apt-get update >&2 && apt-get install "${opts[@]}" "${missing[@]}" >&2; } ||
        { [ "$made" = 0 ] || rm -f "$POLICY_RC_D"; die "apt-get install failed"; }
    [ "$made" = 0 ] || rm -f "$POLICY_RC_D"
}

write_conf() {
    local want
    want=$(cat <<EOF
# Written by nova's tools/setup-mariadb.sh; rewritten when it differs.
[mysqld]
bind-address = 127.0.0.1
port = $PORT
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
EOF
)
    if [ -f "$CNF" ] && [ "$(cat "$CNF")" = "$want" ]; then
        return 1
    fi
    printf '%s\n' "$want" >"$CNF"
    log "wrote $CNF"
    return 0
}

start() {
    local changed=$1
    if running; then
        [ "$changed" = 1 ] || return 0
        log "configuration changed: restarting"
        "$INIT" restart >&2 || die "$INIT restart failed"
    else
        "$INIT" start >&2 || die "$INIT start failed (see /var/log/mysql/error.log)"
    fi
    local i
    for i in $(seq 60); do running && return 0; sleep 1; done
    die "the server does not answer after 60 s"
}

password() {
    if [ ! -s "$PASSWORD_FILE" ]; then
        mkdir -p "$(dirname "$PASSWORD_FILE")"
        # A finite read: "tr </dev/urandom | head" dies of SIGPIPE (141)
        # under pipefail. The file holds the password alone, no newline.
        (umask 077; head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' \
            | cut -c1-32 | tr -d '\n' >"$PASSWORD_FILE")
    fi
    chown root:root "$PASSWORD_FILE"
    chmod 0600 "$PASSWORD_FILE"
    cat "$PASSWORD_FILE"
}

ensure_user() {
    local pw
    pw=$(password)
    sql "CREATE USER IF NOT EXISTS 'nova'@'127.0.0.1' IDENTIFIED BY '$pw';
         ALTER USER 'nova'@'127.0.0.1' IDENTIFIED BY '$pw';
         DROP USER IF EXISTS ''@'localhost';
         DROP USER IF EXISTS ''@'$(hostname)';"
}

check_listeners() {
    local pids lines bad
    pids=$(pgrep -x 'mariadbd|mysqld' | paste -sd'|') || die "no server process"
    lines=$(ss -Hltnp | grep -E "pid=($pids)," || true)
    bad=$(awk '{print $4}' <<<"$lines" | grep -vx "127.0.0.1:$PORT" || true)
    [ -z "$bad" ] || die "the server listens on $bad (only 127.0.0.1:$PORT wanted)"
    grep -q "127.0.0.1:$PORT " <<<"$lines" || die "the server does not listen on 127.0.0.1:$PORT"
}

url() {
    printf 'mysql+pymysql://nova:%s@127.0.0.1:%s/%s?charset=utf8mb4\n' \
        "$(password)" "$PORT" "$1"
}

setup() {
    install_packages
    local changed=0
    write_conf && changed=1
    start "$changed"
    ensure_user
    check_listeners
}

[ "$(id -u)" = 0 ] || die "run as root"
case "${1:-}" in
    '') setup; log "ready on 127.0.0.1:$PORT" ;;
    --database)
        valid_name "${2:-}"
        setup
        sql "CREATE DATABASE IF NOT EXISTS $2 CHARACTER SET utf8mb4;
             GRANT ALL PRIVILEGES ON $2.* TO 'nova'@'127.0.0.1';"
        url "$2" ;;
    --drop-database)
        valid_name "${2:-}"
        running || exit 0  # a stopped server: nothing to drop now
        sql "DROP DATABASE IF EXISTS $2" ;;
    --list-databases) sql 'SHOW DATABASES' ;;
    --status) running && check_listeners && log "running on 127.0.0.1:$PORT" ;;
    --stop) if running; then "$INIT" stop >&2; fi ;;
    *) die "unknown argument '$1' (see the head of $0)" ;;
esac
