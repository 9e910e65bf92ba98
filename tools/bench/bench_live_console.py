#!/usr/bin/env python3
"""Benchmark live consoles on the real stack (not a test).

Run as root from the repository:

    python tools/bench/bench_live_console.py

nova-all (the API, this host's compute service and nova-serialproxy in one
process) on 127.0.0.1 with one booted server of the tiny guest. Every
figure is printed beside a baseline measured in the same run:

1. Latency, guest write -> receipt. A plain serial session (today's mode:
   the raw bytes of the guest's tcp port) types a shell loop printing
   --lat-lines numbered lines --lat-interval s apart. QEMU writes each
   byte to the tcp port and to virtlogd together, so the time a line
   reaches the plain session is the reference. A viewer (read-only
   token, the log followed through the compute host) and a client
   polling ``os-getConsoleOutput`` note when each line reaches them.
   Median and p99 of (receipt - reference) in ms, and lines missed. One
   pass per --poll-intervals value (0: back to back, the best polling
   can do), with the viewer in every pass.
2. Idle CPU. CPU seconds of nova-all, virtlogd, libvirtd and the guest's
   QEMU over --idle s of a quiet guest: with nothing watching (the
   baseline), with one viewer connected, with a client polling
   ``os-getConsoleOutput`` every second.
3. Fan-out. --viewers viewers of the guest while it runs ``chatty
   --lines`` (64-byte numbered lines, as fast as the guest prints):
   bytes per second delivered (all viewers, and per viewer), whether
   each got every line once in order, host CPU (/proc/stat, all cores)
   and the processes' CPU. The baselines: the same with no viewer (the
   guest printing to the plain session alone) and with one viewer.

No figure is asserted: the machine is shared and has 2 cores. Loops are
bounded (arguments are range-checked, every wait has a deadline), all
traffic stays on 127.0.0.1. The server is deleted and nova-all stopped in
every case. Exit 0 on success, 1 with a message on failure.
"""

import argparse
import bisect
import os
import re
import shutil
import statistics
import sys
import threading
import time
import traceback

from benchlib import api_call
from benchlib import BenchFailed
from benchlib import boot_server
from benchlib import console_output
from benchlib import cpu_seconds
from benchlib import functional_tests_running
from benchlib import LiveConsole
from benchlib import NovaAll
from benchlib import numbers
from benchlib import out
from benchlib import pids_of
from benchlib import prepare_host
from benchlib import progress
from benchlib import reproduce_command

PAD = 'x' * 40
LAT_LINE = re.compile(rb'LAT (\d+) x{40}\r?\n')
LAT_TEXT = re.compile(r'LAT (\d+) x{40}\n')
SEQ_LINE = re.compile(rb'SEQ (\d{6}) x+\r?\n')
WAIT = 120      # seconds any one wait may take


# -- console URLs -------------------------------------------------------------

def serial_url(services, server_id):
    reply = api_call(services, 'POST',
                     '/servers/%s/remote-consoles' % server_id,
                     {'remote_console': {'protocol': 'serial',
                                         'type': 'serial'}},
                     version='2.6')
    return reply['remote_console']['url']


def viewer_url(services, server_id):
    reply = api_call(services, 'POST',
                     '/servers/%s/console-viewers' % server_id,
                     {'console_viewer': {}})
    return reply['console_viewer']['url']


def plain_session(services, server_id):
    """Today's serial session (no history options): the reference."""
    console = LiveConsole(serial_url(services, server_id), name='plain')
    console.wait_prompt(WAIT)
    return console


def viewer(services, server_id, name='viewer'):
    console = LiveConsole(viewer_url(services, server_id), history=0,
                          name=name)
    console.wait_live(WAIT)
    return console


def arrival(console, end):
    """When the byte at offset ``end - 1`` of ``console.data`` came."""
    ends = [e for e, _ in console.arrivals]
    return console.arrivals[bisect.bisect_left(ends, end)][1]


def line_times(console, regex, start=0):
    """{line number: arrival time} of every line after ``start``."""
    data = console.snapshot()
    return {int(m.group(1)): arrival(console, m.end())
            for m in regex.finditer(data, start)}


