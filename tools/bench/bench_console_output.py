#!/usr/bin/env python3
"""Benchmark read_log_tail() on console logs of growing size (not a test).

For each total size (1 MiB, 16 MiB, 128 MiB, 1 GiB) it builds two logs in a
temporary directory:

* chain: console.log plus 3 backups, as virtlogd leaves them with max_size
  scaled to the total. console.log holds only 40 KiB, so the default
  100 KiB tail spans two files, as it does right after a rotation.
* legacy: one big console.log, no backups.

Files are sparse-ish but real: a hole in the middle, real bytes at the head
and over the tail region (several times max_bytes), so reads hit real data
in the page cache. --dense writes every byte instead (checks free space).

Each row gives the median time of one read_log_tail() call, and its ratio
to the baseline: one os.pread() of the same number of bytes from an
already open file, timed in the same run. Flat times down the column mean
the cost does not depend on the size of the log.
"""

import argparse
import os
import random
import shlex
import shutil
import statistics
import sys
import tempfile
import time

import benchlib  # noqa: F401 (first: it puts the repository on sys.path)
from nova.virt.libvirt import console_log  # noqa: I100

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
# What console.log holds in the chain layout: less than max_bytes, so the
# tail needs console.log.0 too.
CURRENT = 40 * KiB
BACKUPS = 3
HEAD = 64 * KiB
CHUNK = 8 * MiB


