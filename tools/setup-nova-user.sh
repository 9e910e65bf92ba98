#!/bin/bash
# setup-nova-user.sh - let nova-compute run as the unprivileged user "nova".
#
# Usage: tools/setup-nova-user.sh [--python PATH]
#
# Idempotent; as root, after tools/setup-host.sh started libvirtd (it calls this
# script near its end). It:
#   * apt-installs Debian's sudo when missing
#   * creates the system group "libvirt" and the system user "nova" (home
#     /var/lib/nova, no login shell, in group libvirt), and /var/lib/nova/instances
#     (nova's, 0755: the instances_path default; $NOVA_STATE_PATH instead of
#     /var/lib/nova if set). A link in their place is refused, never followed
#   * writes /etc/libvirt/libvirtd.conf: the read-write socket belongs to group
#     libvirt, mode 0770, and needs no polkit (there is none here); libvirtd is
#     restarted (start-stop-daemon) when that file changed while it runs, and
#     tools/setup-host.sh's record of the daemon it started follows the new pid
#   * writes /usr/local/libexec/nova/privsep-helper (root's, 0755): starts the privsep
#     daemon with the python of --python (default $NOVA_PYTHON, else python3; it
#     needs oslo.privsep) and this tree's nova, from / (never the caller's folder:
#     python -m imports from it). Without --python an existing helper keeps its
#     python and tree (one not written by this script is kept as it is)
#   * writes /etc/sudoers.d/nova-privsep (0440, checked with visudo): user nova may
#     run exactly that helper, as root, for context nova.privsep.console_pctxt and a
#     socket in a folder mkdtemp made in /tmp; nothing else
# The tree and the python must not be writable by nova (they run as root): refused
# otherwise.
#
# nova.conf of an unprivileged nova-compute then needs:
#   [nova_console_privsep]
#   helper_command = sudo /usr/local/libexec/nova/privsep-helper
# (see doc/source/admin/deployment.rst, "Running nova-compute unprivileged").
#
# stdout: nothing. stderr: progress; on failure an "ERROR:" line.
# Exit codes: 0 done, 1 failure, 2 bad usage.
set -euo pipefail

TOOLS_DIR="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
TREE="$(dirname "$TOOLS_DIR")"
readonly TOOLS_DIR TREE
readonly HELPER=/usr/local/libexec/nova/privsep-helper
readonly SUDOERS=/etc/sudoers.d/nova-privsep
readonly LIBVIRTD_CONF=/etc/libvirt/libvirtd.conf
readonly STATE_DIR="${NOVA_HOST_STATE_DIR:-/run/nova-virtlogd-host}"
# nova's home and state_path (instances_path is its instances/).
readonly STATE_PATH="${NOVA_STATE_PATH:-/var/lib/nova}"

log() { printf 'setup-nova-user: %s\n' "$*" >&2; }
die() { printf 'setup-nova-user: ERROR: %s\n' "$*" >&2; exit 1; }

python=""
while [ $# -gt 0 ]; do
    case "$1" in
        --python) [ $# -ge 2 ] || { echo "usage: $0 [--python PATH]" >&2; exit 2; }
                  python="$2"; shift 2 ;;
        *) echo "usage: $0 [--python PATH]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || die "run me as root"
helper_tree="$TREE"
if [ -z "$python" ] && [ -x "$HELPER" ]; then
    # Keep the helper's python and tree as written (by a run with --python, e.g.
    # the functional tests' while they run): only set the rest up again, the
    # helper too when it is one of ours (an older one ran from nova's folder).
    keep_helper=1
    exec_line="^PYTHONSAFEPATH=1 PYTHONPATH='\([^']*\)' exec '\([^']*\)' -m oslo_privsep\.daemon \"\$@\"\$"
    old_line="^PYTHONPATH='\([^']*\)' exec '\([^']*\)' -m oslo_privsep\.daemon \"\$@\"\$"
    for line in "$exec_line" "$old_line"; do
        python="$(sed -n "s/$line/\2/p" "$HELPER")"
        helper_tree="$(sed -n "s/$line/\1/p" "$HELPER")"
        [ -z "$python" ] || { keep_helper=0; break; }
    done
    [ "$keep_helper" = 0 ] ||
        log "WARNING: keeping $HELPER as it is (not written by me): it must cd / before python -m"
