"""Flavor ``quota:cpu_*`` extra specs become libvirt's ``<cputune>``.

Nova's keys (``quota:cpu_shares``, ``quota:cpu_period``,
``quota:cpu_quota``) bound what one guest may take of the host's CPU,
and so what a guest flooding its serial console costs everyone else
(virtlogd writes what its vCPU emits). On libvirt's test:///default,
whose scheduler answers are not QEMU's, so the check that the limits hold
is given QEMU's answers where it matters.
"""

from unittest import mock

import libvirt

from nova.console import serial
from nova import exception
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import config as vconfig

QEMU_SCHED = {'cpu_shares': 512, 'vcpu_period': 100000,
              'vcpu_quota': 20000, 'emulator_period': 100000,
              'emulator_quota': -1}


class CPUTuneTestCase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='serial_console')

    def _tuned(self, **specs):
        inst = self._instance()
        inst.flavor.extra_specs.update(
            {'quota:cpu_%s' % k: v for k, v in specs.items()})
        return inst

    def _sched(self, answer):
        if isinstance(answer, Exception):
            kw = {'side_effect': answer}
        else:
            kw = {'return_value': answer}
        return mock.patch.object(libvirt.virDomain,
                                 'schedulerParametersFlags', **kw)

    def test_flavor_limits_are_in_the_live_domain(self):
        inst = self._tuned(shares='512', period='100000', quota='20000')
        with self._sched(QEMU_SCHED) as sched:
            self._spawn(inst)
        sched.assert_called_once_with(libvirt.VIR_DOMAIN_AFFECT_LIVE)
        tune = self._live(inst).cputune
        self.assertEqual((512, 100000, 20000),
                         (tune.shares, tune.period, tune.quota))

    def test_only_the_keys_the_flavor_sets(self):
        inst = self._tuned(quota='-1')
        with self._sched(dict(QEMU_SCHED, vcpu_quota=-1)):
            self._spawn(inst)
        tune = self._live(inst).cputune
        self.assertEqual((None, None, -1),
                         (tune.shares, tune.period, tune.quota))

    def test_no_keys_no_cputune_and_no_extra_call(self):
        inst = self._instance()
        with self._sched(AssertionError('asked')):
            self._spawn(inst)
        self.assertIsNone(self._live(inst).cputune)

    def test_limits_that_did_not_hold_fail_the_boot_cleanly(self):
        # libvirtd without the cpu cgroup controller starts a guest
        # with <shares> but cannot apply it, nor answer for it.
        inst = self._tuned(shares='512')
        err = libvirt.libvirtError('cgroup CPU controller is not mounted')
        with self._sched(err):
            e = self.assertRaises(exception.UnsupportedHostCPUControlPolicy,
                                  self._spawn, inst)
        self.assertIn('cgroup CPU controller is not mounted', str(e))
        self.assertIn('cgroup_controllers', str(e))
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_limits_libvirt_changed_fail_the_boot(self):
        inst = self._tuned(quota='20000')
        with self._sched(dict(QEMU_SCHED, vcpu_quota=-1)):
            e = self.assertRaises(exception.UnsupportedHostCPUControlPolicy,
                                  self._spawn, inst)
        self.assertIn('vcpu_quota=-1', str(e))
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_bad_values_are_refused_before_anything_is_made(self):
        for key, value in (('quota', '500'), ('period', '999'),
                           ('period', '1000001'), ('shares', '0'),
                           ('quota', 'lots'), ('shares', True),
                           ('quota', '-2')):
            inst = self._tuned(**{key: value})
            e = self.assertRaises(exception.FlavorExtraSpecInvalid,
                                  self._spawn, inst)
            self.assertIn('quota:cpu_%s' % key, str(e))
            self.assertFalse(self.driver.instance_exists(inst))
            self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_virt_types_without_cpu_tuning_refuse_the_limits(self):
        self.flags(virt_type='parallels', group='libvirt')
        inst = self._tuned(quota='20000')
        e = self.assertRaises(exception.UnsupportedHostCPUControlPolicy,
                              self._spawn, inst)
        self.assertIn('parallels', str(e))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)


class CPUTuneXMLTestCase(test_driver.DriverTestBase):
    def test_cputune_sits_between_vcpu_and_os_and_round_trips(self):
        xml = ('<domain type="qemu"><name>g</name><vcpu>1</vcpu>'
               '<os><type>hvm</type></os></domain>')
        guest = vconfig.LibvirtConfigGuest.from_xml(xml)
        guest.cputune = vconfig.LibvirtConfigGuestCPUTune(period=100000,
                                                          quota=20000)
        out = guest.to_xml()
        self.assertLess(out.index('<vcpu>'), out.index('<cputune>'))
        self.assertLess(out.index('</cputune>'), out.index('<os>'))
        again = vconfig.LibvirtConfigGuest.from_xml(out).cputune
        self.assertEqual((None, 100000, 20000),
                         (again.shares, again.period, again.quota))

    def test_unmodelled_cputune_children_survive(self):
        xml = ('<domain type="qemu"><name>g</name><vcpu>1</vcpu><cputune>'
               '<quota>5000</quota><emulator_quota>3000</emulator_quota>'
               '</cputune></domain>')
        guest = vconfig.LibvirtConfigGuest.from_xml(xml)
        guest.cputune.quota = 6000
        out = guest.to_xml()
        self.assertIn('<quota>6000</quota>', out)
        self.assertIn('<emulator_quota>3000</emulator_quota>', out)
