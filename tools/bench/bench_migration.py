#!/usr/bin/env python3
"""Benchmark live migration with and without the console log copy (not a test).

Run as root from the repository::

    /tmp/venv/bin/python tools/bench/bench_migration.py

It brings up the two-host rig itself (``tools/two-hosts.sh up``: host A is
this machine's libvirtd/virtlogd, host B a second pair in its own
namespaces, one rsync daemon each), builds the guest image
(``tools/build-guest-image.sh``) and asks ``tools/setup-host.sh
--print-virt-type`` for the domain type, passing it virtlogd's current
``max_size``/``max_backups`` so that ``/etc/libvirt/virtlogd.conf`` keeps
its content (checked afterwards).

One guest is booted on host A through ``LibvirtDriver.spawn`` (serial
console on, virtlogd logging its first tcp port). Before every timed
migration its console log is brought to virtlogd's bound,
``max_size x (max_backups + 1)`` (8 MiB with the defaults):

* the benchmark writes ``console.log.0`` .. ``console.log.<max_backups-1>``
  itself, ``max_size`` bytes each, as virtlogd's rotation leaves them;
* virtlogd holds ``console.log`` open, so the benchmark never writes it:
  the guest prints into it (``chatty N`` over its serial port) until it is
  ``LIVE_MARGIN`` bytes short of ``max_size`` (short, so virtlogd does not
  rotate). Nobody is connected to the tcp port meanwhile, so QEMU feeds
  virtlogd as fast as the emulated UART goes (~170-300 KiB/s under TCG
  here; ~90 KiB/s with a client reading): having the guest print all
  8 MiB before every migration would cost 30-90 s each, for the same
  bytes on disk.

Then ``benchlib.live_migrate_drivers(inst, A, B)`` (the tests') is
timed with ``[libvirt] console_log_transfer = rsync`` and ``= none`` on
host A's configuration, alternating (rsync first in odd rounds, none first
in even ones), N rounds each. Only A -> B is timed: the guest is brought
back B -> A untimed after each one (B copies with rsync), and under
``none`` the log that stayed on A is removed before that, as an operator
would. Within each migration the time inside libvirt's
``virDomain.migrateToURI3`` (the guest moving) and inside
``log_transfer.copy_console_log`` are recorded too: the libvirt part
varies by more than the copy takes, so the rest (migrate - libvirt) shows
the copy's cost where the totals cannot. Also timed:
``log_transfer.copy_console_log`` alone, on a chain of the same size, to
B's rsync daemon.

Figures go to stdout, progress to stderr. Guests are destroyed on both
hosts whatever happens. Serial ports come from 32000:32100.

Another engineer may run the functional tests on the same hosts: the
benchmark waits (polling every 30 s) while ``pgrep -f
nova/tests/functional`` finds a process, and flags figures taken while
they ran.
"""

import argparse
import os
import re
import shlex
import shutil
import statistics
import sys
import time
import uuid as uuid_lib

import benchlib  # noqa: E402,I100 (first: the repository on sys.path)

import libvirt  # noqa: E402
from oslo_config import cfg  # noqa: E402

import nova.conf  # noqa: E402
from nova import exception  # noqa: E402
from nova.objects import instance as objects  # noqa: E402
from nova.virt.libvirt import driver as libvirt_driver  # noqa: E402
from nova.virt.libvirt import host as libvirt_host  # noqa: E402
from nova.virt.libvirt import log_transfer  # noqa: E402
from benchlib import BenchFailed  # noqa: E402
from benchlib import functional_tests_running  # noqa: E402
from benchlib import out  # noqa: E402
from benchlib import progress  # noqa: E402
from benchlib import reproduce_command  # noqa: E402
from benchlib import run_tool  # noqa: E402

