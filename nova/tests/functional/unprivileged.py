"""nova-all as the unprivileged user ``nova`` against the real stack.

``tools/setup-nova-user.sh`` (run once per test process) makes the user
``nova`` (group ``libvirt``, which may use libvirtd's socket), the privsep
helper and the sudo rule that lets ``nova`` start it. ``NovaServices``
here then runs nova-manage and nova-all with uid and gid ``nova``, no
capability, and ``[nova_console_privsep] helper_command`` set as the
deployment guide says: every read of virtlogd's root-only console log
and of QEMU's pty goes through the privsep daemon (sudo, root with
CAP_DAC_READ_SEARCH only), nothing else does. libvirtd, virtlogd and
QEMU run as root, as on the host.

The python running the tests may live under /root (0700 here: pyenv),
where ``nova`` cannot reach it. Rather than opening /root to everyone,
the services run in a mount namespace of their own whose /root is an
empty tmpfs holding, read-only, only the folder with that python.
Folders outside /root on the way to the virtualenv and the tree (tox
makes ``.tox`` 0700) get search permission for others (o+x: no listing).
"""

import os
import pwd
import stat
import subprocess
import sys

from nova.tests.functional import base
from nova.tests.functional import services

SETUP_NOVA_USER = os.path.join(base.REPO, 'tools', 'setup-nova-user.sh')
HELPER = '/usr/local/libexec/nova/privsep-helper'
USER = 'nova'

_ready = []


def _searchable_by_others(path):
    """Add o+x to each folder above ``path`` outside /root that lacks it,
    so ``nova`` can reach ``path`` (nothing becomes listable)."""
    path = os.path.abspath(path)
    while path != os.path.dirname(path):
        path = os.path.dirname(path)
        if path == '/root' or path.startswith('/root/'):
            continue
        mode = os.lstat(path).st_mode
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            os.chmod(path, stat.S_IMODE(mode) | stat.S_IXOTH)


def ensure_nova_user():
    """Run tools/setup-nova-user.sh once per test process."""
    if not _ready:
        base.run_tool(SETUP_NOVA_USER, '--python', sys.executable)
        for path in (sys.executable, os.path.join(base.REPO, 'nova')):
            _searchable_by_others(path)
        _ready.append(True)
    return pwd.getpwnam(USER)


def _as_nova(argv):
    """``argv`` run as user nova, in a mount namespace where the python
    is reachable (see the module docstring)."""
    real = os.path.realpath(sys.executable)
    script = []
    if real.startswith('/root/'):
        top = '/root/' + real.split('/')[2]
        script += [
            'stage=$(mktemp -d)',
            'mount --bind -o ro "%s" "$stage"' % top,
            'mount -t tmpfs -o mode=0755,size=1m tmpfs /root',
            'mkdir "%s"' % top,
            'mount --move "$stage" "%s"' % top,
        ]
    script.append('exec setpriv --reuid=%s --regid=%s --init-groups '
                  '--inh-caps=-all env HOME=/var/lib/nova "$@"'
                  % (USER, USER))
    return (['unshare', '--mount', '--propagation', 'private', 'sh', '-ec',
             ' && '.join(script), 'as-nova'] + list(argv))


class NovaServices(services.NovaServices):
    """services.NovaServices, its processes run as user ``nova``."""

    def __init__(self, *args, **kw):
        self.user = ensure_nova_user()
        extra = dict(kw.pop('extra_conf', None) or {})
        extra.setdefault('nova_console_privsep', {})[
            'helper_command'] = 'sudo %s' % HELPER
        super().__init__(*args, extra_conf=extra, **kw)
        # Its folder (config, database, log, instances) is nova's.
        for root, dirs, files in os.walk(self.workdir):
            for name in [root] + [os.path.join(root, n) for n in files]:
                os.chown(name, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.workdir, 0o700)

    def _command(self, name, *args):
        return _as_nova(super()._command(name, *args))

    def uid_of_nova_all(self):
        with open('/proc/%d/status' % self.process.pid) as f:
            for line in f:
                if line.startswith('Uid:'):
                    return [int(n) for n in line.split()[1:]]


def run_as_nova(argv):
    """CompletedProcess of ``argv`` run as nova (text, output captured)."""
    return subprocess.run(_as_nova(argv), capture_output=True, text=True)
