#!/bin/bash
# probe-virt-type.sh - print the libvirt domain type that guests on this host should
# use: "kvm" only when a KVM guest was seen to actually boot here, otherwise "qemu" (TCG).
#
# Usage: tools/probe-virt-type.sh [--force] [--image-dir DIR]
#   --force          ignore the cached answer and probe again
#   --image-dir DIR  guest image from tools/build-guest-image.sh (default <repo>/build/guest;
#                    built there when missing)
#
# Why a probe: on some machines /dev/kvm exists and opens but KVM guests hang (no output
# at all, or an MSR assertion), so only a booted guest proves that KVM works.
# How: without a usable /dev/kvm, or when libvirt reports no kvm domain capability, the
# answer is "qemu" right away.  Otherwise a transient domain <domain type="kvm"> boots the
# tiny guest image (direct kernel boot, console=ttyS0) on qemu:///system with a
# <serial type="file"> to a temp file; "kvm" if the guest's "NOVA-GUEST-BANNER" line shows
# up there within $NOVA_KVM_PROBE_TIMEOUT seconds (default 20), else "qemu".  The domain
# is destroyed and the temp files removed in every case.
#
# The answer is cached in $NOVA_HOST_STATE_DIR/virt_type (default
# /run/nova-virtlogd-host/virt_type) together with the host's boot id and the QEMU and
# libvirt versions; while those are unchanged later calls answer at once.
#
# Needs libvirtd running (tools/setup-host.sh).
# stdout: one line, "kvm" or "qemu".  stderr: progress and errors.
# Exit: 0 with an answer; 1 when no answer could be had (e.g. libvirtd down, no image);
# 2 on bad usage.
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH
TOOLS_DIR="$(dirname "$SCRIPT_PATH")"
readonly TOOLS_DIR
REPO_ROOT="$(cd "$TOOLS_DIR/.." && pwd)"
readonly REPO_ROOT
readonly STATE_DIR="${NOVA_HOST_STATE_DIR:-/run/nova-virtlogd-host}"
readonly CACHE="$STATE_DIR/virt_type"
readonly VIRSH_URI="qemu:///system"
readonly TIMEOUT="${NOVA_KVM_PROBE_TIMEOUT:-20}"
readonly BANNER="NOVA-GUEST-BANNER"

log() { printf 'probe-virt-type: %s\n' "$*" >&2; }
die() { printf 'probe-virt-type: ERROR: %s\n' "$*" >&2; exit 1; }
usage() { printf 'usage: %s [--force] [--image-dir DIR]\n' "$0" >&2; exit 2; }

force=0
image_dir="$REPO_ROOT/build/guest"
while [ $# -gt 0 ]; do
    case "$1" in
        --force) force=1; shift ;;
        --image-dir) [ $# -ge 2 ] || usage; image_dir="$2"; shift 2 ;;
        --image-dir=*) image_dir="${1#*=}"; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        *) usage ;;
    esac
done
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "NOVA_KVM_PROBE_TIMEOUT must be a number of seconds"

mkdir -p "$STATE_DIR"
exec 9>"$STATE_DIR/virt_type.lock"
flock 9    # one probe at a time; a waiting caller then reads the fresh cache

cache_key() {
    printf 'boot_id=%s qemu=%s libvirt=%s\n' \
        "$(cat /proc/sys/kernel/random/boot_id)" \
        "$(qemu-system-x86_64 --version 2>/dev/null | head -n1 | awk '{print $4}')" \
        "$(libvirtd --version 2>/dev/null | awk '{print $NF}')"
}
KEY="$(cache_key)"

if [ "$force" = 0 ] && [ -s "$CACHE" ] && [ "$(sed -n 2p "$CACHE")" = "$KEY" ]; then
    answer="$(head -n1 "$CACHE")"
    case "$answer" in
        kvm|qemu) log "cached answer: $answer ($CACHE)"; printf '%s\n' "$answer"; exit 0 ;;
    esac
fi

answer_with() {
    local answer="$1" why="$2"
    log "answer: $answer ($why)"
    printf '%s\n%s\n' "$answer" "$KEY" >"$CACHE.tmp"
    mv -f "$CACHE.tmp" "$CACHE"
    printf '%s\n' "$answer"
    exit 0
}

timeout 15 virsh -q -c "$VIRSH_URI" version >/dev/null 2>&1 \
    || die "libvirtd does not answer on $VIRSH_URI: run tools/setup-host.sh first"

[ -c /dev/kvm ] || answer_with qemu "no /dev/kvm"
{ exec 8<>/dev/kvm; } 2>/dev/null || answer_with qemu "/dev/kvm cannot be opened"
exec 8>&-
if ! timeout 30 virsh -q -c "$VIRSH_URI" domcapabilities --virttype kvm --arch x86_64 >/dev/null 2>&1; then
    answer_with qemu "libvirt reports no kvm domain capability"
fi

# /dev/kvm looks usable: boot a KVM guest to see whether it really runs.
paths="$("$TOOLS_DIR/build-guest-image.sh" "$image_dir")" || die "cannot build the guest image in $image_dir"
kernel="$(sed -n 1p <<<"$paths")"
initrd="$(sed -n 2p <<<"$paths")"
[ -s "$kernel" ] && [ -s "$initrd" ] || die "guest image incomplete in $image_dir"

work="$(mktemp -d /tmp/nova-kvm-probe.XXXXXX)"
name="nova-kvm-probe-$$"
cleanup() {
    timeout 30 virsh -q -c "$VIRSH_URI" destroy "$name" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

cat >"$work/domain.xml" <<EOF
<domain type="kvm">
  <name>$name</name>
  <memory unit="MiB">256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch="x86_64">hvm</type>
    <kernel>$kernel</kernel>
    <initrd>$initrd</initrd>
    <cmdline>console=ttyS0 panic=-1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type="file">
      <source path="$work/serial.log"/>
      <target port="0"/>
    </serial>
    <memballoon model="none"/>
  </devices>
</domain>
EOF

log "booting a transient kvm guest ($name), waiting up to ${TIMEOUT} s for its banner"
if ! err="$(timeout 60 virsh -q -c "$VIRSH_URI" create "$work/domain.xml" 2>&1)"; then
    answer_with qemu "a kvm domain does not start: $(tr '\n' ' ' <<<"$err")"
fi
start=$SECONDS
while [ $((SECONDS - start)) -lt "$TIMEOUT" ]; do
    if grep -aq "$BANNER" "$work/serial.log" 2>/dev/null; then
        answer_with kvm "a kvm guest printed its banner after $((SECONDS - start)) s"
    fi
    if ! timeout 15 virsh -q -c "$VIRSH_URI" domstate "$name" 2>/dev/null | grep -q running; then
        answer_with qemu "the kvm guest stopped before printing its banner"
    fi
    sleep 0.5
done
answer_with qemu "no banner from a kvm guest within ${TIMEOUT} s ($(stat -c %s "$work/serial.log" 2>/dev/null || echo 0) bytes of serial output)"
