#!/usr/bin/env python3
"""Benchmark the driver on the real libvirtd, virtlogd and QEMU (not a test).

Run as root. Like the functional tests it prepares the host itself
(tools/setup-host.sh, tools/build-guest-image.sh), then boots real guests
through ``LibvirtDriver.spawn`` on qemu:///system with the serial console
enabled, and prints:

1. Time to the first console byte: for N guests booted one after another,
   from calling ``spawn`` to (a) the first byte in console.log (its size
   polled every 20 ms) and (b) the ``NOVA-GUEST-BANNER`` line in
   ``get_console_output`` (polled every 20 ms).
2. Time in our code: ``spawn`` in total against the time inside libvirt
   calls (every call on the connection and its domains goes through a
   timing proxy); our code = total - libvirt. The same for
   ``get_console_output`` and ``get_serial_console``.
3. ``get_console_output`` on a log that the real virtlogd rotated
   (max_size 64 KiB, 3 backups, a guest printing 20000 lines of 64 bytes):
   median of 200 calls, and ``console_log.read_log_tail`` alone, against
   one ``os.pread`` of as many bytes from an already open file, measured
   in the same run. virtlogd gets its defaults back afterwards, also on
   failure.

Guests are destroyed and the temporary instances folder removed in every
case. Figures go to stdout, progress to stderr. Exit 0 on success, 1 with
a message on failure.

virtlogd's settings are global: do not run this while the functional
tests (or anything else that relies on them) run on the same host.
"""

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time

import benchlib  # noqa: E402,I100 (first: the repository on sys.path)

import libvirt  # noqa: E402
from oslo_config import cfg  # noqa: E402

import nova.conf  # noqa: E402
from nova import exception  # noqa: E402
from nova.objects import instance as objects  # noqa: E402
from nova.virt.libvirt import console_log  # noqa: E402
from nova.virt.libvirt import driver as libvirt_driver  # noqa: E402
from nova.virt.libvirt import host as libvirt_host  # noqa: E402
from benchlib import BenchFailed  # noqa: E402
from benchlib import functional_tests_running  # noqa: E402
from benchlib import out  # noqa: E402
from benchlib import progress  # noqa: E402
from benchlib import reproduce_command  # noqa: E402
from benchlib import run_tool  # noqa: E402

CONF = nova.conf.CONF

REPO = benchlib.REPO
SETUP_HOST, BUILD_IMAGE = benchlib.SETUP_HOST, benchlib.BUILD_IMAGE
URI = 'qemu:///system'
PORT_RANGE = '30000:30100'

BANNER = re.compile(rb'NOVA-GUEST-BANNER [0-9a-f-]{36}')
PROMPT = b'nova-guest# '
SEQ = re.compile(rb'SEQ (\d{6}) ')
ANY_BYTE = re.compile(rb'.', re.S)

POLL = 0.02                 # seconds, for both boot figures
BOOT_TIMEOUT = 180
CHATTY_TIMEOUT = 1800

VIRTLOGD_DEFAULTS = (2 * 1024 * 1024, 3)
VIRTLOGD_SMALL = (64 * 1024, 3)


def set_virtlogd(max_size, max_backups):
    """Write virtlogd.conf; setup-host.sh sends virtlogd SIGUSR1."""
    run_tool(SETUP_HOST, '--virtlogd-max-size', str(max_size),
             '--virtlogd-max-backups', str(max_backups))


# -- timing of libvirt calls --------------------------------------------------

class LibvirtTimer:
    """Time spent in libvirt calls, per method, since the last take()."""

    def __init__(self):
        self.calls = {}     # 'virConnect.defineXMLFlags' -> [count, ns]

    def call(self, name, func, args, kwargs):
        t0 = time.perf_counter_ns()
        try:
            return func(*args, **kwargs)
        finally:
            dt = time.perf_counter_ns() - t0
            entry = self.calls.setdefault(name, [0, 0])
            entry[0] += 1
            entry[1] += dt

    def take(self):
        calls, self.calls = self.calls, {}
        return calls


def libvirt_ns(calls, names=None):
    return sum(ns for name, (_, ns) in calls.items()
               if names is None or name in names)