REPO, TWO_HOSTS = benchlib.REPO, benchlib.TWO_HOSTS
SETUP_HOST, BUILD_IMAGE = benchlib.SETUP_HOST, benchlib.BUILD_IMAGE
HOSTA_VIRTLOGD_CONF = '/etc/libvirt/virtlogd.conf'
PORT_RANGE = '32000:32100'
VETH_A = 'nvA'      # host A's end of the rig's veth pair

BANNER = re.compile(rb'NOVA-GUEST-BANNER [0-9a-f-]{36}')
PROMPT = b'nova-guest# '
LINE_BYTES = 65     # one chatty line in the log (64 bytes, "\n" -> "\r\n")
LIVE_MARGIN = 8192  # bytes console.log stays below max_size after the fill
FILL_RATE_FLOOR = 20 * 1024     # bytes/s; for the fill's deadline only
BOOT_TIMEOUT = 180
TESTS_POLL = 30     # seconds between pgrep checks for the functional tests
MIB = 1024 * 1024


def wait_for_functional_tests():
    waited = 0
    while True:
        pids = functional_tests_running()
        if not pids:
            return waited
        progress('functional tests running (pid %s); checking again in '
                 '%d s', ', '.join(pids), TESTS_POLL)
        time.sleep(TESTS_POLL)
        waited += TESTS_POLL


def veth_tx_bytes():
    try:
        with open('/sys/class/net/%s/statistics/tx_bytes' % VETH_A) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def stats(values):
    return statistics.median(values), min(values), max(values)


# -- the log chain ------------------------------------------------------------

def chain_paths(log_path):
    """The log's files, oldest first, as the copy reads them."""
    return log_transfer.log_chain(log_path)


def chain_bytes(log_path):
    return b''.join(read_file(path) for path in chain_paths(log_path))


def backup_paths(log_path):
    """The log's rotated files only, oldest first."""
    paths = []
    index = 0
    while os.path.exists('%s.%d' % (log_path, index)):
        paths.append('%s.%d' % (log_path, index))
        index += 1
    return list(reversed(paths))


def read_file(path):
    with open(path, 'rb') as f:
        return f.read()


def chain_size(log_path):
    return sum(os.path.getsize(p) for p in chain_paths(log_path))


def file_tail(path, size):
    with open(path, 'rb') as f:
        end = f.seek(0, os.SEEK_END)
        f.seek(max(0, end - size))
        return f.read()


def write_filler(path, size, tag):
    """``size`` bytes of 65-byte lines naming ``tag``, mode 0600.

    Written to a temporary name and renamed, as a finished backup.
    """
    lines = []
    total = 0
    seq = 0
    while total < size:
        seq += 1
        head = b'FILL %s %07d ' % (tag.encode(), seq)
        line = head + b'x' * (LINE_BYTES - 2 - len(head)) + b'\r\n'
        lines.append(line)
        total += len(line)
    tmp = path + '.bench-tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as f:
        f.write(b''.join(lines)[:size])
    os.rename(tmp, path)


def write_backups(log_path, max_size, max_backups, tag):
    """console.log.0 .. .<max_backups-1>, max_size bytes each."""
    for index in range(max_backups):
        write_filler('%s.%d' % (log_path, index), max_size,
                     '%s.%d' % (tag, index))
    index = max_backups
    while os.path.lexists('%s.%d' % (log_path, index)):
        os.unlink('%s.%d' % (log_path, index))     # beyond virtlogd's bound
        index += 1


