#!/usr/bin/env python3
"""Benchmark one compute host with many guests (not a test).

Run as root, alone among benchmarks: it boots up to 50 TCG guests and
keeps both cores of a small machine busy for minutes. It starts a
libvirtd + virtlogd of its own (tools/bench/private-libvirtd.sh: the same
binaries, with the cpu cgroup controller, so memory per guest is theirs
alone and a flavor's quota:cpu_* holds) and nova-all on them, and boots
every guest through the compute API. It prints, each figure next to its
baseline from the same run:

1. Heartbeat: ``get_host_report`` as today's main did it
   (``getAllDomainStats(VCPU)``) and as the driver does it now
   (``listAllDomains`` + ``vcpusFlags``), median of interleaved calls with
   0 and N running guests; the cost per guest is (t(N) - t(0)) / N, and
   their ratio.
2. Scale (after 3), for each N of ``--guests`` (booted in waves on top of the
   previous ones): time to ACTIVE and to the banner in the console output
   (one guest alone, then each wave's median and maximum); every guest's
   console output holds its own banner and its own typed marker and no
   other guest's; virtlogd's and libvirtd's RSS per guest, QEMU's RSS and
   idle CPU per guest; os-getConsoleOutput latency of the first guest,
   p50/p95, at that load against the same calls with it alone (idle).
   Scaling stops at the first wave that fails, with the reason.
3. Noisy guest (``--flood``): another guest's console output p50/p95
   while one guest floods its serial console (busybox ``yes``), against
   the same calls while the flooder is paused (``virsh suspend``), in
   alternating slices so that both see the same background load; nobody
   watching the flood, then a client reading it through nova-serialproxy;
   with a flavor without limits, then with ``quota:cpu_period`` /
   ``quota:cpu_quota`` (``--flood-quota``). With the flood's rate (bytes
   virtlogd wrote per second) and the CPU of virtlogd, the flooding QEMU
   and nova-all.

Everything it starts is removed at the end, also on failure. Figures go
to stdout, progress to stderr. Exit 0 on success, 1 with a message.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib  # noqa: E402,I100 (first: the repository on sys.path)

import libvirt  # noqa: E402

import nova.conf  # noqa: E402
from nova.virt.libvirt import driver as libvirt_driver  # noqa: E402
from nova.virt.libvirt import host as libvirt_host  # noqa: E402
from benchlib import api_call  # noqa: E402
from benchlib import BenchFailed  # noqa: E402
from benchlib import cpu_seconds  # noqa: E402
from benchlib import LiveConsole  # noqa: E402
from benchlib import out  # noqa: E402
from benchlib import progress  # noqa: E402

PRIVATE = os.path.join(benchlib.REPO, 'tools', 'bench', 'private-libvirtd.sh')
BANNER = re.compile(r'NOVA-GUEST-BANNER ([0-9a-f-]{36})')
BOOT_ID = rb'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
FLOOD_FLAVOR = 'flood-bounded'
TINY_MB = 128
# API calls that failed (timed out) while guests booted.
API_ERRORS = []
WAIT = 120


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * len(ordered))))]


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def wchar(pid):
    with open('/proc/%d/io' % pid) as f:
        for line in f:
            if line.startswith('wchar:'):
                return int(line.split()[1])
    return 0


def mem_available_mib():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) // 1024
    return 0


def qemu_pids(server_ids):
    """{server id: pid} of the QEMU processes of these servers."""
    found = {}
    for pid in benchlib.pids_of('qemu-system-x86'):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                match = re.search(rb'uuid\x00([0-9a-f-]{36})', f.read())
        except OSError:
            continue
        if match and match.group(1).decode() in server_ids:
            found[match.group(1).decode()] = pid
    return found


# -- the private daemons and nova-all on them ---------------------------------

class PrivateHost:
    def __init__(self):
        self.parent = tempfile.mkdtemp(prefix='nova-bench-host-')
        self.dir = os.path.join(self.parent, 'host')
        self.uri = None

    def up(self):
        self.uri = benchlib.run_tool(PRIVATE, 'up', self.dir).strip()
        return self

    def pid(self, name):
        with open(os.path.join(self.dir, 'run', '%s.pid' % name)) as f:
            return int(f.read().split()[0])

    def down(self):
        subprocess.run([PRIVATE, 'down', self.dir], capture_output=True)
        if os.path.isdir(self.parent):
            os.rmdir(self.parent)


class ScaleNova(benchlib.NovaAll):
    """nova-all with its libvirt at ``uri``."""

    def __init__(self, image, virt_type, uri, serial_ports):
        super().__init__(*image, virt_type, serial_ports=serial_ports)
        self.uri = uri
        with open(self.conf_file) as f:
            text = f.read()
        text = text.replace('connection_uri = %s\n' % benchlib.URI,
                            'connection_uri = %s\n' % uri)
        # Up to --guests servers of one project: above the [quota]
        # defaults (10 instances, 20 cores), which would refuse the 11th.
        text += ('\n[quota]\ninstances = -1\ncores = -1\nram = -1\n')
        with open(self.conf_file, 'w') as f:
            f.write(text)

    def manage(self, *args):
        proc = subprocess.run(self._command('manage', *args),
                              env=self._env(), capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise BenchFailed('nova-manage %s failed:\n%s'
                              % (' '.join(args), proc.stderr[-2000:]))

    def delete(self, server_ids, timeout=300):
        for server_id in server_ids:
            self.request('DELETE', '/servers/%s' % server_id)
        deadline = time.monotonic() + timeout
        left = set(server_ids)
        while left and time.monotonic() < deadline:
            left = {s for s in left
                    if self.request('GET', '/servers/%s' % s)[0] != 404}
            time.sleep(0.5)
        if left:
            raise BenchFailed('servers not deleted within %d s: %s'
                              % (timeout, sorted(left)))


# -- heartbeat ----------------------------------------------------------------

def today_vcpus(conn):
    """main's get_host_report before this change: one bulk stats call
    that enters every guest's QEMU monitor (the baseline)."""
    stats = conn.getAllDomainStats(
        libvirt.VIR_DOMAIN_STATS_VCPU,
        libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
    vcpus = []
    for dom, values in stats:
        current = values.get('vcpu.current')
        if current is None:
            try:
                current = dom.info()[3]
            except libvirt.libvirtError:
                continue
        vcpus.append(current)
    return vcpus


class TodayDriver(libvirt_driver.LibvirtDriver):
    """The driver with main's vCPU count: the rest of the report is the
    same code, so the difference is the part that changed."""

    def _vcpus_running(self, conn):
        return today_vcpus(conn)


def cpu_ns(pids):
    """On-CPU nanoseconds so far of every thread of ``pids``
    (/proc/PID/task/TID/schedstat): what the work cost, whatever the
    waits for a core on a loaded machine."""
    total = 0
    for pid in pids:
        try:
            tids = os.listdir('/proc/%d/task' % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open('/proc/%d/task/%s/schedstat' % (pid, tid)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total


def heartbeat(drivers, rounds, pids, passes=3):
    """{name: (median s, 10th percentile s, CPU s a report)} of
    get_host_report; CPU is that of this process, libvirtd and the
    guests' QEMUs (``pids``).

    Each driver is timed in blocks of its own (a bulk stats call leaves
    QEMU and libvirtd busy for a while: interleaved calls would pay for
    each other's). On a shared, loaded machine the median carries the
    wait for a core at every round trip; the 10th percentile is closer
    to the work itself, and the CPU time (less what the same processes
    spend idle in as long) is the work itself."""
    pids = [os.getpid()] + list(pids)
    times = {name: [] for name in drivers}
    cpu = dict.fromkeys(drivers, 0)
    for _ in range(passes):
        # What the idle guests and libvirtd spend anyway, per second.
        c0, t0 = cpu_ns(pids), time.monotonic()
        time.sleep(1)
        idle = (cpu_ns(pids) - c0) / (time.monotonic() - t0)
        for name, driver in drivers.items():
            driver.get_host_report()   # warm: connection, caches
            time.sleep(0.2)
            c0, start = cpu_ns(pids), time.monotonic()
            for _ in range(rounds):
                t0 = time.perf_counter()
                driver.get_host_report()
                times[name].append(time.perf_counter() - t0)
            time.sleep(0.2)   # what the calls left running finishes
            cpu[name] += (cpu_ns(pids) - c0 -
                          idle * (time.monotonic() - start))
    return {name: (statistics.median(t), pct(t, 10),
                   cpu[name] / 1e9 / len(t))
            for name, t in times.items()}


def heartbeat_text(hb, hb0, guests):
    """The figures of ``hb`` (``guests`` running) against ``hb0`` (none):
    cost per guest (x(N) - x(0)) / N and the ratio, by wall time (median,
    p10) and by CPU time."""
    parts = []
    for i, what in enumerate(('median', 'p10', 'CPU')):
        per = {k: (hb[k][i] - hb0[k][i]) / guests for k in hb}
        parts.append('%s: today %s, now %s; per guest today %.0f us, now '
                     '%.0f us: %s' % (
                         what, ms(hb['today'][i]), ms(hb['now'][i]),
                         per['today'] * 1e6, per['now'] * 1e6,
                         '%.1fx lower' % (per['today'] / per['now'])
                         if per['now'] > 0 else 'now flat'))
    return '; '.join(parts)


def make_drivers(services):
    """Both drivers on nova-all's config, each with a connection of its
    own to the private libvirtd."""
    conf = nova.conf.CONF
    conf([], project='nova', default_config_files=[services.conf_file])
    return {name: cls(host=libvirt_host.Host(services.uri), conf=conf)
            for name, cls in (('today', TodayDriver),
                              ('now', libvirt_driver.LibvirtDriver))}


# -- guests -------------------------------------------------------------------

class Guest:
    def __init__(self, server_id, n, posted):
        self.id = server_id
        self.n = n
        self.posted = posted
        self.active_s = None
        self.banner_s = None
        self.boot_id = None
        self.marker = None


def post_servers(nova, first, count, flavor='1'):
    guests = []
    for n in range(first, first + count):
        reply = api_call(nova, 'POST', '/servers', {'server': {
            'name': 'scale-%d' % n, 'imageRef': benchlib.IMAGE_ID,
            'flavorRef': flavor}}, expect=(202,))
        guests.append(Guest(reply['server']['id'], n, time.monotonic()))
    return guests


def wait_booted(nova, guests, timeout):
    """Fill in active_s and banner_s; the reason why not, or None."""
    deadline = time.monotonic() + timeout
    waiting = list(guests)
    while waiting:
        if time.monotonic() > deadline:
            return ('%d of %d guests not booted within %d s (%s)' % (
                len(waiting), len(guests), timeout, ', '.join(
                    '%s: %s' % (g.id[:8], 'no banner' if g.active_s
                                else 'not ACTIVE') for g in waiting[:5])))
        body = api_call(nova, 'GET', '/servers/detail')['servers']
        state = {s['id']: s for s in body}
        for guest in list(waiting):
            server = state.get(guest.id)
            if server is None:
                continue
            if server['status'] == 'ERROR':
                return 'server %s went to ERROR: %s' % (
                    guest.id, server.get('fault'))
            now = time.monotonic()
            if (guest.active_s is None and server['status'] == 'ACTIVE' and
                    not server.get('OS-EXT-STS:task_state')):
                guest.active_s = now - guest.posted
            if guest.active_s is not None:
                try:
                    text = benchlib.console_output(nova, guest.id)
                except OSError as e:   # urllib's timeout is one
                    progress('console output of %s: %s', guest.id[:8], e)
                    API_ERRORS.append(e)
                    continue
                match = BANNER.search(text)
                if match:
                    guest.banner_s = time.monotonic() - guest.posted
                    guest.boot_id = match.group(1)
                    waiting.remove(guest)
        time.sleep(1)
    return None


def serial_url(nova, server_id):
    reply = api_call(nova, 'POST', '/servers/%s/remote-consoles' % server_id,
                     {'remote_console': {'protocol': 'serial',
                                         'type': 'serial'}},
                     version='2.6')
    return reply['remote_console']['url']


def type_marker(nova, guest):
    """Type a marker the guest's shell completes (so its output, not only
    the echo, reaches the log); note the boot id it prints."""
    console = LiveConsole(serial_url(nova, guest.id), name=guest.id[:8])
    try:
        console.wait_prompt(WAIT)
        start = len(console.snapshot())
        # Short lines: busybox redraws what passes 80 columns.
        console.send(b'cd /proc/sys/kernel/random\r')
        console.send(b'echo MK$((%d+1))-%s $(cat boot_id)\r'
                     % (guest.n, guest.id[:8].encode()))
        match = console.read_until(rb'MK%d-%s (%s)\r?\n' % (
            guest.n + 1, guest.id[:8].encode(), BOOT_ID), WAIT, start)
        guest.marker = 'MK%d-%s' % (guest.n + 1, guest.id[:8])
        if match.group(1).decode() != guest.boot_id:
            raise BenchFailed('guest %s: its shell says boot id %s, its '
                              'console output\'s banner %s' % (
                                  guest.id, match.group(1), guest.boot_id))
    finally:
        console.close()


def check_consoles(nova, guests):
    """Each console output: its own banner and marker, nobody else's.
    Returns the number of outputs checked."""
    for guest in guests:
        deadline = time.monotonic() + WAIT
        while guest.marker not in (
                text := benchlib.console_output(nova, guest.id)):
            if time.monotonic() > deadline:
                raise BenchFailed('marker %s not in the console output of '
                                  '%s' % (guest.marker, guest.id))
            time.sleep(0.5)
        if BANNER.findall(text) != [guest.boot_id]:
            raise BenchFailed('console output of %s: banners %s, expected '
                              'only its own %s' % (
                                  guest.id, BANNER.findall(text),
                                  guest.boot_id))
        for other in guests:
            if other is not guest and (other.marker in text or
                                       other.boot_id in text):
                raise BenchFailed('console output of %s holds guest %s\'s '
                                  'marker or banner' % (guest.id, other.id))
    return len(guests)


def output_latency(nova, server_id, samples):
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        benchlib.console_output(nova, server_id)
        times.append(time.perf_counter() - t0)
    return times


def cpu_share(pids, seconds):
    """Fraction of one core each of ``pids`` used over ``seconds``."""
    before = {p: cpu_seconds(p) for p in pids}
    time.sleep(seconds)
    return {p: (cpu_seconds(p) - before[p]) / seconds for p in pids}


def load():
    """The machine's 1-minute load average (it is shared: read every
    figure beside it)."""
    return 'load %.1f' % os.getloadavg()[0]


def ms(seconds):
    return '%.1f ms' % (seconds * 1000)


# -- the phases ---------------------------------------------------------------

def scale(nova, host, args, drivers):
    virtlogd, libvirtd = host.pid('virtlogd'), host.pid('libvirtd')
    rss0 = {'virtlogd': rss_kib(virtlogd), 'libvirtd': rss_kib(libvirtd)}
    hb0 = heartbeat(drivers, args.heartbeat_rounds, [libvirtd])
    out('heartbeat, 0 guests: median today %s, now %s; p10 today %s, now '
        '%s; CPU a report today %s, now %s (%s)' % (
            ms(hb0['today'][0]), ms(hb0['now'][0]), ms(hb0['today'][1]),
            ms(hb0['now'][1]), ms(hb0['today'][2]), ms(hb0['now'][2]),
            load()))

    guests = []
    try:
        scale_up(nova, host, args, drivers, guests, hb0, rss0)
    finally:
        progress('deleting the %d guests', len(guests))
        nova.delete([g.id for g in guests], timeout=600)


def scale_up(nova, host, args, drivers, guests, hb0, rss0):
    virtlogd, libvirtd = host.pid('virtlogd'), host.pid('libvirtd')
    progress('first guest, alone')
    guests += post_servers(nova, 0, 1)
    why = wait_booted(nova, guests, WAIT * 2)
    if why:
        raise BenchFailed(why)
    type_marker(nova, guests[0])
    first = guests[0]
    idle = output_latency(nova, first.id, args.samples)
    out('guest alone: ACTIVE after %.1f s, banner after %.1f s; console '
        'output p50 %s, p95 %s (idle; %s)' % (
            first.active_s, first.banner_s, ms(pct(idle, 50)),
            ms(pct(idle, 95)), load()))
    for target in args.guests:
        wave = target - len(guests)
        need = wave * TINY_MB * 3 // 2
        if mem_available_mib() < need:
            out('%d guests: not tried: %d MiB available, a wave of %d '
                'needs about %d' % (target, mem_available_mib(), wave, need))
            return
        progress('booting %d more guests (to %d)', wave, target)
        batch, why = [], None
        while len(batch) < wave and not why:
            part = post_servers(nova, len(guests),
                                min(args.wave_size, wave - len(batch)))
            guests += part
            batch += part
            why = wait_booted(nova, part, args.boot_timeout)
        if why:
            out('%d guests: STOPPED: %s' % (target, why))
            return
        progress('typing a marker on %d consoles', wave)
        for guest in batch:
            type_marker(nova, guest)
        checked = check_consoles(nova, guests)
        active = [g.active_s for g in batch]
        banner = [g.banner_s for g in batch]
        out('%d guests: %d more booted %d at a time: ACTIVE median %.1f s '
            'max %.1f s; banner median %.1f s max %.1f s; %d API calls '
            'failed meanwhile' % (
                target, wave, args.wave_size, statistics.median(active),
                max(active), statistics.median(banner), max(banner),
                len(API_ERRORS)))
        out('%d guests: %d console outputs each hold their own banner and '
            'marker and no other guest\'s' % (target, checked))
        time.sleep(5)  # the last boots' tails settle
        qemus = qemu_pids({g.id for g in guests})
        shares = cpu_share([virtlogd, libvirtd] + list(qemus.values()), 10)
        qemu_rss = [rss_kib(p) for p in qemus.values()]
        out('%d guests: per guest: virtlogd RSS +%.0f KiB, libvirtd RSS '
            '+%.0f KiB (%d and %d KiB in all, from %d and %d), QEMU RSS '
            '%.0f MiB, idle QEMU CPU %.1f%% of a core (all guests: %.0f%%)'
            % (target,
               (rss_kib(virtlogd) - rss0['virtlogd']) / target,
               (rss_kib(libvirtd) - rss0['libvirtd']) / target,
               rss_kib(virtlogd), rss_kib(libvirtd), rss0['virtlogd'],
               rss0['libvirtd'], statistics.mean(qemu_rss) / 1024,
               100 * statistics.mean(shares[p] for p in qemus.values()),
               100 * sum(shares[p] for p in qemus.values())))
        hb = heartbeat(drivers, args.heartbeat_rounds,
                       [libvirtd] + list(qemus.values()))
        out('%d guests: heartbeat get_host_report %s (%s)' % (
            target, heartbeat_text(hb, hb0, target), load()))
        loaded = output_latency(nova, first.id, args.samples)
        out('%d guests: console output of the first guest p50 %s, p95 %s: '
            '%.2fx and %.2fx idle (%s)' % (
                target, ms(pct(loaded, 50)), ms(pct(loaded, 95)),
                pct(loaded, 50) / pct(idle, 50),
                pct(loaded, 95) / pct(idle, 95), load()))


def drain(url):
    """Child process: a user watching the flood through nova-serialproxy,
    reading and dropping everything until killed."""
    import websocket
    ws = websocket.create_connection(url, timeout=30,
                                     subprotocols=['binary'])
    while True:
        ws.recv()


def measure(nova, host, victim, flooder, args, label):
    """The other guest's console output latency, in slices alternating
    between the flooder running and the flooder paused (virsh suspend:
    its vCPU stops, so does its output): both buckets see the same
    background load of a shared machine. CPU and rate over the flooding
    slices only."""
    conn = libvirt.open(host.uri)
    dom = conn.lookupByUUIDString(flooder.id)
    virtlogd = host.pid('virtlogd')
    procs = {'virtlogd': virtlogd,
             'its QEMU': qemu_pids({flooder.id})[flooder.id],
             'nova-all': nova.process.pid}
    times = {'flooding': [], 'paused': []}
    cpu = dict.fromkeys(procs, 0.0)
    written = flooding_s = 0.0
    try:
        for _ in range(args.flood_slices):
            for state in ('paused', 'flooding'):
                if state == 'paused':
                    dom.suspend()
                else:
                    dom.resume()
                time.sleep(1)   # settle: buffers drain or fill
                w0, t0 = wchar(virtlogd), time.monotonic()
                c0 = {k: cpu_seconds(p) for k, p in procs.items()}
                while time.monotonic() - t0 < args.flood_slice:
                    times[state].extend(output_latency(nova, victim.id, 5))
                if state == 'flooding':
                    flooding_s += time.monotonic() - t0
                    written += wchar(virtlogd) - w0
                    for k, p in procs.items():
                        cpu[k] += cpu_seconds(p) - c0[k]
    finally:
        if dom.info()[0] == libvirt.VIR_DOMAIN_PAUSED:
            dom.resume()
        conn.close()
    paused, flooding = times['paused'], times['flooding']
    out('flood, %s: %.0f KB/s to the log; CPU (of a core) while it floods: '
        '%s; the other guest\'s console output, flooder paused: p50 %s, '
        'p95 %s; flooding: p50 %s, p95 %s: %.2fx and %.2fx (%d+%d calls)' % (
            label, written / flooding_s / 1000, ', '.join(
                '%s %.0f%%' % (k, 100 * v / flooding_s)
                for k, v in cpu.items()),
            ms(pct(paused, 50)), ms(pct(paused, 95)),
            ms(pct(flooding, 50)), ms(pct(flooding, 95)),
            pct(flooding, 50) / pct(paused, 50),
            pct(flooding, 95) / pct(paused, 95),
            len(paused), len(flooding)) + ' (%s)' % load())


def flood_phase(nova, host, victim, flavor, label, args):
    flooder = post_servers(nova, 900, 1, flavor=flavor)[0]
    why = wait_booted(nova, [flooder], WAIT * 3)
    if why:
        raise BenchFailed(why)
    out('flood, %s: the flooder booted (banner) in %.1f s' % (
        label, flooder.banner_s))
    console = LiveConsole(serial_url(nova, flooder.id), name='flooder')
    console.wait_prompt(WAIT)
    console.send(b'yes NOVA-FLOOD-0123456789abcdefghijklmnopqrstuvwxyz\r')
    console.read_until(rb'NOVA-FLOOD-0123456789abcdefghijklmnopqrstuvwxyz\r?'
                       rb'\nNOVA-FLOOD', WAIT)
    console.close()   # the log keeps getting it; QEMU drops the rest
    measure(nova, host, victim, flooder, args, label + ', nobody watching')
    watcher = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), '--drain',
         serial_url(nova, flooder.id)], stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        if watcher.poll() is not None:
            raise BenchFailed('the watching client exited with %d'
                              % watcher.returncode)
        measure(nova, host, victim, flooder, args,
                label + ', watched through nova-serialproxy')
    finally:
        watcher.kill()
        watcher.wait()
    nova.delete([flooder.id])


def flood(nova, host, args):
    nova.manage('flavor', 'create', FLOOD_FLAVOR, '--ram', str(TINY_MB),
                '--vcpus', '1', '--id', FLOOD_FLAVOR,
                '--extra-spec', 'quota:cpu_period=%d' % args.flood_period,
                '--extra-spec', 'quota:cpu_quota=%d' % args.flood_quota)
    victim = post_servers(nova, 800, 1)[0]
    why = wait_booted(nova, [victim], WAIT * 2)
    if why:
        raise BenchFailed(why)
    flood_phase(nova, host, victim, '1', 'flavor m1.tiny (no limit)', args)
    flood_phase(nova, host, victim, FLOOD_FLAVOR,
                'flavor with quota:cpu_period=%d quota:cpu_quota=%d' % (
                    args.flood_period, args.flood_quota), args)
    nova.delete([victim.id])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--guests', default='30,50',
                        help='guest counts, ascending (default 30,50)')
    parser.add_argument('--samples', type=int, default=100,
                        help='console output calls per latency figure')
    parser.add_argument('--heartbeat-rounds', type=int, default=40)
    parser.add_argument('--boot-timeout', type=int, default=1200,
                        help='seconds for one wave to boot')
    parser.add_argument('--wave-size', type=int, default=5,
                        help='guests booted together (default 5)')
    parser.add_argument('--no-scale', action='store_true')
    parser.add_argument('--flood', action='store_true',
                        help='also measure the noisy guest')
    parser.add_argument('--flood-slices', type=int, default=6,
                        help='flooding/paused slice pairs per figure')
    parser.add_argument('--flood-slice', type=float, default=4,
                        help='seconds of one slice')
    parser.add_argument('--flood-period', type=int, default=100000)
    parser.add_argument('--flood-quota', type=int, default=10000)
    parser.add_argument('--drain', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drain:
        return drain(args.drain)
    args.guests = [int(n) for n in args.guests.split(',') if n]
    if args.guests != sorted(args.guests) or min(args.guests, default=2) < 2:
        parser.error('--guests: ascending counts of at least 2')

    out('# ' + benchlib.reproduce_command())
    virt_type, kernel, initrd, cmdline, how = benchlib.prepare_host()
    out('# host: %d cores, %d MiB available, virt type %s (%s)' % (
        os.cpu_count(), mem_available_mib(), virt_type, how))
    host = PrivateHost()
    nova = None
    try:
        host.up()
        progress('private libvirtd at %s', host.uri)
        nova = ScaleNova((kernel, initrd, cmdline), virt_type, host.uri,
                         serial_ports=max(args.guests, default=0) + 10)
        nova.start()
        # The flood first: with few guests, and measured even if a wave
        # of the scale run fails.
        if args.flood:
            flood(nova, host, args)
        if not args.no_scale:
            scale(nova, host, args, make_drivers(nova))
    except BenchFailed as e:
        print('bench_host_scale: %s' % e, file=sys.stderr)
        return 1
    finally:
        progress('cleaning up')
        if nova is not None:
            try:
                nova.cleanup()
            except Exception as e:   # the daemons go anyway
                progress('nova-all cleanup: %s', e)
        host.down()
    return 0


if __name__ == '__main__':
    sys.exit(main())
