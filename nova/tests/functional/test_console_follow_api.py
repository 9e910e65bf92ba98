"""Following a real guest's console log through the proxy's console API.

What nova-serialproxy does: console.api.API.follow_console_log, over the
in-process RPC transport, to a real ComputeService and ComputeManager on
the real LibvirtDriver (libvirtd, virtlogd, QEMU), for a guest booted
here. The follow sees the boot banner from history, then the lines the
guest prints after it, every byte once: at a quiet moment what it got is
exactly what console output reads.
"""

import re
import threading
import time

import nova.conf
from nova.cmd import common
from nova.compute import manager
from nova.compute import rpcapi
from nova.compute import service as compute_service
from nova.console import api as console_api
from nova import context
from nova.db import api as db
from nova import rpc
from nova.tests.functional import base
from nova.tests.unit.db import base as db_base
from nova.virt.libvirt import console_log

CONF = nova.conf.CONF
ADMIN = context.get_admin_context()


class FollowThroughAPITestCase(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        db_base.use_database(self)
        rpc.register_opts(CONF)
        self.flags(transport_url=rpc.IN_PROCESS_URL, report_interval=1,
                   rpc_response_timeout=30)
        self.addCleanup(rpc.cleanup, CONF)
        conductor = common.start_conductor(CONF)
        self.addCleanup(common.stop_rpc_server, conductor)
        service = compute_service.ComputeService(
            CONF, manager.ComputeManager(self.driver, conf=CONF))
        service.start()
        self.addCleanup(service.stop)
        self.host = service.host
        self.api = console_api.API(rpcapi.ComputeAPI(CONF), CONF)
        db.flavor_create({'id': '1', 'name': 'tiny', 'ram': 128,
                          'vcpus': 1})
        # The guest's image in the local catalog: a compute host asked over
        # RPC finds an image's files by its id, never by a path in the
        # message (ImageMeta carries none).
        db.image_create({'id': 'img', 'name': 'guest',
                         'kernel_path': self.stack.kernel,
                         'ramdisk_path': self.stack.initrd,
                         'properties': {
                             'os_command_line': self.stack.cmdline},
                         'disk_format': 'raw', 'status': 'active'})
        self.received = b''
        self.gaps = 0

    def _server_row(self, inst):
        db.instance_create({'uuid': inst.uuid, 'name': 'followed',
                            'project_id': 'p', 'user_id': 'u',
                            'flavor_id': '1', 'image_id': 'img',
                            'vm_state': 'active', 'task_state': None,
                            'host': self.host})

    def _follow_until(self, inst, pattern, timeout=base.BOOT_TIMEOUT):
        """Read the follow (long polls of 2 s) until ``pattern`` is in
        what it got; returns the last answer."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while not regex.search(self.received):
            if time.monotonic() > deadline:
                self.fail('%r not followed within %d s; got the end %r' % (
                    pattern, timeout, self.received[-600:]))
            answer = self.api.follow_console_log(
                ADMIN, inst.uuid, host=self.host, follow_id=self.follow_id,
                wait=2)
            self._take(answer)
            if answer['ended']:
                return answer
        return answer

    def _take(self, answer):
        self.assertEqual(self.host, answer['host'])
        self.assertIsInstance(answer['data'], bytes)
        self.gaps += answer['gap']
        self.received += answer['data']

    def test_banner_from_history_then_live_lines(self):
        inst = self.boot()
        self._server_row(inst)
        # The banner is printed before the shell: wait until it is in the
        # log, so the first answer (the history) holds it.
        self.wait_for_output(inst, base.BANNER)
        first = self.api.follow_console_log(ADMIN, inst.uuid)
        self.follow_id = first['follow_id']
        self._take(first)
        match = re.search(base.BANNER, first['data'])
        self.assertIsNotNone(match, first['data'][-600:])
        # This boot's banner (its id is drawn at each boot).
        self.assertIn(match.group(0),
                      self.driver.get_console_output(None, inst))

        # Lines the guest prints now arrive through the follow. The
        # computed number is only in the output, never in the echo.
        client = self.shell(self.connect_console(inst))
        client.send_line('for i in 1 2 3; do echo "FOLLOWED-$((i*111))"; '
                         'done')
        self._follow_until(inst, rb'FOLLOWED-333')
        self.assertIn(b'FOLLOWED-111', self.received)
        self.assertLess(self.received.index(b'FOLLOWED-111'),
                        self.received.index(b'FOLLOWED-333'))
        client.read_until(base.PROMPT, timeout=60)

        # Quiet guest: read until nothing more comes; then the follow has
        # every byte console output has, once, in order.
        while True:
            answer = self.api.follow_console_log(
                ADMIN, inst.uuid, host=self.host, follow_id=self.follow_id,
                wait=1)
            self._take(answer)
            if not answer['data']:
                break
        output = self.driver.get_console_output(None, inst)
        self.assertEqual(0, self.gaps)
        if len(self.received) <= console_log.MAX_CONSOLE_BYTES:
            self.assertEqual(output, self.received)
        else:
            self.assertEqual(output, self.received[-len(output):])

        # The guest leaves the host: the follow ends, its follower closes.
        self.driver.destroy(None, inst)
        answer = self._follow_until(inst, rb'(?!x)x', timeout=30)
        self.assertTrue(answer['ended'])
        self.assertEqual(0, self.gaps)

    def test_follow_goes_on_through_a_hard_reboot(self):
        inst = self.make_instance()
        inst.image_meta.id = 'img'  # the catalog's: the reboot is by RPC
        self.boot(inst)
        self._server_row(inst)
        self.wait_for_output(inst, base.BANNER)
        first = self.api.follow_console_log(ADMIN, inst.uuid)
        self.follow_id = first['follow_id']
        self._take(first)
        self.assertEqual(1, len(re.findall(base.BANNER, self.received)))
        # The compute host undefines the domain and defines it again; the
        # follow must neither end nor miss the second boot.
        errors = []

        def reboot():
            try:
                self.api.compute_rpcapi.reboot_instance(ADMIN, self.host,
                                                        inst, 'HARD')
            except Exception as e:  # reported by the assertion below
                errors.append(e)

        thread = threading.Thread(target=reboot)
        thread.start()
        self.addCleanup(thread.join)
        # Reads without waiting while the reboot runs, so some fall
        # between the undefine and the define.
        while thread.is_alive():
            answer = self.api.follow_console_log(
                ADMIN, inst.uuid, host=self.host, follow_id=self.follow_id)
            self._take(answer)
            self.assertFalse(answer['ended'])
            time.sleep(0.005)
        answer = self._follow_until(inst, base.BANNER + rb'[\s\S]*' +
                                    base.BANNER)
        self.assertEqual([], errors)
        self.assertFalse(answer['ended'])
        self.assertEqual(0, self.gaps)
        banners = re.findall(base.BANNER, self.received)
        self.assertEqual(2, len(banners))
        self.assertNotEqual(banners[0], banners[1])
