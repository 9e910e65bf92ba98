"""nova-compute on a host below the virtlogd gate ("N"), for tests.

    python -m nova.tests.functional.old_compute --config-file F

The real nova-compute, with this host's libvirt reported as 1.3.2 (the
gate needs 1.3.3): everything else is real, as on an N host.
"""

import sys

from nova.cmd import compute
from nova.virt.libvirt import host as libvirt_host

OLD_LIBVIRT = (1, 3, 2)


def _old_lib_version(self):
    return OLD_LIBVIRT


def _old_has_min_version(self, lv_ver=None, hv_ver=None, hv_type=None):
    if lv_ver is not None and tuple(lv_ver) > OLD_LIBVIRT:
        return False
    return _real_has_min_version(self, None, hv_ver, hv_type)


_real_has_min_version = libvirt_host.Host.has_min_version


def main():
    libvirt_host.Host.get_lib_version = _old_lib_version
    libvirt_host.Host.has_min_version = _old_has_min_version
    return compute.main()


if __name__ == '__main__':
    sys.exit(main())
