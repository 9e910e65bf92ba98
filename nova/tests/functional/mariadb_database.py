"""A MariaDB database of its own for each test cloud.

The multi-host and split-service tests run their services on MariaDB,
as such deployments do (SQLite stays the one-host default). Each cloud
gets a new database ``nova_test_<pid>_<random>`` made by
``tools/setup-mariadb.sh --database`` and dropped when the test process
exits; those of test processes that no longer run (killed before their
clean-up) are dropped by the next run, as ``rabbitmq_vhost`` does for
vhosts.

Standard library only: the unit tests import it too.
"""

import atexit
import os
import re
import subprocess
import uuid

from nova.tests.functional import rabbitmq_vhost

REPO = rabbitmq_vhost.REPO
SETUP_MARIADB = os.path.join(REPO, 'tools', 'setup-mariadb.sh')
PREFIX = 'nova_test_'
_NAME_RE = re.compile(r'%s([0-9]+)_[0-9a-f]{12}' % re.escape(PREFIX))


def new_name(pid=None):
    """A database name unique to this process and call."""
    return '%s%d_%s' % (PREFIX, os.getpid() if pid is None else pid,
                        uuid.uuid4().hex[:12])


def owner(name):
    """The pid of the test process a database belongs to, or None for a
    name this module did not make."""
    match = _NAME_RE.fullmatch(name)
    return int(match.group(1)) if match else None


def stale(names, alive=rabbitmq_vhost.pid_alive):
    """The test databases among ``names`` whose process is gone."""
    return [name for name in names
            if owner(name) is not None and not alive(owner(name))]


def _run(*argv):
    proc = subprocess.run((SETUP_MARIADB,) + argv, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError('%s %s failed (exit %d):\n%s' % (
            SETUP_MARIADB, ' '.join(argv), proc.returncode,
            proc.stderr[-3000:]))
    return proc.stdout


def drop(name):
    _run('--drop-database', name)


def _drop_quietly(name):
    try:
        drop(name)
    except (RuntimeError, OSError):
        pass  # at exit: a server already stopped has nothing to drop


def create():
    """Set MariaDB up, make a new database of this process's (dropped
    at exit; the stale ones go first). Returns its ``[database]
    connection`` URL."""
    name = new_name()
    url = _run('--database', name).strip()
    atexit.register(_drop_quietly, name)
    for old in stale(_run('--list-databases').split()):
        drop(old)
    return url
