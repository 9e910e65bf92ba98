# tools/lib/common.sh - shell functions the host set-up scripts share.
#
# Sourced by setup-host.sh, two-hosts.sh and setup-rabbitmq.sh after they
# define log(), warn() and die(). stop_pid() waits $STOP_WAIT seconds (default
# 15) before SIGKILL.

# Start time (clock ticks since boot) of a pid, field 22 of /proc/PID/stat:
# with the pid it identifies a process even if the pid number is reused
# later. Unchanged by exec().
proc_starttime() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    # after "pid (comm) " the fields start at field 3; starttime is field 22
    local -a fields
    read -ra fields <<<"$stat"
    printf '%s\n' "${fields[19]}"
}

# Succeeds while PID exists and is not a zombie (in some sandboxes PID 1
# does not reap orphans, so a dead daemon can stay a zombie for good).
proc_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [ "${stat%% *}" != Z ]
}

# SIGTERM, then SIGKILL after ${STOP_WAIT:-15} s; dies if PID survives both.
stop_pid() {
    local pid="$1" what="$2" wait="${STOP_WAIT:-15}" i
    log "stopping $what (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < wait * 10; i++)); do
        proc_alive "$pid" || return 0
        sleep 0.1
    done
    warn "$what (pid $pid) ignored SIGTERM for $wait s: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        proc_alive "$pid" || return 0
        sleep 0.1
    done
    die "$what (pid $pid) does not exit"
}

pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)" = "ii " ]
}

# Standard input into FILE (mode 644), only when it differs: succeeds when
# the file was written, fails when it was already so.
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
    return 0
}
