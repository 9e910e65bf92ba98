"""Live consoles end to end: nova-all, the real guest, virtlogd, websockets.

One interactive session with history types while read-only viewers follow
the guest's console log through nova-serialproxy's hub and the compute
host's follower (doc/source/admin/serial-console.rst, the history modes).
"""

import os
import re
import signal
import time

from nova.tests.functional import base
from nova.tests.functional import live_console
from nova.tests.functional import test_api
from nova.virt.libvirt import console_log

LINES = 3000
# chatty's lines, whole (the guest's tty turns \n into \r\n): a line cut
# or merged with another does not match, so it counts as missing.
SEQ = re.compile(rb'SEQ (\d{6}) x{52}\r\n')
# What a viewer types: the tty would echo it, and the shell would print
# VIEWER-42, if it ever reached the guest.
VIEWER_COMMAND = b'echo VIEWER-$((40+2))\r'


def _virtlogd_pid():
    with open('/run/virtlogd.pid') as f:
        return int(f.read().strip())


class LiveConsoleTestCase(test_api.APITestCase):
    # Small files: the run rotates the log several times.
    MAX_SIZE = 32 * 1024
    MAX_BACKUPS = 3

    def setUp(self):
        super().setUp()
        # Restored even if applying ours fails half way: virtlogd is
        # shared. The guest boots after this, with these settings.
        self.addCleanup(base.set_virtlogd, base.VIRTLOGD_DEFAULT_MAX_SIZE,
                        base.VIRTLOGD_DEFAULT_MAX_BACKUPS)
        base.set_virtlogd(self.MAX_SIZE, self.MAX_BACKUPS)

    def viewer_url(self, server):
        """A read-only console URL from the API (console-viewers)."""
        status, body = self.services.request(
            'POST', '/servers/%s/console-viewers' % server.id,
            {'console_viewer': {}})
        self.assertEqual(200, status, body)
        self.assertEqual('serial-readonly', body['console_viewer']['type'])
        return body['console_viewer']['url']

    def live(self, url, name, **kwargs):
        console = live_console.LiveConsole(url, name=name, **kwargs)
        self.addCleanup(console.close)
        return console

    def viewer(self, server, name):
        viewer = self.live(self.viewer_url(server), name)
        viewer.wait_live()
        self.assertEqual({'mode': 'read-only', 'instance_uuid': server.id},
                         {k: viewer.hello.get(k) for k in
                          ('mode', 'instance_uuid')})
        return viewer

    def test_viewers_get_every_line_once_and_cannot_type(self):
        server = self.boot()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        interactive = self.live(self.remote_console_url(server),
                                'interactive',
                                history=console_log.MAX_CONSOLE_BYTES)
        interactive.wait_live()
        self.assertEqual('interactive', interactive.hello['mode'])
        self.assertIn(b'NOVA-GUEST-BANNER', interactive.snapshot())
        interactive.wait_prompt()

        # One interactive session per port: a second is refused at once.
        second = self.live(self.remote_console_url(server), 'second',
                           history=0)
        self.assertEqual(live_console.CLOSE_BUSY,
                         second.wait_closed()[0], second.close_reason)

        viewers = [self.viewer(server, 'viewer-%d' % i) for i in range(3)]
        for viewer in viewers:
            self.assertIn(b'NOVA-GUEST-BANNER', viewer.snapshot())

        pid = _virtlogd_pid()
        interactive.send(b'chatty %d\r' % LINES)
        # Two viewers join while the guest prints: their history must
        # join the live output exactly.
        joined_at = []
        for number in (400, 700):
            interactive.read_until(rb'SEQ %06d ' % number, timeout=120)
            joined_at.append(live_console.numbers(
                SEQ, interactive.snapshot())[-1])
            viewers.append(self.viewer(server, 'late-%d' % number))
        # virtlogd re-execs while the guest writes, between rotations.
        for seen in (900, 1500, 2100):
            interactive.read_until(rb'SEQ %06d ' % seen, timeout=300)
            os.kill(pid, signal.SIGUSR1)
        last = rb'SEQ %06d x{52}\r\n' % LINES
        for console in [interactive] + viewers:
            console.read_until(last, timeout=300)
        self.assertEqual(pid, _virtlogd_pid())
        # The run crossed rotations: the followers had to follow them.
        log = os.path.join(self.services.workdir, 'instances', server.id,
                           'console.log')
        with open('/etc/libvirt/virtlogd.conf') as f:
            conf = f.read()
        self.assertTrue(os.path.exists(log + '.1'), 'the log did not '
                        'rotate twice: files %s; virtlogd.conf: %s' % (
                            os.listdir(os.path.dirname(log)), conf))

        # Every line once, in order, for the interactive session and the
        # viewers that were there from the start; the late ones from
        # their history on, which reaches back to before they joined.
        full = list(range(1, LINES + 1))
        for console in [interactive] + viewers[:3]:
            self.assertEqual(full, live_console.numbers(
                SEQ, console.snapshot()), console.name)
        for console, joined in zip(viewers[3:], joined_at):
            got = live_console.numbers(SEQ, console.snapshot())
            self.assertLessEqual(got[0], joined, console.name)
            self.assertEqual(list(range(got[0], LINES + 1)), got,
                             console.name)
        # Byte for byte the same stream, and no gap, one live notice.
        reference = self._chatty_run(interactive.snapshot())
        for console in [interactive] + viewers:
            self.assertEqual([], console.gaps(), console.name)
            self.assertEqual(1, len([m for _, m in console.notices
                                     if m.get('live')]), console.name)
            data = console.snapshot()
            self.assertTrue(reference.endswith(self._chatty_run(data)),
                            console.name)

        # The viewers type a command; the interactive session then runs
        # one at the same prompt: only the latter reaches the shell.
        interactive.wait_prompt()
        for viewer in viewers:
            viewer.send(VIEWER_COMMAND)
        self.assertEqual(b'inter-5\n', interactive.run('echo inter-$((2+3))'))
        output = self.wait_output(server, 'inter-5')
        self.assertNotIn('VIEWER', output)
        for console in [interactive] + viewers:
            console.read_until(rb'inter-5\r\n', timeout=60)
            self.assertNotIn(b'VIEWER', console.snapshot(), console.name)
            self.assertIsNone(console.close_code, console.name)

    @staticmethod
    def _chatty_run(data):
        """From the first chatty line in ``data`` to the end of the
        last."""
        lines = list(SEQ.finditer(data))
        return data[lines[0].start():lines[-1].end()]


