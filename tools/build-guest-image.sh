#!/bin/bash
# build-guest-image.sh - build a tiny bootable test guest (a "mini CirrOS").
#
# Usage: tools/build-guest-image.sh [--arch amd64|s390x] [OUTDIR]
#        (default OUTDIR: <repo>/build/guest for amd64, <repo>/build/guest-s390x for s390x)
#
# --arch  the guest's Debian architecture (default amd64, the host's).  s390x builds a
#         guest for QEMU's s390-ccw-virtio machine under TCG: Debian's s390x kernel and
#         busybox-static:s390x, fetched with "apt-get download" after
#         "dpkg --add-architecture s390x" (done here when missing, as root) and unpacked
#         with dpkg-deb; no s390x package is installed, and the s390x busybox is only
#         copied into the initramfs, never run on the host.
#
# Outputs, all in OUTDIR:
#   vmlinuz             Debian's stock kernel for ARCH (the linux-image-*-ARCH package
#                       that the linux-image-ARCH metapackage depends on)
#   initramfs.cpio.gz   busybox-static userland; its /init mounts proc/sys/devtmpfs,
#                       prints "NOVA-GUEST-BANNER <boot_id>" on the console (boot_id is
#                       /proc/sys/kernel/random/boot_id, different on every boot), then
#                       runs an interactive root shell (prompt "nova-guest# ") on the
#                       console in a respawn loop.  Also holds /bin/chatty N, which prints
#                       N lines "SEQ 000001 xxxx..." of exactly 64 bytes each (63 chars +
#                       "\n"; the guest tty turns "\n" into "\r\n", so 65 bytes per line in
#                       a console log), as fast as it can.
#   cmdline             the kernel command line to boot with: "console=ttyS0 panic=-1"
#                       ("console=ttysclp0 panic=-1" for s390x: its console is SCLP)
#   .stamp              the build inputs; the build is skipped while they are unchanged
#
# Boot it with direct kernel boot: <kernel>OUTDIR/vmlinuz</kernel>,
# <initrd>OUTDIR/initramfs.cpio.gz</initrd>, <cmdline>console=ttyS0 panic=-1</cmdline>.
#
# Caching: the image is rebuilt only when one of its inputs changes: the content of this
# script, the busybox-static version (installed for amd64, the candidate for s390x), or
# the kernel package (name and version) that linux-image-ARCH depends on.  A cached run
# costs only its apt-cache queries (a second or two; more on a busy machine).
#
# stdout: exactly two lines, the absolute paths of vmlinuz and initramfs.cpio.gz.
# stderr: progress and errors.
# Exit: 0 on success, 1 on any failure (with a message on stderr), 2 on bad usage.
# Needs root only when busybox-static/cpio are missing (they are then apt-installed),
# when the apt package lists are empty (apt-get update is then run), or for s390x when
# dpkg does not know that architecture yet.
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH
REPO_ROOT="$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)"
readonly REPO_ROOT

log() { printf 'build-guest-image: %s\n' "$*" >&2; }
die() { printf 'build-guest-image: ERROR: %s\n' "$*" >&2; exit 1; }

usage() { printf 'usage: %s [--arch amd64|s390x] [OUTDIR]\n' "$0" >&2; exit 2; }

ARCH=amd64
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        --arch) [ $# -ge 2 ] || usage; ARCH="$2"; shift 2 ;;
        --arch=*) ARCH="${1#*=}"; shift ;;
        --) shift; break ;;
        -*) usage ;;
        *) break ;;
    esac
done
[ $# -le 1 ] || usage
# Per architecture: the kernel's console device and the default output folder.
case "$ARCH" in
    amd64) CMDLINE="console=ttyS0 panic=-1"; DEFAULT_OUTDIR="$REPO_ROOT/build/guest" ;;
    s390x) CMDLINE="console=ttysclp0 panic=-1"; DEFAULT_OUTDIR="$REPO_ROOT/build/guest-s390x" ;;
    *) printf 'build-guest-image: --arch must be amd64 or s390x, not %q\n' "$ARCH" >&2; exit 2 ;;
esac
readonly ARCH CMDLINE
# Package names as apt wants them: the host's own architecture needs no qualifier.
if [ "$ARCH" = "$(dpkg --print-architecture)" ]; then QUAL=""; else QUAL=":$ARCH"; fi
readonly QUAL

OUTDIR="${1:-$DEFAULT_OUTDIR}"
mkdir -p "$OUTDIR" || die "cannot create output directory $OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"

pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)" = "ii " ]
}