def fill_live_log(drv, inst, target):
    """Have the guest print until its console.log holds about ``target``.

    Returns (bytes added, seconds). Only virtlogd writes console.log.
    """
    log_path = drv.console_log_path(inst)
    before = os.path.getsize(log_path)
    lines = (target - before) // LINE_BYTES
    if lines <= 0:
        return 0, 0.0
    console = drv.get_serial_console(None, inst)
    t0 = time.monotonic()
    with benchlib.SerialClient(console.host, console.port) as client:
        client.send_line('')
        client.read_until(re.escape(PROMPT), timeout=BOOT_TIMEOUT)
        client.send_line('chatty %d' % lines)
        client.read_until(re.compile(rb'chatty %d\r?\n' % lines), 30)
    # Disconnected: QEMU drops what nobody reads on the tcp port but still
    # hands every byte to virtlogd, so the log fills at the guest's pace.
    last = b'SEQ %06d ' % lines
    deadline = t0 + 60 + lines * LINE_BYTES / FILL_RATE_FLOOR
    while True:
        tail = file_tail(log_path, 4096)
        at = tail.rfind(last)
        if at >= 0 and tail.find(PROMPT, at) >= 0:
            break
        if time.monotonic() > deadline:
            raise BenchFailed('chatty %d did not finish in the log of %s; '
                              'its end: %r' % (lines, inst.name, tail[-300:]))
        time.sleep(0.25)
    seconds = time.monotonic() - t0
    return os.path.getsize(log_path) - before, seconds


# -- the rig and the drivers --------------------------------------------------

def rig_env():
    env = {}
    for line in run_tool(TWO_HOSTS, 'env').splitlines():
        key, sep, value = line.partition('=')
        if sep:
            env[key] = shlex.split(value)[0] if value else ''
    return env


def make_driver(name, virt_type, uri, addr, instances, connect_uri,
                virtlogd_conf, env):
    """A driver for one rig host ('host-a' or 'host-b'); it logs in to
    the other host's sshd with the rig's keys (``env``: tools/two-hosts.sh
    env)."""
    conf = nova.conf.new_conf()
    conf([], project='nova', default_config_files=[])
    for key, value, group in (
            ('host', name, None),
            ('instances_path', instances, None),
            ('virt_type', virt_type, 'libvirt'),
            ('connection_uri', uri, 'libvirt'),
            ('live_migration_inbound_addr', addr, 'libvirt'),
            ('live_migration_connect_uri', connect_uri, 'libvirt'),
            ('virtlogd_conf', virtlogd_conf, 'libvirt'),
            # The rig's remote file system login (ssh, this host's key).
            ('remote_filesystem_ssh_port', int(env['SSH_PORT']), 'libvirt'),
            ('remote_filesystem_ssh_user', env['SSH_USER'], 'libvirt'),
            ('remote_filesystem_ssh_identity_file',
             env['HOST%s_SSH_IDENTITY' % name[-1].upper()], 'libvirt'),
            ('remote_filesystem_ssh_known_hosts_file', env['SSH_KNOWN_HOSTS'],
             'libvirt'),
            ('remote_filesystem_allowed_paths',
             env['REMOTEFS_ALLOWED_PATHS'], 'libvirt'),
            ('enabled', True, 'serial_console'),
            ('proxyclient_address', addr, 'serial_console'),
            ('port_range', PORT_RANGE, 'serial_console')):
        conf.set_override(key, value, group=group)
    return libvirt_driver.LibvirtDriver(conf=conf)


class CallTimer:
    """Times every call of ``owner.name`` while installed.

    Used on ``log_transfer.copy_console_log`` (the driver calls it through
    the module) and on ``libvirt.virDomain.migrateToURI3``.
    """

    def __init__(self, owner, name):
        self.owner = owner
        self.name = name
        self.original = getattr(owner, name)
        self.calls = []     # (seconds, result or None, exception or None)

    def install(self):
        original, calls = self.original, self.calls

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                result = original(*args, **kwargs)
            except Exception as e:
                calls.append((time.perf_counter() - t0, None, e))
                raise
            calls.append((time.perf_counter() - t0, result, None))
            return result
        setattr(self.owner, self.name, timed)

    def remove(self):
        setattr(self.owner, self.name, self.original)