def stats_ms(values):
    if not values:
        return 'no lines'
    values = sorted(v * 1000 for v in values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return 'median %.1f ms, p99 %.1f ms' % (statistics.median(values), p99)


# -- CPU ----------------------------------------------------------------------

def host_busy():
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open('/proc/stat') as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]    # idle + iowait
    return sum(fields) - idle, sum(fields)


class Meter:
    """CPU seconds of named pid groups and of the host over an interval."""

    def __init__(self, groups):
        self.groups = groups

    def _read(self):
        values = {}
        for name, pids in self.groups.items():
            total = 0.0
            for pid in pids:
                try:
                    total += cpu_seconds(pid)
                except (OSError, ValueError, IndexError):
                    pass    # gone meanwhile
            values[name] = total
        return values, host_busy(), time.monotonic()

    def __enter__(self):
        self._start = self._read()
        return self

    def __exit__(self, *exc):
        (end, (busy1, total1), t1) = self._read()
        (start, (busy0, total0), t0) = self._start
        self.seconds = t1 - t0
        self.used = {name: end[name] - start[name] for name in end}
        self.host = (busy1 - busy0) / max(1, total1 - total0)

    @property
    def total(self):
        """CPU seconds of every measured process together."""
        return sum(self.used.values())

    def text(self):
        # Host CPU counts whatever else runs on this shared machine; the
        # measured processes' own share is the figure to compare.
        return '%s; measured processes %.0f%% of %d cores' % (
            ', '.join('%s %.2f s' % item for item in self.used.items()),
            self.total / self.seconds / os.cpu_count() * 100,
            os.cpu_count())


def qemu_pid(server_id):
    # comm is cut to 15 characters: qemu-system-x86_64 shows as this.
    for pid in pids_of('qemu-system-x86'):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                if server_id.encode() in f.read():
                    return pid
        except OSError:
            pass
    return None


def groups(services, server_id):
    found = {'nova-all': [services.process.pid],
             'virtlogd': pids_of('virtlogd'),
             'libvirtd': pids_of('libvirtd'),
             'bench clients': [os.getpid()]}
    pid = qemu_pid(server_id)
    if pid:
        found['guest qemu'] = [pid]
    return found


# -- 1: latency ---------------------------------------------------------------

class Poller:
    """Calls os-getConsoleOutput every ``interval`` s; notes when each
    numbered line first appears in its answer."""

    def __init__(self, services, server_id, interval, last):
        self.services, self.server_id = services, server_id
        self.interval, self.last = interval, last
        self.seen = {}
        self.calls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        deadline = time.monotonic() + WAIT * 2
        while not self._stop.is_set() and time.monotonic() < deadline:
            text = console_output(self.services, self.server_id)
            now = time.monotonic()
            self.calls += 1
            for m in LAT_TEXT.finditer(text):
                self.seen.setdefault(int(m.group(1)), now)
            if self.last in self.seen:
                return
            if self.interval:
                self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()

    def __exit__(self, *exc):
        # Until it saw the last line (or its deadline), unless stopped.
        self._thread.join(WAIT * 2)


def latency_pass(services, server_id, args, interval, run):
    lines = args.lat_lines
    first = run * lines + 1
    last = first + lines - 1
    plain = plain_session(services, server_id)
    watcher = viewer(services, server_id)
    try:
        start_plain = len(plain.snapshot())
        start_viewer = len(watcher.snapshot())
        with Meter(groups(services, server_id)) as meter, \
                Poller(services, server_id, interval, last) as poller:
            plain.send(('i=%d; while [ $i -lt %d ]; do i=$((i+1)); '
                        'echo "LAT $i %s"; sleep %s; done\r' % (
                            first - 1, last, PAD,
                            args.lat_interval)).encode())
            end = re.compile(rb'LAT %d x{40}\r?\n' % last)
            plain.read_until(end, WAIT, start_plain)
            watcher.read_until(end, WAIT, start_viewer)
        reference = line_times(plain, LAT_LINE, start_plain)
        viewed = line_times(watcher, LAT_LINE, start_viewer)
    finally:
        plain.close()
        watcher.close()
    wanted = range(first, last + 1)
    for name, seen in (('viewer', viewed), ('poller', poller.seen)):
        missed = [n for n in wanted if n not in seen]
        lat = [seen[n] - reference[n] for n in wanted
               if n in seen and n in reference]
        extra = (', %d calls' % poller.calls) if name == 'poller' else ''
        out('  %-8s %s, %d of %d lines missed%s'
            % (name, stats_ms(lat), len(missed), lines, extra))
    out('  CPU over the pass (%.1f s): %s' % (meter.seconds, meter.text()))


