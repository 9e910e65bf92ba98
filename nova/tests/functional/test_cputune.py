"""Flavor quota:cpu_* limits on the real libvirtd and QEMU.

The limits hold in the guest's cgroup on a libvirtd with the cpu cgroup
controller (tools/bench/private-libvirtd.sh starts one), and a host whose
libvirtd cannot apply them never runs the guest without them.
"""

import glob
import os
import subprocess
import tempfile

import libvirt

from nova import exception
from nova.tests.functional import base
from nova.virt.libvirt import driver as libvirt_driver

PRIVATE = os.path.join(os.path.dirname(base.__file__), '..', '..', '..',
                       'tools', 'bench', 'private-libvirtd.sh')
LIMITS = {'quota:cpu_shares': '512', 'quota:cpu_period': '100000',
          'quota:cpu_quota': '20000'}


def _cgroup_value(dirs, name):
    with open(os.path.join(dirs, name)) as f:
        return int(f.read())


class CPUTuneTestCase(base.FunctionalTestCase):
    def _limited(self, **specs):
        inst = self.make_instance()
        inst.flavor.extra_specs.update(specs)
        return inst

    def test_limits_hold_in_the_guests_cgroup(self):
        parent = tempfile.mkdtemp(prefix='nova-func-host-')
        folder = os.path.join(parent, 'host')
        self.addCleanup(os.rmdir, parent)
        self.addCleanup(subprocess.run, [PRIVATE, 'down', folder],
                        capture_output=True)
        uri = base.run_tool(PRIVATE, 'up', folder).strip()
        self.flags(connection_uri=uri, group='libvirt')
        self.driver = libvirt_driver.LibvirtDriver()
        self.addCleanup(self.driver.host.close)

        inst = self.boot(self._limited(**LIMITS))
        dom = self.driver.host.get_domain(inst)
        sched = dom.schedulerParametersFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE)
        self.assertEqual((512, 100000, 20000), (
            sched['cpu_shares'], sched['vcpu_period'], sched['vcpu_quota']))
        # What the kernel enforces: the guest's cgroup (v1 here).
        found = glob.glob('/sys/fs/cgroup/cpu/machine/qemu-%d-*.libvirt-qemu'
                          % dom.ID())
        self.assertEqual(1, len(found), found)
        self.assertEqual(512, _cgroup_value(found[0], 'cpu.shares'))
        vcpu0 = os.path.join(found[0], 'vcpu0')
        self.assertEqual(100000, _cgroup_value(vcpu0, 'cpu.cfs_period_us'))
        self.assertEqual(20000, _cgroup_value(vcpu0, 'cpu.cfs_quota_us'))

    def test_limits_hold_or_the_boot_fails(self):
        # On the host's own libvirtd (tools/setup-host.sh: no cgroup
        # controllers) libvirt would start this guest unbounded.
        inst = self._limited(**{'quota:cpu_shares': '512'})
        try:
            self.boot(inst)
        except exception.UnsupportedHostCPUControlPolicy as e:
            self.assertIn('cgroup_controllers', str(e))
            self.assertFalse(self.driver.instance_exists(inst))
            return
        sched = self.driver.host.get_domain(inst).schedulerParametersFlags(
            libvirt.VIR_DOMAIN_AFFECT_LIVE)
        self.assertEqual(512, sched['cpu_shares'])