class Bench:
    def __init__(self, args, env, virt_type, image):
        self.args = args
        self.env = env
        self.image = image
        self.hostb_virtlogd_conf = os.path.join(
            env['HOSTB_ROOT'], 'etc', 'libvirt', 'virtlogd.conf')
        self.a = make_driver('host-a', virt_type, env['HOSTA_URI'],
                             env['HOSTA_ADDR'], env['HOSTA_INSTANCES'],
                             env['HOSTB_TO_HOSTA_URI'], HOSTA_VIRTLOGD_CONF,
                             env)
        self.b = make_driver('host-b', virt_type, env['HOSTB_URI'],
                             env['HOSTB_ADDR'], env['HOSTB_INSTANCES'],
                             env['HOSTB_URI'], self.hostb_virtlogd_conf,
                             env)
        self.limits_a = libvirt_host.read_virtlogd_limits(
            HOSTA_VIRTLOGD_CONF)
        self.limits_b = libvirt_host.read_virtlogd_limits(
            self.hostb_virtlogd_conf)
        self.guests = []
        self.scratch = []   # uuids of copy-alone folders, on both hosts
        self.errors = []
        self.disturbed = False

    def note_tests(self):
        if functional_tests_running():
            self.disturbed = True
            return True
        return False

    def boot(self):
        inst = objects.Instance(flavor=objects.Flavor(memory_mb=128,
                                                      vcpus=1))
        self.guests.append(inst)    # destroyed on both hosts at the end
        progress('spawning %s on host A', inst.name)
        self.a.spawn(None, inst, self.image)
        inst.host = self.a.host_name
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            output = self.a.get_console_output(None, inst)
            if BANNER.search(output):
                return inst
            if time.monotonic() > deadline:
                raise BenchFailed('no banner from %s within %d s; its end: '
                                  '%r' % (inst.name, BOOT_TIMEOUT,
                                          output[-400:]))
            time.sleep(0.5)

    def cleanup(self):
        for inst in list(self.guests):
            for drv in (self.a, self.b):
                try:
                    drv.destroy(None, inst)
                except Exception as e:   # the other host must go too
                    self.errors.append('destroy %s on %s: %s' % (
                        inst.name, drv.host_name, e))
                    progress('could not destroy %s on %s: %s', inst.name,
                             drv.host_name, e)
            self.guests.remove(inst)
            self._remove_folders(inst.uuid, orphans=True)
        for name in self.scratch:
            self._remove_folders(name)
        self.scratch = []

    def _remove_folders(self, name, orphans=False):
        for top in (self.env['HOSTA_INSTANCES'],
                    self.env['HOSTB_INSTANCES']):
            shutil.rmtree(os.path.join(top, name), ignore_errors=True)
            if not orphans:
                continue
            for entry in os.listdir(top):
                if entry.startswith(name + '.orphaned-'):
                    shutil.rmtree(os.path.join(top, entry),
                                  ignore_errors=True)

    def close(self):
        for drv in (self.a, self.b):
            drv.host.close()


# -- measurements -------------------------------------------------------------

def prepare_log(bench, inst, tag):
    """Bring the guest's log on A to virtlogd's bound; returns its facts."""
    max_size, max_backups = bench.limits_a
    log_path = bench.a.console_log_path(inst)
    write_backups(log_path, max_size, max_backups, tag)
    added, seconds = fill_live_log(bench.a, inst, max_size - LIVE_MARGIN)
    if added:
        progress('%s: guest printed %d bytes into console.log in %.1f s '
                 '(%.0f KiB/s)', tag, added, seconds,
                 added / 1024 / seconds)
    with open(log_path + '.0', 'rb') as f:
        first = f.read(5)
    if os.path.getsize(log_path) >= max_size or first != b'FILL ':
        raise BenchFailed('virtlogd rotated console.log of %s during the '
                          'fill' % inst.name)
    return dict(history=chain_bytes(log_path), files=len(
        chain_paths(log_path)), live=os.path.getsize(log_path))