class Timed:
    """Proxy of a libvirt object that times each of its method calls.

    Domains returned by a call are wrapped as well, so ``dom.create()`` and
    ``dom.XMLDesc()`` are timed like the connection's own methods.
    """

    __slots__ = ('_target', '_timer', '_kind')

    def __init__(self, target, timer):
        self._target = target
        self._timer = timer
        self._kind = type(target).__name__

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr
        label = '%s.%s' % (self._kind, name)
        timer = self._timer

        def timed(*args, **kwargs):
            return _wrap(timer.call(label, attr, args, kwargs), timer)
        return timed


def _wrap(result, timer):
    if isinstance(result, libvirt.virDomain):
        return Timed(result, timer)
    if isinstance(result, list):
        return [_wrap(item, timer) for item in result]
    return result


class TimedHost(libvirt_host.Host):
    """A Host whose connection is a Timed proxy (opening it is not timed).
    """

    def __init__(self, uri, timer):
        super().__init__(uri)
        self.timer = timer

    def _open(self):
        return Timed(super()._open(), self.timer)


def proxy_overhead_ns(repeat=20000):
    """What the proxy adds to one call, measured on a no-op method."""
    class Target:
        def noop(self):
            return None

    direct, proxied = Target(), Timed(Target(), LibvirtTimer())
    best = None
    for _ in range(3):
        t0 = time.perf_counter_ns()
        for _ in range(repeat):
            direct.noop()
        t1 = time.perf_counter_ns()
        for _ in range(repeat):
            proxied.noop()
        t2 = time.perf_counter_ns()
        diff = ((t2 - t1) - (t1 - t0)) / repeat
        best = diff if best is None else min(best, diff)
    return best


# -- guests -------------------------------------------------------------------

class Bench:
    def __init__(self, args, virt_type, kernel, initrd, cmdline):
        self.args = args
        self.timer = LibvirtTimer()
        self.driver = libvirt_driver.LibvirtDriver(
            host=TimedHost(URI, self.timer))
        self.image = objects.ImageMeta(
            name='nova-guest', kernel_path=kernel, ramdisk_path=initrd,
            properties={'os_command_line': cmdline})
        self.virt_type = virt_type
        self.guests = []
        self.errors = []

    def new_instance(self):
        inst = objects.Instance(flavor=objects.Flavor(memory_mb=128,
                                                      vcpus=1))
        self.guests.append(inst)    # destroyed at the end whatever happens
        return inst

    def destroy(self, inst):
        progress('destroying %s', inst.name)
        self.driver.destroy(None, inst)
        self.guests.remove(inst)

    def destroy_all(self):
        """Destroy every guest still here; errors go to ``self.errors``."""
        for inst in list(self.guests):
            try:
                self.destroy(inst)
            except Exception as e:  # the others must go too
                self.guests.remove(inst)    # reported once, not retried
                self.errors.append('%s: %s' % (inst.name, e))
                progress('could not destroy %s: %s', inst.name, e)

    def wait_for_output(self, inst, regex, timeout=BOOT_TIMEOUT,
                        interval=0.5):
        deadline = time.monotonic() + timeout
        output = b''
        while time.monotonic() < deadline:
            output = self.driver.get_console_output(None, inst)
            if regex.search(output):
                return output
            time.sleep(interval)
        raise BenchFailed('%r not in the console output of %s within %d s; '
                          'its end: %r' % (regex.pattern, inst.name, timeout,
                                           output[-400:]))


class FirstBytePoller(threading.Thread):
    """Poll a file's size; note when it first holds a byte."""

    def __init__(self, path, interval):
        super().__init__(daemon=True)
        self.path = path
        self.interval = interval
        self.first_at = None
        self.polls = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            self.polls += 1
            try:
                size = os.stat(self.path).st_size
            except FileNotFoundError:
                size = 0
            if size > 0:
                self.first_at = time.perf_counter()
                return
            self._halt.wait(self.interval)

    def halt(self):
        self._halt.set()
        self.join(5)


def timed_call(timer, func):
    """(total ns, libvirt calls) of one call of func."""
    timer.take()
    t0 = time.perf_counter_ns()
    func()
    total = time.perf_counter_ns() - t0
    return total, timer.take()


# -- 1 and 2: boots ---------------------------------------------------------

