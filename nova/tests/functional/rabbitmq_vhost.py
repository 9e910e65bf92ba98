"""A RabbitMQ virtual host of its own for each test cloud.

The test clouds name their compute hosts host-a and host-b, and RPC
calls go to a topic named after the host. On one shared vhost two runs
on one machine (or a run and someone's cloud) would take each other's
calls and reports. So each test process gets a vhost of its own,
``nova-test-<pid>-<random>``, made by ``tools/setup-rabbitmq.sh --vhost``
(nova only has permissions on it) and deleted when the process exits.
Vhosts of test processes that no longer run (killed before their clean
up) are deleted by the next run.

Standard library only: the unit tests import it too.
"""

import atexit
import os
import re
import subprocess
import urllib.parse
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
SETUP_RABBITMQ = os.path.join(REPO, 'tools', 'setup-rabbitmq.sh')
PREFIX = 'nova-test-'
_NAME_RE = re.compile(r'%s([0-9]+)-[0-9a-f]{12}' % re.escape(PREFIX))


def new_name(pid=None):
    """A vhost name unique to this process and call."""
    return '%s%d-%s' % (PREFIX, os.getpid() if pid is None else pid,
                        uuid.uuid4().hex[:12])


def owner(name):
    """The pid of the test process a vhost name belongs to, or None for
    a name this module did not make."""
    match = _NAME_RE.fullmatch(name)
    return int(match.group(1)) if match else None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale(names, alive=pid_alive):
    """The test vhosts among ``names`` whose process is gone."""
    return [name for name in names
            if owner(name) is not None and not alive(owner(name))]


def with_vhost(url, vhost):
    """``url`` (``rabbit://user:password@host:port/``, one host or
    several) naming virtual host ``vhost`` instead of its own."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(
        path='/' + urllib.parse.quote(vhost, safe='')))


def _run(*argv):
    proc = subprocess.run((SETUP_RABBITMQ,) + argv, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError('%s %s failed (exit %d):\n%s' % (
            SETUP_RABBITMQ, ' '.join(argv), proc.returncode,
            proc.stderr[-3000:]))
    return proc.stdout


def delete(name):
    _run('--delete-vhost', name)


def _delete_quietly(name):
    try:
        delete(name)
    except (RuntimeError, OSError):
        pass  # at exit: a broker already stopped has nothing to delete


def create(*setup_args):
    """Make this process's vhost (setup-rabbitmq.sh with ``setup_args``
    and ``--vhost``), deleted at exit; the stale ones go first.
    Returns its name."""
    for name in stale(_run('--list-vhosts').split()):
        delete(name)
    name = new_name()
    _run(*(setup_args + ('--vhost', name)))
    atexit.register(_delete_quietly, name)
    return name