def latency_bench(services, server_id, args):
    out('1. latency, guest write -> receipt (reference: the plain serial '
        'session\'s receipt), %d lines %s s apart'
        % (args.lat_lines, args.lat_interval))
    for run, interval in enumerate(args.poll_intervals):
        out(' pass %d: viewer, and os-getConsoleOutput polled %s'
            % (run + 1, 'back to back' if not interval else
               'every %g s' % interval))
        latency_pass(services, server_id, args, interval, run)
    out()


# -- 2: idle CPU --------------------------------------------------------------

def idle_bench(services, server_id, args):
    out('2. idle CPU over %g s of a quiet guest (CPU seconds)' % args.idle)
    results = {}
    for mode in ('nothing watching', 'one viewer', 'polling every 1 s'):
        progress('idle: %s', mode)
        watcher = poller = None
        if mode == 'one viewer':
            watcher = viewer(services, server_id)
        try:
            with Meter(groups(services, server_id)) as meter:
                if mode.startswith('polling'):
                    poller = Poller(services, server_id, 1.0, -1)
                    with poller:
                        time.sleep(args.idle)
                        poller.stop()
                else:
                    time.sleep(args.idle)
        finally:
            if watcher is not None:
                watcher.close()
        results[mode] = (meter.used['nova-all'], meter.total)
        out('  %-18s %s' % (mode + ':', meter.text()))
    (base, base_total) = results['nothing watching']
    for mode in ('one viewer', 'polling every 1 s'):
        out('  %s above the baseline: nova-all %+.2f s, all measured '
            'processes %+.2f s' % (mode, results[mode][0] - base,
                                   results[mode][1] - base_total))
    out()


# -- 3: fan-out ---------------------------------------------------------------

def fanout_pass(services, server_id, count, lines):
    """(bytes/s delivered, host CPU share, nova-all CPU s) with ``count``
    viewers (0: the guest prints to the plain session only)."""
    plain = plain_session(services, server_id)
    viewers = []
    try:
        for i in range(count):
            viewers.append(viewer(services, server_id, 'viewer-%d' % i))
        starts = [len(v.snapshot()) for v in viewers]
        start_plain = len(plain.snapshot())
        end = re.compile(rb'SEQ %06d x+\r?\n' % lines)
        with Meter(groups(services, server_id)) as meter:
            t0 = time.monotonic()
            plain.send(b'chatty %d\r' % lines)
            m = plain.read_until(end, WAIT, start_plain)
            guest_s = arrival(plain, m.end()) - t0
            last = [t0 + guest_s]
            for v, start in zip(viewers, starts):
                m = v.read_until(end, WAIT, start)
                last.append(arrival(v, m.end()))
            t1 = max(last)
        delivered = sum(len(v.snapshot()) - s
                        for v, s in zip(viewers, starts))
        complete = sum(
            1 for v, s in zip(viewers, starts)
            if numbers(SEQ_LINE, v.snapshot()[s:]) ==
            list(range(1, lines + 1)))
        gaps = sum(len(v.gaps()) for v in viewers)
        guest_bytes = len(plain.snapshot()) - start_plain
    finally:
        for v in viewers:
            v.close()
        plain.close()
    seconds = t1 - t0
    rate = delivered / seconds
    if count:
        out('  %d viewer(s): %.0f KiB/s delivered in all, %.1f KiB/s '
            'each; last byte %.2f s after the command; %d of %d got '
            'every line once in order, %d gap notice(s)'
            % (count, rate / 1024, rate / 1024 / count, seconds, complete,
               count, gaps))
    else:
        out('  no viewer (baseline: the guest printing to the plain '
            'session only)')
    out('    the guest printed in %.2f s (%.1f KiB/s on its serial port); '
        'host CPU %.0f%% of %d cores; %s'
        % (guest_s, guest_bytes / guest_s / 1024, meter.host * 100,
           os.cpu_count(), meter.text()))
    return rate, meter.host, meter.used['nova-all'], seconds, meter.total