def _cpu_seconds(pid):
    """User + system CPU seconds of process ``pid`` so far."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class IdleViewerCostTestCase(test_api.APITestCase):
    """A host whose reads may not wait (``max_console_follow_waiters =
    0``, as for every guest past the 16th with the default): the hub is
    answered at once, empty, and must pause rather than ask again in a
    loop (proxy, broker and compute host all in nova-all here)."""

    EXTRA_CONF = {'serial_console': {'max_console_follow_waiters': 0}}

    def test_idle_viewer_does_not_busy_poll(self):
        server = self.boot()
        status, body = self.services.request(
            'POST', '/servers/%s/console-viewers' % server.id,
            {'console_viewer': {}})
        self.assertEqual(200, status, body)
        viewer = live_console.LiveConsole(body['console_viewer']['url'],
                                          name='idle viewer')
        self.addCleanup(viewer.close)
        viewer.wait_live()
        time.sleep(3)   # the guest's boot is over; let it go quiet
        pid = self.services.process.pid
        before, start = _cpu_seconds(pid), time.monotonic()
        time.sleep(5)
        used = _cpu_seconds(pid) - before
        elapsed = time.monotonic() - start
        # An idle guest polled about once a second costs a few ms of CPU
        # a second; a busy loop a whole core. Half a core is far from
        # either.
        self.assertLess(used, 0.5 * elapsed,
                        'nova-all used %.1f s of CPU in %.1f s for one '
                        'idle viewer' % (used, elapsed))
