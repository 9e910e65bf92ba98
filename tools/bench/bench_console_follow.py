#!/usr/bin/env python3
"""Benchmark LogFollower against polling (not a test).

Two figures, each beside a polling baseline measured in the same run:

* idle CPU: the CPU time (user + system, from getrusage) this process
  spends over --idle seconds while one LogFollower waits on a log nobody
  writes to, and while a loop polls the same log every 10 ms the cheapest
  way (lstat of the name, fstat of the open file). The follower's number
  of looks at the log while it waits is printed too: 1 (when read()
  starts) means it never woke up.
* write -> receipt latency: a writer process (standing in for virtlogd:
  O_APPEND writes, a rotation every --rotate-every lines, 3 backups)
  appends --lines lines, each carrying the CLOCK_MONOTONIC time it was
  written, at --interval seconds apart; the reader notes when each line
  reaches it. Once with a LogFollower (read(timeout) in a loop), once
  with read_log_tail() called every 10 ms. Median and p99 in
  milliseconds, and the lines missed (must be 0 for the follower).

Files live in a temporary folder (--dir), on whatever disk that is.
"""

import argparse
import multiprocessing
import os
import re
import resource
import statistics
import tempfile
import time

import benchlib  # first: it puts the repository on sys.path
from nova.virt.libvirt import console_follow  # noqa: I100
from nova.virt.libvirt import console_log

POLL = 0.010
BACKUPS = 3
LINE = re.compile(rb'T (\d+) (\d+\.\d+) x*\n')


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_folder(parent):
    top = tempfile.mkdtemp(dir=parent)     # 0700: check_dir accepts it
    folder = os.path.join(top, 'instance')
    os.mkdir(folder, 0o700)
    return folder


def rotate(path, fd):
    os.close(fd)
    names = [path] + ['%s.%d' % (path, i) for i in range(BACKUPS)]
    for src in range(BACKUPS - 1, -1, -1):
        if os.path.exists(names[src]):
            os.rename(names[src], names[src + 1])
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def writer(path, lines, interval, rotate_every):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    pad = b'x' * 40
    for seq in range(1, lines + 1):
        time.sleep(interval)
        os.write(fd, b'T %d %.9f %s\n' % (seq, time.monotonic(), pad))
        if seq % rotate_every == 0:
            fd = rotate(path, fd)
    os.close(fd)


def idle_follower(path, seconds):
    with open(path, 'wb') as f:
        f.write(b'history\n')
    follower = console_follow.LogFollower(path)
    looks = []
    real = follower._advance

    def counted():
        looks.append(1)
        return real()

    follower._advance = counted
    try:
        follower.read(0)    # the history
        follower.read(0)    # the first look
        del looks[:]
        start = cpu()
        data = follower.read(seconds)
        used = cpu() - start
    finally:
        follower.close()
    assert data == b'', data
    return used, len(looks)


def idle_polling(path, seconds):
    fd = os.open(path, os.O_RDONLY)
    try:
        start = cpu()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            os.lstat(path)
            os.fstat(fd)
            time.sleep(POLL)
        return cpu() - start
    finally:
        os.close(fd)


def collect(data, seen, now):
    for m in LINE.finditer(data):
        seq = int(m.group(1))
        if seq not in seen:
            seen[seq] = now - float(m.group(2))


def latency(path, args, follow):
    proc = multiprocessing.Process(
        target=writer,
        args=(path, args.lines, args.interval, args.rotate_every))
    seen = {}
    gaps = 0
    if follow:
        follower = console_follow.LogFollower(path, 0)
        proc.start()
        buf = b''
        try:
            while True:
                try:
                    got = follower.read(0.5)
                except console_follow.LogGap:
                    gaps += 1
                    continue
                now = time.monotonic()
                if not got and not proc.is_alive():
                    break
                buf += got
                cut = buf.rfind(b'\n') + 1
                collect(buf[:cut], seen, now)
                buf = buf[cut:]
        finally:
            follower.close()
    else:
        proc.start()
        while True:
            alive = proc.is_alive()
            # A poller sees only what the tail holds: 4 KiB is ~70 lines.
            collect(console_log.read_log_tail(path, 4096), seen,
                    time.monotonic())
            if not alive:
                break
            time.sleep(POLL)
    proc.join()
    lat = sorted(v * 1000 for v in seen.values())
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None
    return (statistics.median(lat) if lat else None, p99,
            args.lines - len(seen), gaps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--idle', type=float, default=10.0,
                        help='seconds of each idle measurement')
    parser.add_argument('--lines', type=int, default=500)
    parser.add_argument('--interval', type=float, default=0.02,
                        help='seconds between two written lines')
    parser.add_argument('--rotate-every', type=int, default=50,
                        help='lines per log file')
    parser.add_argument('--dir', default=tempfile.gettempdir())
    args = parser.parse_args()

    benchlib.out('# ' + benchlib.reproduce_command())
    benchlib.progress('idle follower, %.0f s', args.idle)
    path = os.path.join(make_folder(args.dir), 'console.log')
    f_cpu, looks = idle_follower(path, args.idle)
    benchlib.progress('idle 10 ms polling loop, %.0f s', args.idle)
    p_cpu = idle_polling(path, args.idle)
    benchlib.out('idle CPU over %.0f s: follower %.1f ms (%d look(s) at '
                 'the log), 10 ms polling loop %.1f ms'
                 % (args.idle, f_cpu * 1000, looks, p_cpu * 1000))

    for name, follow in (('follower', True),
                         ('read_log_tail every 10 ms', False)):
        benchlib.progress('latency, %s', name)
        path = os.path.join(make_folder(args.dir), 'console.log')
        med, p99, missed, gaps = latency(path, args, follow)
        benchlib.out('write->receipt latency, %s: median %.2f ms, p99 '
                     '%.2f ms, %d of %d lines missed, %d gap(s)'
                     % (name, med, p99, missed, args.lines, gaps))


if __name__ == '__main__':
    main()