def boot_once(bench, number):
    inst = bench.new_instance()
    driver, timer = bench.driver, bench.timer
    poller = FirstBytePoller(driver.console_log_path(inst), POLL)
    poller.start()
    try:
        progress('boot %d: spawning %s', number, inst.name)
        timer.take()
        t0 = time.perf_counter()
        driver.spawn(None, inst, bench.image)
        spawn_s = time.perf_counter() - t0
        calls = timer.take()
        deadline = t0 + BOOT_TIMEOUT
        while True:
            output = driver.get_console_output(None, inst)
            if BANNER.search(output):
                banner_s = time.perf_counter() - t0
                break
            if time.perf_counter() > deadline:
                raise BenchFailed('no banner in the console output of %s '
                                  'within %d s; its end: %r'
                                  % (inst.name, BOOT_TIMEOUT,
                                     output[-400:]))
            time.sleep(POLL)
        poller.join(2)      # it sees the byte within one more interval
    finally:
        poller.halt()
    if poller.first_at is None:
        raise BenchFailed('console.log of %s stayed empty although the '
                          'banner was read from it' % inst.name)
    first_s = poller.first_at - t0
    progress('boot %d: spawn %.0f ms, first byte %.2f s, banner %.2f s',
             number, spawn_s * 1e3, first_s, banner_s)
    return inst, dict(spawn_ns=spawn_s * 1e9, first=first_s,
                      banner=banner_s, calls=calls,
                      log_bytes=len(output))


def stats_line(label, values, fmt, unit):
    return '%-34s median %s  min %s  max %s %s' % (
        label, fmt % statistics.median(values), fmt % min(values),
        fmt % max(values), unit)


def report_boots(boots):
    n = len(boots)
    out('== 1. spawn -> first console byte / banner, %d guest(s) booted '
        'one after another ==' % n)
    out('virt type %s; console.log size polled every %d ms, '
        'get_console_output polled every %d ms (resolution: the interval '
        'plus one call)' % (CONF.libvirt.virt_type, POLL * 1e3, POLL * 1e3))
    out('%-5s %12s %22s %26s' % ('boot', 'spawn s', 'first byte in log s',
                                 'banner in console output s'))
    for i, b in enumerate(boots, 1):
        out('%-5d %12.3f %22.3f %26.3f' % (i, b['spawn_ns'] / 1e9,
                                           b['first'], b['banner']))
    out(stats_line('(a) first byte in console.log',
                   [b['first'] for b in boots], '%.3f', 's'))
    out(stats_line('(b) banner in get_console_output',
                   [b['banner'] for b in boots], '%.3f', 's'))
    out(stats_line('    banner - first byte',
                   [b['banner'] - b['first'] for b in boots], '%.3f', 's'))
    out()


def report_spawn(boots, overhead_ns):
    out('== 2. time in our code vs in libvirt (our code = total - time '
        'inside libvirt calls) ==')
    out('spawn, per boot:')
    out('%-5s %10s %12s %12s %12s' % ('boot', 'total ms', 'libvirt ms',
                                      'our code ms', 'ours/total'))
    ours, totals, ratios, n_calls = [], [], [], []
    for i, b in enumerate(boots, 1):
        total = b['spawn_ns']
        lv = libvirt_ns(b['calls'])
        totals.append(total / 1e6)
        ours.append((total - lv) / 1e6)
        ratios.append((total - lv) / total)
        n_calls.append(sum(c for c, _ in b['calls'].values()))
        out('%-5d %10.2f %12.2f %12.3f %11.2f%%' % (
            i, total / 1e6, lv / 1e6, (total - lv) / 1e6,
            100 * (total - lv) / total))
    out(stats_line('spawn total', totals, '%.2f', 'ms'))
    out(stats_line('spawn our code', ours, '%.3f', 'ms'))
    out(stats_line('spawn our code / total', [100 * r for r in ratios],
                   '%.2f', '%'))
    out('libvirt calls in one spawn (median over boots):')
    names = sorted({name for b in boots for name in b['calls']})
    for name in names:
        counts = [b['calls'].get(name, (0, 0))[0] for b in boots]
        times = [b['calls'].get(name, (0, 0))[1] / 1e6 for b in boots]
        out('  %-28s %3s calls  %10.3f ms' % (
            name, '%g' % statistics.median(counts),
            statistics.median(times)))
    out('timing proxy adds ~%.2f us per libvirt call (no-op method); %g '
        'calls per spawn, so at most ~%.3f ms of "our code" is the proxy'
        % (overhead_ns / 1e3, statistics.median(n_calls),
           statistics.median(n_calls) * overhead_ns / 1e6))


