"""What every benchmark in tools/ shares: reporting and the host's tools.

Benchmarks print their figures on stdout and progress on stderr, start by
printing the command that reproduces them, and must not disturb a
functional test run on the same libvirtd.
"""

import os
import shlex
import subprocess
import sys


class BenchFailed(Exception):
    pass


def progress(msg, *args):
    print('bench: ' + (msg % args if args else msg), file=sys.stderr,
          flush=True)


def out(line=''):
    print(line, flush=True)


def run_tool(*argv):
    """stdout of a tools/ script; BenchFailed with its stderr otherwise."""
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchFailed('%s failed (exit %d):\n%s' % (
            shlex.join(argv), proc.returncode, proc.stderr[-3000:]))
    return proc.stdout


def reproduce_command():
    parts = ['cd', shlex.quote(os.getcwd()), '&&']
    if 'PYTHONPATH' in os.environ:
        parts.append('PYTHONPATH=' + shlex.quote(os.environ['PYTHONPATH']))
    parts.append(shlex.join([sys.executable] + sys.argv))
    return ' '.join(parts)


def functional_tests_running():
    """Pids of a functional test run on this machine, if any."""
    proc = subprocess.run(['pgrep', '-f', 'nova/tests/functional'],
                          capture_output=True, text=True)
    return proc.stdout.split()