def fanout_bench(services, server_id, args):
    out('3. fan-out: viewers of one guest running chatty %d (%d bytes '
        'in the log)' % (args.lines, args.lines * 65))
    results = [fanout_pass(services, server_id, count, args.lines)
               for count in (0, 1, args.viewers)]
    (_, cpu0, nova0, s0, all0), (rate1, cpu1, nova1, s1, all1), \
        (rate, cpu, nova, s, alln) = results
    out('  %d viewers / 1 viewer: bytes/s delivered x%.1f; host CPU '
        '%.0f%% / %.0f%% (no viewer: %.0f%%); CPU seconds per second, '
        'nova-all %.2f / %.2f (no viewer: %.2f), all measured processes '
        '%.2f / %.2f (no viewer: %.2f)'
        % (args.viewers, rate / rate1, cpu * 100, cpu1 * 100, cpu0 * 100,
           nova / s, nova1 / s1, nova0 / s0, alln / s, all1 / s1,
           all0 / s0))
    out()


# -- main ---------------------------------------------------------------------

def run(args):
    virt_type, kernel, initrd, cmdline, how = prepare_host()
    others = functional_tests_running()
    out('host: %d CPU(s), kernel %s, virt type %s; libvirtd/virtlogd %s%s'
        % (os.cpu_count(), os.uname().release, virt_type, how,
           '; functional tests running meanwhile (pid %s)'
           % ', '.join(others) if others else ''))
    out()
    services = NovaAll(kernel, initrd, cmdline, virt_type)
    try:
        progress('starting nova-all (%s)', services.workdir)
        services.start()
        server_id = boot_server(services)
        if 'latency' in args.only:
            latency_bench(services, server_id, args)
        if 'idle' in args.only:
            idle_bench(services, server_id, args)
        if 'fanout' in args.only:
            fanout_bench(services, server_id, args)
    finally:
        progress('deleting the server and stopping nova-all')
        log_copy = getattr(args, 'keep_log', None)
        if log_copy:
            shutil.copy(services.log_file, log_copy)
        services.cleanup()


def intervals(text):
    values = [float(v) for v in text.split(',')]
    if not 1 <= len(values) <= 3 or any(not 0 <= v <= 5 for v in values):
        raise argparse.ArgumentTypeError('1 to 3 values, each 0..5 s')
    return values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--lat-lines', type=int, default=200)
    parser.add_argument('--lat-interval', type=float, default=0.05,
                        help='seconds between two lines the guest prints')
    parser.add_argument('--poll-intervals', type=intervals,
                        default=[1.0, 0.0],
                        help='os-getConsoleOutput polling, comma-separated '
                             'seconds (0: back to back); default 1,0')
    parser.add_argument('--idle', type=float, default=60.0)
    parser.add_argument('--viewers', type=int, default=50)
    parser.add_argument('--lines', type=int, default=6000,
                        help='chatty lines of the fan-out (65 log bytes '
                             'each)')
    parser.add_argument('--only', default='latency,idle,fanout',
                        type=lambda v: set(v.split(',')))
    parser.add_argument('--keep-log', metavar='FILE',
                        help='copy nova-all\'s log there at the end')
    args = parser.parse_args(argv)
    if not (10 <= args.lat_lines <= 1000 and
            0.01 <= args.lat_interval <= 1 and 1 <= args.idle <= 120 and
            1 <= args.viewers <= 64 and 100 <= args.lines <= 30000 and
            args.only <= {'latency', 'idle', 'fanout'}):
        parser.error('keep it bounded: --lat-lines 10..1000, '
                     '--lat-interval 0.01..1, --idle 1..120, --viewers '
                     '1..64, --lines 100..30000, --only of latency,idle,'
                     'fanout')
    out('$ ' + reproduce_command())
    started = time.monotonic()
    failure = None
    try:
        run(args)
    except BenchFailed as e:
        failure = e
    except KeyboardInterrupt:
        failure = 'interrupted'
    except Exception as e:  # ServicesFailed, OSError, websocket, asserts
        traceback.print_exc(file=sys.stderr)
        failure = '%s: %s' % (type(e).__name__, e)
    if failure is not None:
        print('bench: FAILED: %s' % failure, file=sys.stderr, flush=True)
        return 1
    out('total %.0f s' % (time.monotonic() - started))
    return 0


if __name__ == '__main__':
    sys.exit(main())