def human(n):
    for unit, size in (('GiB', GiB), ('MiB', MiB), ('KiB', KiB)):
        if n >= size and n % size == 0:
            return '%d %s' % (n // size, unit)
    return '%d B' % n


def real_ranges(size, tail, dense):
    """Byte ranges of a file of ``size`` that get real data."""
    if dense or size <= HEAD + tail:
        return [(0, size)]
    return [(0, HEAD), (size - tail, size)]


def make_file(name, size, tail, dense, rng):
    """Create ``name`` with ``size`` bytes; return how many are real."""
    written = 0
    with open(name, 'wb') as f:
        f.truncate(size)    # the rest stays a hole
        block = rng.randbytes(min(CHUNK, size))
        for start, end in real_ranges(size, tail, dense):
            f.seek(start)
            while start < end:
                n = min(end - start, len(block))
                f.write(block[:n])
                start += n
                written += n
    return written


def layouts(total):
    """(label, [sizes newest first]) for the two layouts of ``total``."""
    max_size = (total - CURRENT) // BACKUPS
    chain = [total - BACKUPS * max_size] + [max_size] * BACKUPS
    return [('chain', chain), ('legacy', [total])]


def build(path, sizes, tail, dense, rng):
    names = [path] + ['%s.%d' % (path, i) for i in range(len(sizes) - 1)]
    return sum(make_file(name, size, tail, dense, rng)
               for name, size in zip(names, sizes))


def timed(func):
    t0 = time.perf_counter_ns()
    func()
    return time.perf_counter_ns() - t0


def measure(func, baseline, repeat):
    """Min, median and p90 ns of func, and median ns of baseline.

    Calls alternate, so both see the same machine: other load, CPU clock.
    """
    for _ in range(5):      # warm up caches and the interpreter
        func()
        baseline()
    times, base = [], []
    for _ in range(repeat):
        times.append(timed(func))
        base.append(timed(baseline))
    times.sort()
    return (times[0], statistics.median(times),
            times[int(len(times) * 0.9)], statistics.median(base))


def expected_tail(path, sizes, max_bytes):
    """The tail, read the slow obvious way, to check the result."""
    names = [path] + ['%s.%d' % (path, i) for i in range(len(sizes) - 1)]
    data = b''
    for name in names:
        with open(name, 'rb') as f:
            f.seek(max(0, os.path.getsize(name) - (max_bytes - len(data))))
            data = f.read() + data
        if len(data) >= max_bytes:
            break
    return data[-max_bytes:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='sizes 1 MiB and 128 MiB, fewer repetitions')
    parser.add_argument('--repeat', type=int,
                        help='calls per measurement (default 201, quick 51)')
    parser.add_argument('--max-bytes', type=int,
                        default=console_log.MAX_CONSOLE_BYTES)
    parser.add_argument('--dense', action='store_true',
                        help='write every byte instead of sparse files')
    parser.add_argument('--dir', default=tempfile.gettempdir(),
                        help='where to make the temporary directory')
    args = parser.parse_args()

    print('$ ' + shlex.join([sys.executable] + sys.argv))
    sizes = [1 * MiB, 128 * MiB] if args.quick else [
        1 * MiB, 16 * MiB, 128 * MiB, 1 * GiB]
    repeat = args.repeat or (51 if args.quick else 201)
    max_bytes = args.max_bytes
    # Real bytes over several times the tail, so the read is all data.
    tail = max(4 * max_bytes, 1 * MiB)

    # One log exists at a time (plus the small baseline file).
    need = max(sum(end - start for size in files
                   for start, end in real_ranges(size, tail, args.dense))
               for total in sizes for _, files in layouts(total))
    free = shutil.disk_usage(args.dir).free
    print('free space in %s: %s, needed at most %s (%s)'
          % (args.dir, human_mib(free), human_mib(need),
             'dense' if args.dense else 'sparse-ish'))
    if need + 256 * MiB > free:
        sys.exit('not enough free space in %s' % args.dir)

    print('read_log_tail(path, max_bytes=%d): %d calls per row, warm page '
          'cache; ratio = median / median of one os.pread() of the same '
          'bytes from an open file' % (max_bytes, repeat))
    print('%-7s %8s %5s %10s %8s %8s %9s %8s %8s %6s'
          % ('layout', 'total', 'files', 'on disk', 'returned',
             'min us', 'median us', 'p90 us', 'pread us', 'ratio'))
    rng = random.Random(0)
    results = {}
    with tempfile.TemporaryDirectory(prefix='bench-console-',
                                     dir=args.dir) as tmp:
        # Baseline: the same number of bytes with one pread() from an
        # already open file, the cheapest way there is.
        base_name = os.path.join(tmp, 'baseline')
        make_file(base_name, tail, tail, True, rng)
        base_fd = os.open(base_name, os.O_RDONLY)
        # Let the CPU clock settle before the first row.
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            os.pread(base_fd, max_bytes, 0)
        for total in sizes:
            for label, files in layouts(total):
                d = os.path.join(tmp, '%s-%d' % (label, total))
                os.mkdir(d)
                path = os.path.join(d, 'console.log')
                build(path, files, tail, args.dense, rng)
                on_disk = sum(
                    os.stat(n).st_blocks * 512 for n in
                    [os.path.join(d, f) for f in os.listdir(d)])
                result = console_log.read_log_tail(path, max_bytes)
                if result != expected_tail(path, files, max_bytes):
                    sys.exit('wrong result for %s %s' % (label, human(total)))
                n = len(result)
                t_min, t_med, t_p90, b_med = measure(
                    lambda: console_log.read_log_tail(path, max_bytes),
                    lambda: os.pread(base_fd, n, tail - n), repeat)
                results[label, total] = t_med, t_min
                print('%-7s %8s %5d %10s %8d %8.1f %9.1f %8.1f %8.1f %5.1fx'
                      % (label, human(total), len(files),
                         human_mib(on_disk), len(result), t_min / 1e3,
                         t_med / 1e3, t_p90 / 1e3, b_med / 1e3,
                         t_med / b_med))
                shutil.rmtree(d)
        os.close(base_fd)
    small, big = sizes[0], sizes[-1]
    for label in ('chain', 'legacy'):
        (b_med, b_min), (s_med, s_min) = (results[label, big],
                                          results[label, small])
        print('flat? %-6s %s vs %s: median %.1f vs %.1f us (x%.2f), '
              'min %.1f vs %.1f us (x%.2f)'
              % (label, human(big), human(small), b_med / 1e3, s_med / 1e3,
                 b_med / s_med, b_min / 1e3, s_min / 1e3, b_min / s_min))


def human_mib(n):
    return '%.1f MiB' % (n / MiB)


if __name__ == '__main__':
    main()
