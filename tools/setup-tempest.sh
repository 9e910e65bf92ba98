#!/bin/bash
# setup-tempest.sh - OpenStack's own test suite (tempest) from PyPI in its own virtualenv,
# stock: nothing in it is patched; tools/run-tempest.sh configures and runs it.
#
# Usage:
#   tools/setup-tempest.sh
#   tools/setup-tempest.sh --status
#
# Setup (the default action), idempotent; from scratch about 40 s (pip), again well under
# a second:
#   * virtualenv $VENV (Debian's /usr/bin/python3) with tempest==$TEMPEST_VERSION and
#     stestr (pip, through the machine's pip configuration); done again only when the
#     pinned versions change (recorded in $VENV/nova-tempest.installed);
#   * "tempest init" of the workspace $WORKSPACE when it has no etc/ folder yet.
#
# --status  prints the installed tempest version; exit 0 when installed, else 3.
#
# stdout: nothing, except the report of --status.  stderr: progress; on failure an
# "ERROR:" line.  Exit codes: 0 success, 1 failure, 2 bad usage, 3 (--status) missing.
# Runs are serialised (flock on this script).
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH
readonly TOOLS_DIR="${SCRIPT_PATH%/*}"
readonly TEMPEST_VERSION=47.0.0
readonly VENV=/opt/nova-tempest/venv
readonly WORKSPACE=/var/lib/nova-tempest
readonly PROG=setup-tempest
# shellcheck source=lib/common.sh
source "$TOOLS_DIR/lib/common.sh"
usage() { header 5,7; exit 2; }

action=setup
while [ $# -gt 0 ]; do
    case "$1" in
        --status) action=status ;;
        -h|--help) header '2,/^set -euo/'; exit 0 ;;
        *) printf '%s: unknown argument: %s\n' "$PROG" "$1" >&2; usage ;;
    esac
    shift
done

installed() {
    [ -x "$VENV/bin/tempest" ] && [ -x "$VENV/bin/stestr" ] \
        && [ "$(cat "$VENV/nova-tempest.installed" 2>/dev/null)" = "$1" ]
}

ensure_venv() {
    local want="tempest==$TEMPEST_VERSION stestr"
    if ! grep -qx 'home = /usr/bin' "$VENV/pyvenv.cfg" 2>/dev/null; then
        [ ! -e "$VENV" ] || log "$VENV was not made from /usr/bin/python3: making it again"
        rm -rf "$VENV"
        pkg_installed python3-venv || apt_install python3-venv
        log "making the virtualenv $VENV"
        mkdir -p "${VENV%/*}"
        /usr/bin/python3 -m venv "$VENV" || die "/usr/bin/python3 -m venv $VENV failed"
    elif installed "$want"; then
        return 0
    fi
    log "pip install $want (into $VENV)"
    # shellcheck disable=SC2086
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q $want 2>&1 \
        | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
    "$VENV/bin/tempest" --version >/dev/null 2>&1 || die "tempest does not run from $VENV"
    printf '%s\n' "$want" >"$VENV/nova-tempest.installed"
}

ensure_workspace() {
    [ -d "$WORKSPACE/etc" ] && return 0
    mkdir -p "${WORKSPACE%/*}"
    # "tempest init" refuses an existing folder; it makes etc/, .stestr.conf,
    # and registers the workspace in ~/.tempest/workspace.yaml.
    rm -rf "$WORKSPACE"
    local out
    # A workspace of that name left registered without its folder: forget it.
    "$VENV/bin/tempest" workspace remove --name "${WORKSPACE##*/}" >/dev/null 2>&1 || true
    out="$(cd / && "$VENV/bin/tempest" init "$WORKSPACE" 2>&1)" \
        || die "tempest init $WORKSPACE failed: $out"
    log "tempest workspace made in $WORKSPACE"
}

case "$action" in
    status)
        if [ -x "$VENV/bin/tempest" ]; then
            printf 'tempest: %s in %s, workspace %s\n' \
                "$("$VENV/bin/tempest" --version 2>&1 | tail -n1)" "$VENV" "$WORKSPACE"
            exit 0
        fi
        printf 'tempest: not installed (%s)\n' "$VENV"
        exit 3 ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root"
exec 9<"$SCRIPT_PATH"
flock -w 600 9 || die "another tools/setup-tempest.sh still runs"
t0=$SECONDS
ensure_venv
ensure_workspace
log "tempest ready ($((SECONDS - t0)) s): $VENV/bin/tempest, workspace $WORKSPACE"
