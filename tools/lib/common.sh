# tools/lib/common.sh - what setup-host.sh, two-hosts.sh and setup-rabbitmq.sh share.
#
# Source it after setting PROG (the prefix of every message). Processes are started and
# stopped by Debian's start-stop-daemon (there is no systemd here); matching them by
# executable (--exec) also tells a zombie from a live daemon: PID 1 of some sandboxes
# never reaps orphans.

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
warn() { printf '%s: WARNING: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$PROG" "$*" >&2; exit 1; }

# pid_runs PID EXEC: succeeds when process PID runs EXEC (and is no zombie).
pid_runs() { [[ "$1" =~ ^[0-9]+$ ]] && start-stop-daemon --status --pid "$1" --exec "$2"; }

# pid_from_file FILE EXEC: the pid that FILE starts with when it runs EXEC, else failure.
pid_from_file() {
    local pid
    pid="$(cat "$1" 2>/dev/null)" || return 1
    pid="${pid%%[[:space:]]*}"
    pid_runs "$pid" "$2" || return 1
    printf '%s\n' "$pid"
}

# Start time (clock ticks since boot, field 22 of /proc/PID/stat): with the pid it names
# a process even after the pid number is reused. Unchanged by exec().
proc_starttime() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    local -a f
    read -ra f <<<"${stat##*) }"
    printf '%s\n' "${f[19]}"
}

# daemon_stop PID WHAT [WAIT]: SIGTERM, SIGKILL after WAIT s (default 15); dies if PID
# survives both.
daemon_stop() {
    local exe
    exe="$(readlink "/proc/$1/exe" 2>/dev/null)" || return 0   # gone, or a zombie
    exe="${exe% (deleted)}"
    log "stopping $2 (pid $1)"
    start-stop-daemon --stop --quiet --oknodo --pid "$1" --exec "$exe" \
        --retry "TERM/${3:-15}/KILL/5" || die "$2 (pid $1) does not exit"
}

pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)" = "ii " ]
}

# apt_install PACKAGE...: install the missing ones. "apt-get update" only when the lists
# are empty or the install fails without it. No systemd: a temporary policy-rc.d keeps
# the maintainer scripts from starting daemons (RabbitMQ's init script would wait 600 s);
# the scripts start what they need themselves.
apt_install() {
    local missing=() p policy=/usr/sbin/policy-rc.d made=0
    local opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confold)
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -gt 0 ] || return 0
    log "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# Made by nova tools/ during apt-get install; removed after.\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT   # also when cut off
    fi
    compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update >&2 || true
    if ! apt-get install "${opts[@]}" "${missing[@]}" >&2; then
        log "apt-get install failed; retrying after apt-get update"
        apt-get update >&2 && apt-get install "${opts[@]}" "${missing[@]}" >&2 || true
    fi
    [ "$made" = 0 ] || { rm -f "$policy"; trap - EXIT; }
    for p in "${missing[@]}"; do pkg_installed "$p" || die "cannot install package $p"; done
}

# Standard input into FILE (mode 644), only when it differs: succeeds when the file was
# written, fails when it was already so.
write_if_changed() {
    local file="$1" tmp
    tmp="$(mktemp "$file.new.XXXXXX")"
    cat >"$tmp"
    if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        return 1
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$file"
    log "wrote $file"
}

# mark_log FILE... before starting a daemon; show_logs FILE... on failure shows what
# each file got since.
declare -A LOG_OFFSET=()
mark_log() { local f; for f in "$@"; do LOG_OFFSET[$f]="$(stat -c %s "$f" 2>/dev/null || echo 0)"; done; }
show_logs() {
    local f
    for f in "$@"; do
        [ -s "$f" ] || continue
        printf -- '----- last lines written to %s -----\n' "$f" >&2
        tail -c +"$(( ${LOG_OFFSET[$f]:-0} + 1 ))" "$f" | tail -n 25 | cut -c1-400 >&2
    done
}

# header RANGE: the lines RANGE (sed address) of the calling script, without "# ".
header() { sed -n "$1p" "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2; }
