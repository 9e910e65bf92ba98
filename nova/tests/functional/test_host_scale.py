"""Several guests on one host at once, booted through the API: each
console log holds its own guest's output and nothing of the others'.

The small version CI can afford of tools/bench/bench_host_scale.py (30
and 50 guests, doc/source/admin/host-scale.rst): GUESTS servers booted
together, each typed a marker on its serial console through
nova-serialproxy, then each one's console output checked for its own
banner, its own marker, and no other guest's banner or marker.
"""

import re

from nova.tests.functional import base
from nova.tests.functional import test_api

GUESTS = 4
BOOT_ID = rb'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'


class ManyGuestsTestCase(test_api.APITestCase):
    def _boot_all(self, count):
        servers = []
        for n in range(count):
            server = self.conn.compute.create_server(
                name='scale-%d' % n, image_id=test_api.services.IMAGE_ID,
                flavor_id='1', networks='none')
            self.addCleanup(self._delete, server)
            servers.append(server)
        # Booted together: TCG guests share the two cores meanwhile.
        return [self.wait_active(s, timeout=base.BOOT_TIMEOUT * count)
                for s in servers]

    def test_each_console_holds_its_own_guest_only(self):
        servers = self._boot_all(GUESTS)
        typed = {}
        for n, server in enumerate(servers):
            self.wait_output(server, 'NOVA-GUEST-BANNER',
                             timeout=base.BOOT_TIMEOUT * GUESTS)
            console = self.shell(self.remote_console_url(server))
            console.run('cd /proc/sys/kernel/random')
            # Short lines (busybox redraws what passes 80 columns). The
            # shell computes part of the marker: what reaches the log is
            # the guest's own output, not only the echo of our typing.
            tag = server.id[:8]
            answer = console.run('echo MK$((%d+1))-%s $(cat boot_id)'
                                 % (n, tag))
            match = re.fullmatch(rb'MK%d-%s (%s)\n' % (
                n + 1, tag.encode(), BOOT_ID), answer)
            self.assertIsNotNone(match, answer)
            typed[server.id] = ('MK%d-%s' % (n + 1, tag),
                                match.group(1).decode())
            console.close()

        self.assertEqual(GUESTS, len(set(typed.values())))
        for server in servers:
            marker, boot_id = typed[server.id]
            output = self.wait_output(server, marker)
            self.assertEqual(
                [boot_id], re.findall(r'NOVA-GUEST-BANNER (\S+)', output),
                'the banner of %s is not its own' % server.id)
            for other, (other_marker, other_boot) in typed.items():
                if other == server.id:
                    continue
                self.assertNotIn(other_marker, output)
                self.assertNotIn(other_boot, output)