def migrate_timed(bench, inst, mode, timers, tag):
    a, b = bench.a, bench.b
    before = prepare_log(bench, inst, tag)
    a._conf.set_override('console_log_transfer', mode, 'libvirt')
    busy = bench.note_tests()
    copy_timer, libvirt_timer = timers
    calls = len(copy_timer.calls), len(libvirt_timer.calls)
    tx0 = veth_tx_bytes()
    t0 = time.perf_counter()
    benchlib.live_migrate_drivers(inst, a, b)
    seconds = time.perf_counter() - t0
    tx1 = veth_tx_bytes()
    busy = bench.note_tests() or busy
    copies = copy_timer.calls[calls[0]:]
    migrations = libvirt_timer.calls[calls[1]:]
    row = dict(mode=mode, seconds=seconds, chain=len(before['history']),
               libvirt_s=sum(c[0] for c in migrations),
               files=before['files'], live=before['live'],
               veth=None if tx0 is None or tx1 is None else tx1 - tx0,
               copy_s=None, copied=0, check='', ok=False, busy=busy)
    max_size, max_backups = bench.limits_b
    b_log = b.console_log_path(inst)
    a_dir = a.instance_dir(inst)
    if copies:
        copy_s, names, error = copies[0]
        row['copy_s'] = copy_s
        if error is not None:
            row['check'] = 'copy FAILED: %s' % error
        else:
            row['copied'] = sum(os.path.getsize(
                os.path.join(b.instance_dir(inst), n)) for n in names)
    backups = backup_paths(b_log)
    if row['check']:
        pass    # the copy failed: nothing more to check
    elif mode == 'rsync':
        copied = b''.join(read_file(path) for path in backups)
        wanted = before['history'][-max_size * max_backups:]
        row['ok'] = copied == wanted and not os.path.exists(a_dir)
        row['check'] = ('history on B = newest %.3f MiB of A\'s, byte for '
                        'byte' % (len(wanted) / MIB) if copied == wanted
                        else 'MISMATCH: B holds %d bytes of history, not '
                        'the newest %d of A\'s' % (len(copied), len(wanted)))
        if os.path.exists(a_dir):
            row['check'] += '; but A kept its folder'
    else:
        left = chain_size(a.console_log_path(inst))
        row['ok'] = not backups and left >= len(before['history'])
        row['check'] = ('log stayed on A (%.3f MiB), B has only its new '
                        'console.log' % (left / MIB) if row['ok'] else
                        'UNEXPECTED: %.3f MiB left on A, %d backup(s) on B'
                        % (left / MIB, len(backups)))
    if os.path.exists(a_dir):
        # Under none (or after a failed copy) the log stays on A; remove it
        # as an operator would, so the return trip starts clean.
        shutil.rmtree(a_dir)
    if not b.is_running(inst) or a.instance_exists(inst):
        raise BenchFailed('%s is not running on B alone after the '
                          'migration' % inst.name)
    progress('%s: A -> B with %s: %.3f s', tag, mode, seconds)
    t0 = time.perf_counter()
    benchlib.live_migrate_drivers(inst, b, a)
    progress('%s: back B -> A (untimed, rsync): %.3f s', tag,
             time.perf_counter() - t0)
    return row


def measure_migrations(bench, inst, rounds):
    timers = (CallTimer(log_transfer, 'copy_console_log'),
              CallTimer(libvirt.virDomain, 'migrateToURI3'))
    for timer in timers:
        timer.install()
    rows = []
    try:
        for number in range(1, rounds + 1):
            modes = ('rsync', 'none') if number % 2 else ('none', 'rsync')
            for mode in modes:
                row = migrate_timed(bench, inst, mode, timers,
                                    'round %d %s' % (number, mode))
                row['round'] = number
                rows.append(row)
    finally:
        for timer in timers:
            timer.remove()
    return rows


