"""Following a real guest's console log on real virtlogd and QEMU."""

import glob
import os
import re
import signal
import threading
import time
import traceback

from nova.tests.functional import base
from nova.virt.libvirt import console_follow

LINES = 3000
PAD = 'x' * 40
# The guest's tty turns \n into \r\n. The typed command's echo has "$i"
# where the number goes, so it never matches.
NUMBERED = re.compile(rb'FOLLOW (\d+) ' + PAD.encode() + rb'\r?\n')


def _virtlogd_pid():
    with open('/run/virtlogd.pid') as f:
        return int(f.read().strip())


class FollowTestCase(base.FunctionalTestCase):
    # Small files: the run rotates many times more than the backups hold,
    # so only a follower that keeps up across rotations has every line.
    MAX_SIZE = 16 * 1024
    MAX_BACKUPS = 3

    def setUp(self):
        super().setUp()
        # Restored even if applying ours fails half way (the file written,
        # the daemon not answering): virtlogd is shared.
        self.addCleanup(base.set_virtlogd, base.VIRTLOGD_DEFAULT_MAX_SIZE,
                        base.VIRTLOGD_DEFAULT_MAX_BACKUPS)
        base.set_virtlogd(self.MAX_SIZE, self.MAX_BACKUPS)

    def test_every_line_once_in_order_across_rotations_and_reexec(self):
        inst = self.boot()
        client = self.shell(self.connect_console(inst))
        path = self.driver.console_log_path(inst)
        follower = console_follow.LogFollower(path, history_bytes=0)
        self.addCleanup(follower.close)
        received = []
        late_received = []
        gaps = []
        stop = threading.Event()

        errors = []

        def follow(follower, received):
            while not stop.is_set():
                try:
                    received.append(follower.read(0.5))
                except console_follow.LogGap as e:
                    gaps.append(e)
                except Exception:
                    # Anything else ends this reader: kept, so that the
                    # test names it rather than only the lines missed.
                    errors.append(traceback.format_exc())
                    return

        def start(follower, received):
            reader = threading.Thread(target=follow,
                                      args=(follower, received))
            reader.start()
            self.addCleanup(reader.join)
            return reader

        self.addCleanup(stop.set)
        readers = [start(follower, received)]

        pid = _virtlogd_pid()
        client.send_line('i=0; while [ $i -lt %d ]; do i=$((i+1)); '
                         'echo "FOLLOW $i %s"; done' % (LINES, PAD))
        # Re-exec virtlogd three times while the guest writes: the
        # console client reads as the guest prints, and more lines follow.
        for seen in (300, 600, 900):
            client.read_until(rb'FOLLOW %d ' % seen, timeout=300)
            os.kill(pid, signal.SIGUSR1)
        # A second follower joins mid-run: its history (all the backups
        # hold, under 100 KiB) and its live bytes must join exactly.
        client.read_until(rb'FOLLOW %d ' % (LINES // 2), timeout=300)
        late = console_follow.LogFollower(path)
        self.addCleanup(late.close)
        readers.append(start(late, late_received))
        client.read_until(rb'FOLLOW %d ' % LINES, timeout=300)

        last = re.compile(rb'FOLLOW %d ' % LINES)
        deadline = time.monotonic() + 60
        while (not (last.search(b''.join(received)) and
                    last.search(b''.join(late_received))) and
               time.monotonic() < deadline):
            time.sleep(0.2)
        stop.set()
        for reader in readers:
            reader.join()

        data = b''.join(received)
        numbers = [int(n) for n in NUMBERED.findall(data)]
        self.assertEqual([], errors)
        self.assertEqual([], gaps)
        self.assertEqual(list(range(1, LINES + 1)), numbers)
        late_numbers = [int(n) for n in
                        NUMBERED.findall(b''.join(late_received))]
        # Its first read, the history, went back across files.
        self.assertGreater(len(NUMBERED.findall(late_received[0])), 500)
        self.assertEqual(list(range(late_numbers[0], LINES + 1)),
                         late_numbers)
        self.assertEqual(pid, _virtlogd_pid())
        # The follower got more than the log keeps: it followed the log
        # across rotations beyond its backups.
        kept = sum(os.path.getsize(p) for p in glob.glob(path + '*'))
        self.assertGreater(len(data), kept,
                           'virtlogd did not rotate the log: was its '
                           'max_size changed by another test run?')
