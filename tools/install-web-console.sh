#!/bin/bash
# install-web-console.sh - put nova-serialproxy's web serial terminal in its web root.
#
# Usage: tools/install-web-console.sh [--web-root DIR]
#
#   DIR (default /usr/share/nova/serial-console-web, the default of
#   [serial_console] web_root) gets:
#     console.html console.js console.css    the page, copied from nova/console/static/
#     vendor/package.json, package-lock.json  copied from nova/console/static/
#     vendor/node_modules/@xterm/...          xterm.js and its fit addon, by "npm ci"
#   nova-serialproxy serves only those files (nova/console/web.py) and refuses any
#   symbolic link, and any folder or file writable by others, so this script
#   installs with umask 022 and never links.
#
# Why npm: Debian 12's node-xterm is xterm.js 3.8 (2018, no longer maintained,
# without the @xterm/* packages); the page needs the current @xterm/xterm, pinned by
# the committed package-lock.json (versions and sha512 integrity).  "npm ci"
# installs exactly that lock and runs no package scripts (--ignore-scripts).
# npm comes with Node.js; when it is missing Debian's "npm" package is installed.
#
# Idempotent: when DIR/vendor already holds this lock and every file, npm is not run
# (a second run takes well under a second).  npm uses its cache first
# (--prefer-offline), so a re-install needs the registry only for a new lock.
#
# stdout: nothing.  stderr: progress; on failure an "ERROR:" line.
# Exit codes: 0 installed, 1 failure, 2 bad usage.
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH
STATIC_DIR="$(dirname "$(dirname "$SCRIPT_PATH")")/nova/console/static"
readonly STATIC_DIR
readonly PAGES=(console.html console.js console.css)
readonly VENDOR_FILES=(node_modules/@xterm/xterm/lib/xterm.js
                       node_modules/@xterm/xterm/css/xterm.css
                       node_modules/@xterm/addon-fit/lib/addon-fit.js)

log() { printf 'install-web-console: %s\n' "$*" >&2; }
die() { printf 'install-web-console: ERROR: %s\n' "$*" >&2; exit 1; }

web_root=/usr/share/nova/serial-console-web
while [ $# -gt 0 ]; do
    case "$1" in
        --web-root)
            [ $# -ge 2 ] || { echo "usage: $0 [--web-root DIR]" >&2; exit 2; }
            web_root="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [--web-root DIR]" >&2; exit 2 ;;
    esac
done
case "$web_root" in
    /*) ;;
    *) die "--web-root must be an absolute path, not '$web_root'" ;;
esac
umask 022

# The web root and vendor folder: real folders, never links (the proxy would refuse
# them anyway; refusing here says why).
for dir in "$web_root" "$web_root/vendor"; do
    if [ -L "$dir" ]; then
        die "$dir is a symbolic link: nova-serialproxy follows none; make it a folder"
    fi
    mkdir -p "$dir"
    chmod go-w "$dir"
done

installed() {
    local f
    cmp -s "$STATIC_DIR/package-lock.json" "$web_root/vendor/package-lock.json" || return 1
    cmp -s "$STATIC_DIR/package.json" "$web_root/vendor/package.json" || return 1
    for f in "${VENDOR_FILES[@]}"; do [ -f "$web_root/vendor/$f" ] || return 1; done
}

if installed; then
    log "xterm.js: already installed in $web_root/vendor"
else
    if ! command -v npm >/dev/null; then
        log "npm missing: apt-get install npm"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm >&2 \
            || die "apt-get install npm failed"
    fi
    install -m 0644 "$STATIC_DIR/package.json" "$STATIC_DIR/package-lock.json" \
        "$web_root/vendor/"
    log "xterm.js: npm ci in $web_root/vendor"
    (cd "$web_root/vendor" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
        --prefer-offline --loglevel=error >&2) || die "npm ci in $web_root/vendor failed"
    installed || die "npm ci did not install ${VENDOR_FILES[*]} in $web_root/vendor"
fi
for page in "${PAGES[@]}"; do
    install -m 0644 "$STATIC_DIR/$page" "$web_root/$page"
done
# npm may leave files with its own modes: nothing below the root writable by others.
chmod -R go-w "$web_root"
log "web console installed in $web_root"