def measure_copy_alone(bench, repeat):
    """copy_console_log on an 8 MiB chain from A's folder to B's daemon."""
    max_size, max_backups = bench.limits_a
    dest_size, dest_backups = bench.limits_b
    name = str(uuid_lib.uuid4())
    bench.scratch.append(name)
    src_dir = os.path.join(bench.env['HOSTA_INSTANCES'], name)
    dest_dir = os.path.join(bench.env['HOSTB_INSTANCES'], name)
    os.makedirs(src_dir)
    log_path = os.path.join(src_dir, libvirt_driver.CONSOLE_LOG_NAME)
    write_filler(log_path, max_size, 'copy-alone live')
    write_backups(log_path, max_size, max_backups, 'copy-alone')
    size = chain_size(log_path)
    conf = bench.a._conf
    results = {True: [], False: []}
    sent = {}
    for number in range(repeat):
        for as_backups in ((True, False) if number % 2 == 0
                           else (False, True)):
            shutil.rmtree(dest_dir, ignore_errors=True)
            os.makedirs(dest_dir)   # as pre_live_migration makes it
            t0 = time.perf_counter()
            names = log_transfer.copy_console_log(
                name, log_path, bench.env['HOSTB_ADDR'],
                as_backups=as_backups, max_size=dest_size,
                max_backups=dest_backups, conf=conf, dest_dir=dest_dir)
            results[as_backups].append(time.perf_counter() - t0)
            sent[as_backups] = (len(names), sum(
                os.path.getsize(os.path.join(dest_dir, n)) for n in names))
    shutil.rmtree(dest_dir, ignore_errors=True)
    shutil.rmtree(src_dir, ignore_errors=True)
    return size, results, sent


# -- report -------------------------------------------------------------------

def report_migrations(bench, rows, rounds):
    max_size, max_backups = bench.limits_a
    out('== live migration A -> B, console log at virtlogd\'s bound, '
        '%d round(s) ==' % rounds)
    out('timed: live_migrate(None, inst, A, B) only (A -> B); the guest '
        'goes back B -> A untimed between migrations. Modes alternate: '
        'rsync first in odd rounds, none first in even ones.')
    out('the log before each migration: console.log.0 .. .%d written by '
        'the benchmark (%d bytes each; virtlogd holds console.log open, '
        'so it is never written by us) + console.log filled by the guest '
        '(chatty) to %d bytes short of max_size'
        % (max_backups - 1, max_size, LIVE_MARGIN))
    out('columns: migrate = all of live_migrate; libvirt = inside '
        'virDomain.migrateToURI3 (the guest moving); rest = migrate - '
        'libvirt (our calls on both hosts, copy included); copy = inside '
        'log_transfer.copy_console_log')
    out('%-5s %-6s %9s %9s %7s %7s %8s %10s %13s  %s' % (
        'round', 'mode', 'migrate s', 'libvirt s', 'rest s', 'copy s',
        'log MiB', 'copied MiB', 'veth A>B MiB', 'check'))
    for row in rows:
        out('%-5d %-6s %9.3f %9.3f %7.3f %7s %8.3f %10.3f %13s  %s%s' % (
            row['round'], row['mode'], row['seconds'], row['libvirt_s'],
            row['seconds'] - row['libvirt_s'],
            '-' if row['copy_s'] is None else '%.3f' % row['copy_s'],
            row['chain'] / MIB, row['copied'] / MIB,
            '-' if row['veth'] is None else '%.1f' % (row['veth'] / MIB),
            row['check'],
            ' [functional tests ran]' if row['busy'] else ''))
    by_mode = {mode: [r for r in rows if r['mode'] == mode]
               for mode in ('rsync', 'none')}
    figures = (('migrate', lambda r: r['seconds']),
               ('libvirt', lambda r: r['libvirt_s']),
               ('rest', lambda r: r['seconds'] - r['libvirt_s']))
    medians = {}
    for name, value in figures:
        for mode in ('rsync', 'none'):
            med, lo, hi = stats([value(r) for r in by_mode[mode]])
            medians[name, mode] = med
            out('%-7s console_log_transfer = %-5s  median %.3f s  min '
                '%.3f s  max %.3f s' % (name, mode, med, lo, hi))
    for name, _ in figures:
        rsync, none = medians[name, 'rsync'], medians[name, 'none']
        out('%-7s difference (median rsync - median none) %+.3f s, ratio '
            'rsync / none %.3f' % (name, rsync - none, rsync / none))
    copy_s = [r['copy_s'] for r in by_mode['rsync']
              if r['copy_s'] is not None]
    if copy_s:
        med, lo, hi = stats(copy_s)
        out('copy step inside the rsync migrations: median %.3f s  min '
            '%.3f s  max %.3f s' % (med, lo, hi))
        spread = min(max(r['libvirt_s'] for r in by_mode[mode]) -
                     min(r['libvirt_s'] for r in by_mode[mode])
                     for mode in by_mode)
        if spread > med:
            out('note: the libvirt part alone varies by %.3f s between '
                'migrations of one mode, more than the copy takes, so '
                '"migrate" alone cannot show the copy with %d round(s); '
                '"rest" and "copy" can' % (spread, rounds))
    copied = [r['copied'] for r in by_mode['rsync']]
    chain = [r['chain'] for r in by_mode['rsync']]
    out('data copied per rsync migration: %.3f MiB (%d bytes) of a %.3f '
        'MiB log: the destination\'s virtlogd opened its own console.log, '
        'so the source history is re-cut to max_backups x max_size = %d x '
        '%d there and the oldest bytes fall out of virtlogd\'s bound'
        % (statistics.median(copied) / MIB, statistics.median(copied),
           statistics.median(chain) / MIB, bench.limits_b[1],
           bench.limits_b[0]))
    veth = {mode: [r['veth'] for r in by_mode[mode] if r['veth'] is not None]
            for mode in by_mode}
    if veth['rsync'] and veth['none']:
        out('bytes sent A -> B on the veth per migration (guest memory + '
            'log copy): median %.1f MiB with rsync, %.1f MiB with none, '
            'difference %.2f MiB' % (
                statistics.median(veth['rsync']) / MIB,
                statistics.median(veth['none']) / MIB,
                (statistics.median(veth['rsync']) -
                 statistics.median(veth['none'])) / MIB))
    out()