apt_lists_present() {
    compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

apt_update() {
    [ "$(id -u)" = 0 ] || die "apt package lists are missing/stale and we are not root: run 'apt-get update' as root"
    log "running apt-get update"
    apt-get update >&2 || die "apt-get update failed"
}

# --- tools we need: busybox-static and cpio --------------------------------------------
missing=()
for p in busybox-static cpio; do pkg_installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (install them as root, or run tools/setup-host.sh)"
    apt_lists_present || apt_update
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
fi

# --- a foreign architecture must be known to dpkg/apt --------------------------------------
if [ -n "$QUAL" ] && ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
    [ "$(id -u)" = 0 ] || die "dpkg does not know architecture $ARCH: run 'dpkg --add-architecture $ARCH && apt-get update' as root"
    log "dpkg --add-architecture $ARCH (for apt-get download only; nothing of $ARCH gets installed)"
    dpkg --add-architecture "$ARCH" || die "dpkg --add-architecture $ARCH failed"
    apt_update
fi

# --- which kernel package -----------------------------------------------------------------
# awk reads to the end, never "exit"s early: under pipefail apt-cache's SIGPIPE (141)
# would stop the script whenever it wrote after awk left.
# One apt-cache call (about 1 s): the candidate linux-image-ARCH's Depends line names the
# kernel package and, in Debian, pins its exact version: "linux-image-X-ARCH (= V)".
kernel_dep() {
    apt-cache show --no-all-versions "linux-image-$ARCH$QUAL" 2>/dev/null | awk -v arch="$ARCH" '
        $1 == "Depends:" && !found {
            sub(/^Depends: */, "")
            n = split($0, deps, /, */)
            for (i = 1; i <= n; i++) {
                split(deps[i], alt, / *\| */)
                if (alt[1] ~ ("^linux-image-[^ ]*-" arch "( |$)")) {
                    name = alt[1]; sub(/ .*/, "", name)
                    ver = ""
                    if (match(alt[1], /\(= [^)]*\)/)) ver = substr(alt[1], RSTART + 3, RLENGTH - 4)
                    print name, ver; found = 1; break
                }
            }
        }'
}
apt_lists_present || apt_update
read -r KPKG KVER < <(kernel_dep) || true
if [ -z "${KPKG:-}" ]; then
    apt_update
    read -r KPKG KVER < <(kernel_dep) || true
fi
[ -n "${KPKG:-}" ] || die "cannot find the kernel package that linux-image-$ARCH depends on (apt-cache show linux-image-$ARCH$QUAL)"
if [ -z "${KVER:-}" ]; then
    KVER="$(apt-cache policy "$KPKG$QUAL" | awk '$1 == "Candidate:" && !seen { print $2; seen = 1 }')"
fi
[ -n "$KVER" ] && [ "$KVER" != "(none)" ] || die "no installable version of $KPKG$QUAL (apt-cache policy $KPKG$QUAL)"

# --- which busybox ------------------------------------------------------------------------
# The host's own architecture uses the installed /bin/busybox; another architecture gets
# the candidate busybox-static:ARCH, downloaded below.
if [ -z "$QUAL" ]; then
    BUSYBOX_VERSION="$(dpkg-query -W -f='${Version}' busybox-static)"
else
    BUSYBOX_VERSION="$(apt-cache policy "busybox-static$QUAL" | awk '$1 == "Candidate:" && !seen { print $2; seen = 1 }')"
    [ -n "$BUSYBOX_VERSION" ] && [ "$BUSYBOX_VERSION" != "(none)" ] \
        || die "no installable version of busybox-static$QUAL (apt-cache policy busybox-static$QUAL)"
fi

SCRIPT_HASH="$(sha256sum "$SCRIPT_PATH" | cut -d' ' -f1)"
STAMP_CONTENT="script=$SCRIPT_HASH
arch=$ARCH
busybox-static=$BUSYBOX_VERSION
kernel=$KPKG=$KVER
cmdline=$CMDLINE"

emit_paths() {
    printf '%s\n' "$OUTDIR/vmlinuz" "$OUTDIR/initramfs.cpio.gz"
}

if [ -f "$OUTDIR/.stamp" ] && [ "$(cat "$OUTDIR/.stamp")" = "$STAMP_CONTENT" ] \
        && [ -s "$OUTDIR/vmlinuz" ] && [ -s "$OUTDIR/initramfs.cpio.gz" ] \
        && [ "$(cat "$OUTDIR/cmdline" 2>/dev/null)" = "$CMDLINE" ]; then
    log "up to date in $OUTDIR ($KPKG $KVER, busybox $BUSYBOX_VERSION)"
    emit_paths
    exit 0
fi

log "building guest image in $OUTDIR ($KPKG $KVER, busybox $BUSYBOX_VERSION)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nova-guest-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# --- kernel -------------------------------------------------------------------------------
log "downloading $KPKG$QUAL=$KVER"
mkdir "$WORK/dl"
# Let apt's unprivileged _apt user write there (avoids the "unsandboxed as root" warning).
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$WORK/dl"; chmod 755 "$WORK"; fi
(cd "$WORK/dl" && apt-get download "$KPKG$QUAL=$KVER" >&2) || die "apt-get download $KPKG$QUAL=$KVER failed"
DEB="$(compgen -G "$WORK/dl/${KPKG}_*.deb" | head -n1 || true)"
[ -n "$DEB" ] || die "apt-get download produced no .deb for $KPKG"
mkdir "$WORK/kernel"
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK/kernel" --wildcards './boot/vmlinuz-*' \
    || die "cannot extract ./boot/vmlinuz-* from $DEB"