else
    keep_helper=0
    python="${python:-${NOVA_PYTHON:-python3}}"
    # Not resolved through links: a venv's python finds its packages by its own path.
    python="$(command -v "$python")" || die "no python at $python"
    case "$python" in /*) ;; *) python="$PWD/$python" ;; esac
    "$python" -c 'import oslo_privsep.daemon' 2>/dev/null ||
        log "WARNING: $python has no oslo.privsep: the privsep helper fails until it has (pip install -r requirements.txt)"
fi

# write_if_changed PATH MODE: stdin to PATH (mode MODE, root's); 0 if it changed.
write_if_changed() {
    local path="$1" mode="$2" tmp
    tmp="$(mktemp "$path.XXXXXX")"
    cat >"$tmp"
    chmod "$mode" "$tmp"
    if cmp -s "$tmp" "$path" 2>/dev/null; then rm -f "$tmp"; return 1; fi
    mv -f "$tmp" "$path"
    log "wrote $path"
}

# Nothing nova may write runs as root: the tree, the python and their folders.
not_nova_writable() {
    local path
    for path in "$helper_tree" "$helper_tree/nova" "$helper_tree/nova/privsep" "$python" \
            "$(dirname "$python")"; do
        [ -e "$path" ] || continue
        [ "$(stat -L -c %u "$path")" = 0 ] && [ -z "$(find -L "$path" -maxdepth 0 -perm /022)" ] ||
            die "$path is not root's or is writable by others: the privsep daemon runs it as root"
    done
}

command -v sudo >/dev/null && command -v visudo >/dev/null || {
    log "installing sudo"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sudo >&2 ||
        { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends sudo >&2; }
}

getent group libvirt >/dev/null || { groupadd --system libvirt; log "group libvirt created"; }
if ! id nova >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$STATE_PATH" --no-create-home \
        --shell /usr/sbin/nologin --groups libvirt nova
    log "user nova created"
fi
id -nG nova | grep -qw libvirt || usermod -a -G libvirt nova
# nova's folders: nova may have put a link (or anything else) in their place
# since the last run, and chown or chmod through it would hand nova the target
# (/etc, or the helper's folder: root). Never followed: created by mkdir (which
# does not follow), their owner set with chown -h, their mode from inside them
# and only while nova owns them.
nova_dir() {
    local path="$1" nova_uid
    nova_uid="$(id -u nova)"
    if [ -L "$path" ] || { [ -e "$path" ] && [ ! -d "$path" ]; }; then
        die "$path is a symbolic link or not a directory; not following it (remove it and run me again)"
    fi
    mkdir -m 0755 -- "$path" 2>/dev/null || [ -d "$path" ] ||
        die "cannot create $path"
    chown -h nova:nova -- "$path"
    ( cd -P -- "$path" && [ "$(stat -c %u .)" = "$nova_uid" ] && chmod 0755 . ) ||
        die "$path changed while being set up; not following it"
}
nova_dir "$STATE_PATH"
nova_dir "$STATE_PATH/instances"

if [ "$keep_helper" = 0 ]; then
    not_nova_writable
    mkdir -p "$(dirname "$HELPER")"
    # sudo keeps the caller's current folder, and "python -m" puts the current
    # folder first on sys.path: from nova's, a planted oslo_privsep/ would run
    # as root. So from /, and PYTHONSAFEPATH (python >= 3.11) adds no folder.
    write_if_changed "$HELPER" 0755 <<EOF || true
#!/bin/sh
# Written by tools/setup-nova-user.sh: nova-compute's privsep daemon, run by sudo.
# Never from the caller's folder: python -m would import from it, as root.
cd / || exit 1
PYTHONSAFEPATH=1 PYTHONPATH='$helper_tree' exec '$python' -m oslo_privsep.daemon "\$@"
EOF
fi

tmp_sudoers="$(mktemp)"
cat >"$tmp_sudoers" <<EOF
# Written by tools/setup-nova-user.sh. nova-compute (user nova) starts its privsep
# daemon (oslo.privsep, context nova.privsep.console_pctxt: CAP_DAC_READ_SEARCH
# only), with exactly these arguments; the socket is in a folder mkdtemp made.
Defaults:nova !requiretty
nova ALL=(root) NOPASSWD: $HELPER ^--privsep_context nova\\.privsep\\.console_pctxt --privsep_sock_path /tmp/tmp[a-z0-9_]+/privsep\\.sock\$
EOF
visudo -cqf "$tmp_sudoers" >/dev/null || { rm -f "$tmp_sudoers"; die "visudo refuses the rule"; }
write_if_changed "$SUDOERS" 0440 <"$tmp_sudoers" || true
rm -f "$tmp_sudoers"

if write_if_changed "$LIBVIRTD_CONF" 0644 <<'EOF'
# Written by tools/setup-nova-user.sh: the group libvirt (user nova) may use the
# read-write socket; no polkit here, the socket's mode is the check.
unix_sock_group = "libvirt"
unix_sock_rw_perms = "0770"
unix_sock_ro_perms = "0777"
auth_unix_rw = "none"
auth_unix_ro = "none"
EOF
then
    if pid="$(cat /run/libvirtd.pid 2>/dev/null)" && [ -d "/proc/$pid" ]; then
        log "libvirtd.conf changed: restarting libvirtd (pid $pid); guests keep running"
        start-stop-daemon --stop --quiet --pidfile /run/libvirtd.pid --exec /usr/sbin/libvirtd \
            --retry TERM/15/KILL/5 || die "libvirtd (pid $pid) does not stop"
        LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" \
            start-stop-daemon --start --quiet --pidfile /run/libvirtd.pid \
            --exec /usr/sbin/libvirtd -- -d </dev/null >&2 || die "libvirtd -d failed"
        for _ in $(seq 150); do
            virsh -q -c qemu:///system version >/dev/null 2>&1 && break
            sleep 0.2
        done
        new="$(cat /run/libvirtd.pid)"
        if [ -f "$STATE_DIR/libvirtd.started" ] &&
                [ "$(cut -d' ' -f1 "$STATE_DIR/libvirtd.started")" = "$pid" ]; then
            # Still setup-host.sh's daemon: field 22 of stat is its start time.
            stat="$(cat "/proc/$new/stat")"
            read -ra fields <<<"${stat##*) }"
            echo "$new ${fields[19]}" >"$STATE_DIR/libvirtd.started"
        fi
    fi
fi

# Proof: nova reaches libvirt and may start the helper, and nothing more.
runuser -u nova -- virsh -q -c qemu:///system version >/dev/null ||
    die "user nova cannot use qemu:///system"
sudo -l -U nova | grep -q "$HELPER" || die "sudo -l -U nova does not list $HELPER"
! runuser -u nova -- sudo -n true 2>/dev/null || die "nova may run anything with sudo"
log "nova may use libvirt and start its privsep helper ($HELPER)"