def report_copy_alone(bench, size, results, sent, repeat):
    out('== copy step alone: log_transfer.copy_console_log, %.3f MiB chain '
        'on A -> B\'s rsync daemon, %d run(s) each, alternating ==' % (
            size / MIB, repeat))
    out('a fresh, empty destination folder each run (as after '
        'pre_live_migration); files just written, so read from the page '
        'cache')
    out('%-34s %6s %10s %10s %10s %10s %8s' % (
        'layout', 'files', 'sent MiB', 'median s', 'min s', 'max s',
        'MiB/s'))
    for as_backups, label in ((True, 'as backups (N+1 -> N+1)'),
                              (False, 'names unchanged (N+1 -> N)')):
        med, lo, hi = stats(results[as_backups])
        files, sent_bytes = sent[as_backups]
        out('%-34s %6d %10.3f %10.3f %10.3f %10.3f %8.1f' % (
            label, files, sent_bytes / MIB, med, lo, hi,
            sent_bytes / MIB / med))
    out()


# -- main ---------------------------------------------------------------------

def prepare_host():
    if os.geteuid() != 0:
        raise BenchFailed('run as root: it drives the real libvirtd, '
                          'virtlogd, QEMU and the two-host rig')
    waited = wait_for_functional_tests()
    if waited:
        progress('functional tests finished after ~%d s of waiting', waited)
    progress('bringing the two hosts up (tools/two-hosts.sh up)')
    run_tool(TWO_HOSTS, 'up')
    env = rig_env()
    with open(HOSTA_VIRTLOGD_CONF, 'rb') as f:
        virtlogd_conf = f.read()
    max_size, max_backups = libvirt_host.read_virtlogd_limits(
        HOSTA_VIRTLOGD_CONF)
    progress('virt type (tools/setup-host.sh --print-virt-type, keeping '
             'max_size %d, max_backups %d)', max_size, max_backups)
    virt_type = run_tool(SETUP_HOST, '--virtlogd-max-size', str(max_size),
                         '--virtlogd-max-backups', str(max_backups),
                         '--print-virt-type').strip()
    with open(HOSTA_VIRTLOGD_CONF, 'rb') as f:
        if f.read() != virtlogd_conf:
            raise BenchFailed('%s changed under tools/setup-host.sh; '
                              'not measuring' % HOSTA_VIRTLOGD_CONF)
    progress('building the guest image (tools/build-guest-image.sh)')
    kernel, initrd = run_tool(BUILD_IMAGE).split()
    with open(os.path.join(os.path.dirname(kernel), 'cmdline')) as f:
        cmdline = f.read().strip()
    image = objects.ImageMeta(name='nova-guest', kernel_path=kernel,
                              ramdisk_path=initrd,
                              properties={'os_command_line': cmdline})
    return env, virt_type, image