KIMG="$(compgen -G "$WORK/kernel/boot/vmlinuz-*" | head -n1 || true)"
[ -n "$KIMG" ] && [ -s "$KIMG" ] || die "no ./boot/vmlinuz-* in $DEB"
rm -f "$DEB"

# --- busybox ------------------------------------------------------------------------------
if [ -z "$QUAL" ]; then
    BUSYBOX=/bin/busybox
    [ -x "$BUSYBOX" ] || die "$BUSYBOX not found although busybox-static is installed"
else
    log "downloading busybox-static$QUAL=$BUSYBOX_VERSION"
    (cd "$WORK/dl" && apt-get download "busybox-static$QUAL=$BUSYBOX_VERSION" >&2) \
        || die "apt-get download busybox-static$QUAL=$BUSYBOX_VERSION failed"
    DEB="$(compgen -G "$WORK/dl/busybox-static_*.deb" | head -n1 || true)"
    [ -n "$DEB" ] || die "apt-get download produced no .deb for busybox-static$QUAL"
    mkdir "$WORK/busybox"
    dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK/busybox" ./bin/busybox \
        || die "cannot extract ./bin/busybox from $DEB"
    BUSYBOX="$WORK/busybox/bin/busybox"
    # Only looked at, never run here: ELF magic, 64-bit (EI_CLASS 2), big-endian
    # (EI_DATA 2), e_machine 22 (EM_S390) at bytes 18-19.
    read -ra hdr <<<"$(od -An -v -tx1 -N 20 "$BUSYBOX" | tr '\n' ' ')"
    [ "${#hdr[@]}" = 20 ] && [ "${hdr[*]:0:6}" = "7f 45 4c 46 02 02" ] \
            && [ "${hdr[18]}${hdr[19]}" = 0016 ] \
        || die "$DEB's ./bin/busybox is not a 64-bit big-endian s390 ELF executable"
fi

# --- initramfs ----------------------------------------------------------------------------
ROOT="$WORK/root"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc}
cp "$BUSYBOX" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
# The kernel's built-in initramfs already has /dev/console; this is a second guarantee.
mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || log "warning: cannot mknod dev/console (continuing)"
chmod 1777 "$ROOT/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
printf 'nova-guest\n' >"$ROOT/etc/hostname"
cat >"$ROOT/etc/profile" <<'EOF'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
export PS1='nova-guest# '
cd /root
EOF

cat >"$ROOT/init" <<'EOF'
#!/bin/busybox sh
# PID 1 of the nova test guest.
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts 2>/dev/null
hostname nova-guest
# Keep later kernel messages off the console so they do not interleave with the shell.
echo 1 >/proc/sys/kernel/printk
echo "NOVA-GUEST-BANNER $(cat /proc/sys/kernel/random/boot_id)"
# PID 1 must never exit (that panics the kernel): respawn the console shell forever.
while true; do
    setsid cttyhack sh -l
    echo "nova-guest: console shell exited, respawning"
    sleep 1
done
EOF
chmod 755 "$ROOT/init"

cat >"$ROOT/bin/chatty" <<'EOF'
#!/bin/sh
# chatty N: print N lines "SEQ 000001 xxx...x" of 64 bytes each (63 chars + newline).
case "${1:-}" in
    ''|*[!0-9]*) echo "usage: chatty N" >&2; exit 2 ;;
esac
exec awk -v n="$1" 'BEGIN {
    pad = sprintf("%52s", ""); gsub(/ /, "x", pad)
    for (i = 1; i <= n; i++) printf "SEQ %06d %s\n", i, pad
}'
EOF
chmod 755 "$ROOT/bin/chatty"

# Fixed timestamps: the same inputs give a byte-identical archive.
find "$ROOT" -exec touch -h -d @0 {} +
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible -R 0:0) \
    | gzip -9 -n >"$WORK/initramfs.cpio.gz" || die "cannot create the initramfs archive"

# --- install atomically -------------------------------------------------------------------
rm -f "$OUTDIR/.stamp"
install -m 644 "$KIMG" "$OUTDIR/vmlinuz.new"
install -m 644 "$WORK/initramfs.cpio.gz" "$OUTDIR/initramfs.cpio.gz.new"
printf '%s\n' "$CMDLINE" >"$OUTDIR/cmdline.new"
mv -f "$OUTDIR/vmlinuz.new" "$OUTDIR/vmlinuz"
mv -f "$OUTDIR/initramfs.cpio.gz.new" "$OUTDIR/initramfs.cpio.gz"
mv -f "$OUTDIR/cmdline.new" "$OUTDIR/cmdline"
printf '%s\n' "$STAMP_CONTENT" >"$OUTDIR/.stamp"
log "done: vmlinuz $(stat -c %s "$OUTDIR/vmlinuz") bytes, initramfs $(stat -c %s "$OUTDIR/initramfs.cpio.gz") bytes"
emit_paths