def measure_console_calls(bench, inst, repeat):
    """Per-call figures for get_console_output and get_serial_console."""
    driver, timer = bench.driver, bench.timer
    funcs = (
        ('get_console_output',
         lambda: driver.get_console_output(None, inst)),
        ('get_serial_console',
         lambda: driver.get_serial_console(None, inst)),
    )
    for _, func in funcs:      # warm up
        for _ in range(5):
            func()
    rows = {name: [] for name, _ in funcs}
    for _ in range(repeat):
        for name, func in funcs:
            rows[name].append(timed_call(timer, func))
    return rows


def report_console_calls(rows, log_bytes, repeat):
    out('console calls on a running guest (%d calls each, interleaved; '
        'console output %d bytes; medians per call):' % (repeat, log_bytes))
    out('  %-20s %9s %11s %11s %12s %12s %11s' % (
        'call', 'total us', 'libvirt us', 'XMLDesc us', 'other lv us',
        'our code us', 'ours/total'))
    for name, samples in rows.items():
        total = [t for t, _ in samples]
        lv = [libvirt_ns(c) for _, c in samples]
        xml = [libvirt_ns(c, ('virDomain.XMLDesc',)) for _, c in samples]
        ours = [t - v for t, v in zip(total, lv)]
        ratio = [o / t for o, t in zip(ours, total)]
        out('  %-20s %9.1f %11.1f %11.1f %12.1f %12.1f %10.1f%%' % (
            name, statistics.median(total) / 1e3,
            statistics.median(lv) / 1e3, statistics.median(xml) / 1e3,
            statistics.median([v - x for v, x in zip(lv, xml)]) / 1e3,
            statistics.median(ours) / 1e3, 100 * statistics.median(ratio)))
    calls = rows['get_console_output'][0][1]
    out('  libvirt calls per get_console_output: %s' % ', '.join(
        '%s x%d' % (name.split('.', 1)[1], count)
        for name, (count, _) in sorted(calls.items())))
    out()


# -- 3: rotated log ---------------------------------------------------------

def drain_until(client, needle, timeout):
    """Read the serial console until ``needle``; return the bytes read.

    ``client.received`` is cut down as we go (the client appends to it and
    searches all of it on every chunk, which gets slow over megabytes). On
    return it holds what came after ``needle``.
    """
    deadline = time.monotonic() + timeout
    keep = len(needle) - 1
    consumed = 0
    while True:
        idx = client.received.find(needle)
        if idx >= 0:
            end = idx + len(needle)
            client.received = client.received[end:]
            return consumed + end
        cut = max(len(client.received) - keep, 0)
        consumed += cut
        client.received = client.received[cut:]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BenchFailed('%r not on the serial console within %d s; '
                              'last output: %r' % (needle, timeout,
                                                   client.received[-400:]))
        try:
            client.read_until(ANY_BYTE, timeout=min(remaining, 5))
        except benchlib.SerialTimeout:
            pass            # nothing for a while; the deadline decides


def log_files(path):
    names = [path]
    i = 0
    while os.path.exists('%s.%d' % (path, i)):
        names.append('%s.%d' % (path, i))
        i += 1
    return [(name, os.path.getsize(name)) for name in names]


def measure_rotated(bench, inst, path, baseline_fd, n, repeat):
    driver, timer = bench.driver, bench.timer
    funcs = (
        ('get_console_output',
         lambda: driver.get_console_output(None, inst)),
        ('read_log_tail', lambda: console_log.read_log_tail(path)),
        ('os.pread', lambda: os.pread(baseline_fd, n, 0)),
    )
    for _, func in funcs:
        for _ in range(5):
            func()
    rows = {name: [] for name, _ in funcs}
    for _ in range(repeat):     # interleaved: all see the same machine
        for name, func in funcs:
            rows[name].append(timed_call(timer, func))
    return rows


