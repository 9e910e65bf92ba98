"""Live consoles across a live migration, on the two-host rig.

A viewer and an interactive session with history watch a guest; the guest
moves to the other host; both reconnect with new console URLs from the API
and ``after=`` the last bytes they saw, and their two sessions together
hold every numbered line the guest printed once, in order: the history
carried with the log fills what they missed while away.
"""

import re

from nova.tests.functional import live_console
from nova.tests.functional import test_multihost
from nova.virt.libvirt import console_log

PAD = 'x' * 40
MIG = re.compile(rb'MIG (\d+) ' + PAD.encode() + rb'\r\n')


class LiveConsoleMigrationTestCase(test_multihost.MultiHostTestCase):
    def viewer_url(self, server):
        status, body = self.a.request(
            'POST', '/servers/%s/console-viewers' % server.id,
            {'console_viewer': {}})
        self.assertEqual(200, status, body)
        return body['console_viewer']['url']

    def serial_url(self, server):
        return self.conn.compute.create_console(
            server, console_type='serial')['url']

    def live(self, url, name, **kwargs):
        console = live_console.LiveConsole(
            url, name=name, history=console_log.MAX_CONSOLE_BYTES, **kwargs)
        self.addCleanup(console.close)
        console.wait_live()
        return console

    @staticmethod
    def print_lines(console, first, last):
        """The guest prints lines ``first``..``last`` (typed on
        ``console``, which sees the last one). The typing's echo has
        "$i" where the number goes: it never matches MIG."""
        start = len(console.snapshot())
        console.send(b'i=%d; while [ $i -lt %d ]; do i=$((i+1)); '
                     b'echo "MIG $i %s"; done\r' % (first - 1, last,
                                                    PAD.encode()))
        console.read_until(rb'MIG %d %s\r\n' % (last, PAD.encode()),
                           timeout=120, start=start)

    def test_reconnect_with_new_tokens_continues_history(self):
        self.start_b()
        server = self.boot()
        source = self.host_of(server)
        dest = {'host-a': 'host-b', 'host-b': 'host-a'}[source]
        self.wait_output(server, 'NOVA-GUEST-BANNER')

        interactive = self.live(self.serial_url(server), 'interactive')
        viewer = self.live(self.viewer_url(server), 'viewer')
        interactive.wait_prompt()
        self.print_lines(interactive, 1, 100)
        viewer.read_until(rb'MIG 100 ', timeout=60)

        self.live_migrate(server, dest)
        self.assertEqual(dest, self.host_of(server))
        # Both sessions end, the viewer telling the console moved.
        self.assertEqual(live_console.CLOSE_MOVED,
                         viewer.wait_closed(60)[0], viewer.close_reason)
        interactive.wait_closed(60)

        # While nobody watches, the guest prints more (typed on a plain
        # serial session on the new host).
        plain = live_console.LiveConsole(self.serial_url(server),
                                         name='plain')
        self.addCleanup(plain.close)
        plain.wait_prompt()
        self.print_lines(plain, 101, 200)
        plain.close()

        # Back with new URLs from the API, after what each saw.
        sessions = []
        for old, url in ((interactive, self.serial_url(server)),
                         (viewer, self.viewer_url(server))):
            new = self.live(url, old.name + '-again', after=old.tail())
            sessions.append((old, new))
        interactive_again = sessions[0][1]
        self.assertEqual('interactive', interactive_again.hello['mode'])
        self.assertEqual('read-only', sessions[1][1].hello['mode'])
        interactive_again.wait_prompt()
        self.print_lines(interactive_again, 201, 300)

        for old, new in sessions:
            # The whole last line: the numbers counted are whole lines.
            new.read_until(rb'MIG 300 %s\r\n' % PAD.encode(), timeout=60)
            self.assertEqual([], new.gaps(), new.name)
            # The old session ended after line 100 at the latest; the new
            # one's history starts right after what the old one saw.
            before = live_console.numbers(MIG, old.snapshot())
            after = live_console.numbers(MIG, new.snapshot())
            self.assertEqual(list(range(1, 101)), before, old.name)
            self.assertEqual(list(range(1, 301)), before + after, new.name)

    def test_guest_printing_through_the_migration(self):
        self.start_b()
        server = self.boot()
        dest = {'host-a': 'host-b', 'host-b': 'host-a'}[
            self.host_of(server)]
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        interactive = self.live(self.serial_url(server), 'interactive')
        viewer = self.live(self.viewer_url(server), 'viewer')
        interactive.wait_prompt()
        # A loop that outlasts the migration: lines are printed on the
        # source until it stops, and on the destination from its start.
        last = 1500
        interactive.send(b'i=0; while [ $i -lt %d ]; do i=$((i+1)); '
                         b'echo "MIG $i %s"; sleep 0.01; done\r'
                         % (last, PAD.encode()))
        viewer.read_until(rb'MIG 50 ', timeout=60)
        self.live_migrate(server, dest)
        self.assertEqual(live_console.CLOSE_MOVED,
                         viewer.wait_closed(60)[0], viewer.close_reason)
        interactive.wait_closed(60)
        moved_at = live_console.numbers(MIG, viewer.snapshot())[-1]
        self.assertLess(moved_at, last, 'the loop ended before the '
                        'migration did: nothing was printed across it')

        sessions = []
        for old, url in ((interactive, self.serial_url(server)),
                         (viewer, self.viewer_url(server))):
            sessions.append((old, self.live(url, old.name + '-again',
                                            after=old.tail())))
        for old, new in sessions:
            new.read_until(rb'MIG %d %s\r\n' % (last, PAD.encode()),
                           timeout=300)
            self.assertEqual([], new.gaps(), new.name)
            self.assertEqual(
                list(range(1, last + 1)),
                live_console.numbers(MIG, old.snapshot()) +
                live_console.numbers(MIG, new.snapshot()), new.name)
