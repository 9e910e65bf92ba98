"""Console output never reads where a guest's log used to be.

The driver reads a running guest's live XML once per run of its QEMU
and keeps where its log is, keyed by the domain's ID
(nova.virt.libvirt.driver.LibvirtDriver._log_source). On the real
libvirtd, virtlogd and QEMU: each hard reboot and rebuild is a new run
with a new ID, and a guest moved to another log file and restarted
behind the driver's back (as a live migration's arrival or an operator
would) is read from its new file at once.
"""

import os
import re

from nova.tests.functional import base
from nova.virt.libvirt import config as vconfig


class LogSourceTestCase(base.FunctionalTestCase):
    def _kept_id(self, inst):
        return self.driver._log_sources[inst.uuid].dom_id

    def test_hard_reboot_and_rebuild_are_new_runs(self):
        inst = self.boot()
        self.wait_for_output(inst, base.BANNER)
        ids = [self._kept_id(inst)]
        self.driver.reboot(None, inst, reboot_type='HARD')
        self.wait_for_output(inst, base.BANNER, count=2)
        ids.append(self._kept_id(inst))
        self.driver.rebuild(None, inst, inst.image_meta)
        output = self.wait_for_output(inst, base.BANNER, count=3)
        ids.append(self._kept_id(inst))
        self.assertEqual(3, len(set(ids)), ids)
        self.assertEqual(ids[-1],
                         self.driver.host.get_domain(inst).ID())
        # One log across the three runs (append="on").
        self.assertEqual(3, len(re.findall(base.BANNER, output)))

    def test_log_moved_behind_the_drivers_back(self):
        inst = self.boot()
        first = self.wait_for_output(inst, base.BANNER)
        old_id = self._kept_id(inst)
        moved = os.path.join(self.instances_path, inst.uuid + '-moved')
        os.mkdir(moved, 0o700)
        conn = self.driver.host.get_connection()
        dom = conn.lookupByUUIDString(inst.uuid)
        guest = vconfig.LibvirtConfigGuest.from_xml(dom.XMLDesc(0))
        dev = next(d for d in guest.char_devices if d.log is not None)
        dev.log.file = os.path.join(moved, 'console.log')
        dom.destroy()
        conn.defineXML(guest.to_xml())
        conn.lookupByUUIDString(inst.uuid).create()
        output = self.wait_for_output(inst, base.BANNER)
        self.assertNotEqual(old_id, self._kept_id(inst))
        self.assertEqual(os.path.join(moved, 'console.log'),
                         self.driver._log_sources[inst.uuid].path)
        # Only the new run's boot is in the new file.
        self.assertNotIn(re.search(base.BANNER, first).group(0), output)