def describe(bench, virt_type):
    host = bench.a.host
    out('libvirt %s, QEMU %s, virt type %s, %d CPU(s), kernel %s' % (
        '.'.join(map(str, host.get_lib_version())),
        '.'.join(map(str, host.get_hv_version())), virt_type,
        os.cpu_count(), os.uname().release))
    out('host A %s (%s), host B %s (%s); guest 128 MiB, 1 vCPU; serial '
        'ports %s' % (bench.env['HOSTA_ADDR'], bench.env['HOSTA_INSTANCES'],
                      bench.env['HOSTB_ADDR'], bench.env['HOSTB_INSTANCES'],
                      PORT_RANGE))
    out('virtlogd max_size/max_backups: A %d/%d, B %d/%d (bound per guest '
        '%.0f MiB)' % (bench.limits_a + bench.limits_b + (
            bench.limits_a[0] * (bench.limits_a[1] + 1) / MIB,)))
    out()


def run(args, bench, virt_type):
    describe(bench, virt_type)
    for drv in (bench.a, bench.b):
        if not drv.uses_virtlogd():
            raise BenchFailed('%s fails the virtlogd gate' % drv.host_name)
    if bench.limits_a[1] < 1:
        raise BenchFailed('virtlogd keeps no backups (max_backups 0) on A')
    inst = bench.boot()
    rows = measure_migrations(bench, inst, args.rounds)
    report_migrations(bench, rows, args.rounds)
    progress('timing copy_console_log alone (%d runs per layout)',
             args.copy_repeat)
    size, results, sent = measure_copy_alone(bench, args.copy_repeat)
    report_copy_alone(bench, size, results, sent, args.copy_repeat)
    failed = [r for r in rows if not r['ok']]
    if failed:
        raise BenchFailed('%d migration(s) did not leave the log as '
                          'expected (see the check column)' % len(failed))
    if bench.disturbed:
        out('NOTE: the functional tests ran during part of this benchmark; '
            'flagged rows shared the hosts with them.')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=3,
                        help='timed A -> B migrations per mode (default 3)')
    parser.add_argument('--copy-repeat', type=int, default=5,
                        help='runs of copy_console_log alone per layout '
                             '(default 5)')
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.copy_repeat < 1:
        parser.error('--rounds and --copy-repeat must be at least 1')

    out('$ ' + reproduce_command())
    bench = None
    failure = None
    try:
        env, virt_type, image = prepare_host()
        bench = Bench(args, env, virt_type, image)
        run(args, bench, virt_type)
    except (BenchFailed, exception.NovaException, OSError, cfg.Error,
            libvirt.libvirtError, benchlib.SerialTimeout) as e:
        failure = e
    except KeyboardInterrupt:
        failure = 'interrupted'
    finally:
        if bench is not None:
            progress('cleaning up: destroying guests on both hosts')
            bench.cleanup()
            if bench.errors and failure is None:
                failure = 'cleanup: %s' % '; '.join(bench.errors)
            bench.close()
    if failure is not None:
        print('bench: FAILED: %s' % failure, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