def rotated_log(bench, lines, repeat):
    driver = bench.driver
    max_size, backups = VIRTLOGD_SMALL
    out('== 3. get_console_output on a log rotated by the real virtlogd ==')
    progress('virtlogd: max_size %d, max_backups %d', max_size, backups)
    set_virtlogd(max_size, backups)
    inst = bench.new_instance()
    progress('spawning %s', inst.name)
    driver.spawn(None, inst, bench.image)
    bench.wait_for_output(inst, BANNER)
    console = driver.get_serial_console(None, inst)
    progress('serial console %s:%d: waiting for the prompt',
             console.host, console.port)
    with benchlib.SerialClient(console.host, console.port) as client:
        client.send_line('')
        drain_until(client, PROMPT, BOOT_TIMEOUT)
        client.received = b''
        progress('running chatty %d in the guest', lines)
        t0 = time.monotonic()
        client.send_line('chatty %d' % lines)
        got = drain_until(client, b'SEQ %06d' % lines, CHATTY_TIMEOUT)
        got += drain_until(client, PROMPT, 60)
        chatty_s = time.monotonic() - t0
    progress('chatty done in %.1f s; waiting for the log to catch up',
             chatty_s)
    path = driver.console_log_path(inst)
    deadline = time.monotonic() + 60
    while True:
        output = driver.get_console_output(None, inst)
        last = output.rfind(b'SEQ %06d' % lines)
        if last >= 0 and output.rfind(PROMPT) > last:
            break
        if time.monotonic() > deadline:
            raise BenchFailed('no prompt after chatty\'s last line in '
                              'the console output; its end: %r'
                              % output[-300:])
        time.sleep(0.2)
    files = log_files(path)
    out('virtlogd max_size %d, max_backups %d; guest ran chatty %d: %d '
        'bytes on the serial console in %.1f s (%.0f KiB/s)'
        % (max_size, backups, lines, got, chatty_s, got / 1024 / chatty_s))
    out('log files: %s' % ', '.join('%s %d B' % (os.path.basename(name),
                                                 size)
                                    for name, size in files))
    missing = ['%s.%d' % (os.path.basename(path), i)
               for i in range(backups) if len(files) <= i + 1]
    if missing:
        raise BenchFailed('the log did not rotate enough: missing %s'
                          % ', '.join(missing))
    numbers = [int(m) for m in SEQ.findall(output)]
    contiguous = (bool(numbers) and numbers[-1] == lines and
                  numbers == list(range(numbers[0], lines + 1)))
    if not contiguous:
        raise BenchFailed('console output is not SEQ lines %d..%d in order'
                          % (numbers[0] if numbers else -1, lines))
    held, spanned = 0, 0
    for _, size in files:
        spanned += 1
        held += size
        if held >= len(output):
            break
    out('get_console_output: %d bytes, SEQ %06d..%06d contiguous, from '
        'the newest %d file(s)' % (len(output), numbers[0], numbers[-1],
                                   spanned))

    n = len(output)
    baseline = os.path.join(CONF.instances_path, 'pread-baseline')
    with open(baseline, 'wb') as f:
        f.write(output)
    fd = os.open(baseline, os.O_RDONLY)
    try:
        rows = measure_rotated(bench, inst, path, fd, n, repeat)
    finally:
        os.close(fd)
        os.unlink(baseline)
    base = statistics.median(t for t, _ in rows['os.pread'])
    out('median of %d calls each (interleaved), ratio to one os.pread() of '
        '%d bytes from an open file:' % (repeat, n))
    out('  %-20s %10s %10s %12s %12s %8s' % (
        'call', 'median us', 'min us', 'libvirt us', 'our code us',
        'ratio'))
    for name, samples in rows.items():
        total = [t for t, _ in samples]
        ours = [t - libvirt_ns(c) for t, c in samples]
        med = statistics.median(total)
        out('  %-20s %10.1f %10.1f %12.1f %12.1f %7.1fx' % (
            name, med / 1e3, min(total) / 1e3,
            statistics.median(libvirt_ns(c) for _, c in samples) / 1e3,
            statistics.median(ours) / 1e3, med / base))
    bench.destroy(inst)


# -- main -------------------------------------------------------------------

