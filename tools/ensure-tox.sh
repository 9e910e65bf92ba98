#!/bin/bash
# ensure-tox.sh - print the path of a tox >= 4 to use, installing one if needed.
#
# Order: a tox >= 4 already on PATH; else pip-install it for python3 (works
# with pyenv or a venv); else, where pip refuses (Debian's python3 is
# "externally managed", PEP 668), a venv of our own in /opt/nova-virtlogd-tox
# (apt-installs python3-venv when missing). stdout: the tox path only.
set -euo pipefail

log() { printf 'ensure-tox: %s\n' "$*" >&2; }
readonly VENV=/opt/nova-virtlogd-tox

tox_ok() {
    local v
    v="$("$1" --version 2>/dev/null | awk '{print $1; exit}')" || return 1
    [ "${v%%.*}" -ge 4 ] 2>/dev/null
}

if command -v tox >/dev/null && tox_ok "$(command -v tox)"; then
    command -v tox; exit 0
fi
if [ -x "$VENV/bin/tox" ] && tox_ok "$VENV/bin/tox"; then
    echo "$VENV/bin/tox"; exit 0
fi
log "installing tox >= 4"
if python3 -m pip install --quiet 'tox>=4' >&2 && command -v tox >/dev/null \
        && tox_ok "$(command -v tox)"; then
    command -v tox; exit 0
fi
log "pip refused; making $VENV for tox"
python3 -m venv "$VENV" >&2 2>/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        python3-venv >&2
    python3 -m venv "$VENV" >&2
}
"$VENV/bin/pip" install --quiet 'tox>=4' >&2
echo "$VENV/bin/tox"
