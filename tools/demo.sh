#!/bin/bash
# demo.sh - the main job: set this Debian 12 machine up (as root) and boot one
# real guest whose serial console is interactive and logged by virtlogd at once.
#
# Usage: sudo tools/demo.sh
# Installs what is missing (tools/setup-host.sh), builds the tiny guest image
# (tools/build-guest-image.sh), then runs nova/tests/functional/demo.py (it
# drives the cloud as a user would, with the functional tests' fixtures) in
# tox's "demo" env.
# Exit 0 when every step worked; otherwise non-zero with a message on stderr.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it starts libvirtd)" >&2; exit 1; }
virt_type=$(tools/setup-host.sh --print-virt-type)
image=$(tools/build-guest-image.sh)
kernel=$(sed -n 1p <<<"$image")
initrd=$(sed -n 2p <<<"$image")
tox=$(tools/ensure-tox.sh)
exec "$tox" -q -e demo -- --kernel "$kernel" --initrd "$initrd" \
    --cmdline-file "$(dirname "$kernel")/cmdline" --virt-type "$virt_type"