def prepare_host():
    if os.geteuid() != 0:
        raise BenchFailed('run as root: it drives the real libvirtd, '
                          'virtlogd and QEMU')
    pids = functional_tests_running()
    if pids:
        raise BenchFailed('the functional tests are running (pid %s): they '
                          'share libvirtd and virtlogd, whose settings this '
                          'changes. Run it when they are done.'
                          % ', '.join(pids))
    progress('setting the host up (tools/setup-host.sh)')
    virt_type = run_tool(SETUP_HOST, '--print-virt-type').strip()
    progress('building the guest image (tools/build-guest-image.sh)')
    kernel, initrd = run_tool(BUILD_IMAGE).split()
    with open(os.path.join(os.path.dirname(kernel), 'cmdline')) as f:
        cmdline = f.read().strip()
    return virt_type, kernel, initrd, cmdline


def configure(virt_type, instances):
    CONF([], project='nova', default_config_files=[])
    for name, value, group in (
            ('virt_type', virt_type, 'libvirt'),
            ('connection_uri', URI, 'libvirt'),
            ('enabled', True, 'serial_console'),
            ('port_range', PORT_RANGE, 'serial_console'),
            ('proxyclient_address', '127.0.0.1', 'serial_console'),
            ('instances_path', instances, None)):
        CONF.set_override(name, value, group=group)


def run(args, bench):
    driver = bench.driver
    driver.init_host()
    host = driver.host
    out('libvirt %s, QEMU %s, virt type %s, %d CPU(s), kernel %s; serial '
        'ports %s, instances in %s' % (
            '.'.join(map(str, host.get_lib_version())),
            '.'.join(map(str, host.get_hv_version())),
            CONF.libvirt.virt_type, os.cpu_count(), os.uname().release,
            PORT_RANGE, CONF.instances_path))
    if not driver.uses_virtlogd():
        raise BenchFailed('this host fails the virtlogd gate (libvirt >= '
                          '1.3.3 and QEMU >= 2.6.0 needed)')
    out()
    boots = []
    console_rows = None
    for number in range(1, args.boots + 1):
        inst, result = boot_once(bench, number)
        boots.append(result)
        if number == args.boots:
            progress('timing console calls on %s', inst.name)
            console_rows = measure_console_calls(bench, inst, args.repeat)
        bench.destroy(inst)
    report_boots(boots)
    report_spawn(boots, proxy_overhead_ns())
    report_console_calls(console_rows, boots[-1]['log_bytes'], args.repeat)
    done = False
    try:
        rotated_log(bench, args.lines, args.repeat)
        done = True
    finally:
        bench.destroy_all()
        progress('virtlogd: back to max_size %d, max_backups %d',
                 *VIRTLOGD_DEFAULTS)
        try:
            set_virtlogd(*VIRTLOGD_DEFAULTS)
        except BenchFailed as e:
            if done:
                raise
            # Do not hide the error that brought us here.
            progress('could not restore the virtlogd defaults: %s', e)
        else:
            out('virtlogd restored to max_size %d, max_backups %d'
                % VIRTLOGD_DEFAULTS)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--boots', type=int, default=None,
                        help='guests to boot one after another for 1 and 2 '
                             '(default 3, --quick 1)')
    parser.add_argument('--quick', action='store_true',
                        help='1 boot, 50 calls per figure, chatty 5000')
    args = parser.parse_args(argv)
    if args.boots is None:
        args.boots = 1 if args.quick else 3
    if args.boots < 1:
        parser.error('--boots must be at least 1')
    args.repeat = 50 if args.quick else 200
    args.lines = 5000 if args.quick else 20000

    out('$ ' + reproduce_command())
    instances = None
    bench = None
    failure = None
    try:
        virt_type, kernel, initrd, cmdline = prepare_host()
        instances = tempfile.mkdtemp(prefix='nova-bench-instances-')
        configure(virt_type, instances)
        bench = Bench(args, virt_type, kernel, initrd, cmdline)
        run(args, bench)
    except (BenchFailed, exception.NovaException, OSError, cfg.Error,
            libvirt.libvirtError, benchlib.SerialTimeout) as e:
        failure = e
    except KeyboardInterrupt:
        failure = 'interrupted'
    finally:
        if bench is not None:
            bench.destroy_all()
            if bench.errors and failure is None:
                failure = 'could not destroy: %s' % '; '.join(bench.errors)
            bench.driver.host.close()
        if instances is not None:
            shutil.rmtree(instances, ignore_errors=True)
    if failure is not None:
        print('bench: FAILED: %s' % failure, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
