"""CPU architecture names, as Nova's image property ``hw_architecture``
spells them (libvirt's names: ``x86_64``, ``s390x``, ``aarch64``...)."""

import os

from nova import exception

S390X = 's390x'
X86_64 = 'x86_64'
I686 = 'i686'

ALL = (
    'aarch64', 'alpha', 'armv6', 'armv7b', 'armv7l', 'cris', I686, 'ia64',
    'lm32', 'm68k', 'microblaze', 'microblazeel', 'mips', 'mips64',
    'mips64el', 'mipsel', 'openrisc', 'parisc', 'parisc64', 'ppc', 'ppc64',
    'ppc64le', 'ppcemb', 'ppcle', 's390', S390X, 'sh4', 'sh4eb', 'sparc',
    'sparc64', 'unicore32', X86_64, 'xtensa', 'xtensaeb',
)

# Other spellings users and kernels give (uname, Debian, Xen).
_ALIASES = {
    'amd64': X86_64, 'x64': X86_64,
    'i386': I686, 'i486': I686, 'i586': I686, 'x86_32': I686,
    'arm64': 'aarch64', 'ppc64el': 'ppc64le',
}


def canonicalize(name):
    """The canonical name of architecture ``name`` (a str, any case).

    Raises InvalidArchitectureName for anything that names no architecture.
    """
    if not isinstance(name, str):
        raise exception.InvalidArchitectureName(arch=name)
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in ALL:
        raise exception.InvalidArchitectureName(arch=name)
    return key


def from_host():
    """This host's architecture: canonical when known, else as uname says
    (a host is never refused for its own name)."""
    machine = os.uname().machine
    try:
        return canonicalize(machine)
    except exception.InvalidArchitectureName:
        return machine.lower()
