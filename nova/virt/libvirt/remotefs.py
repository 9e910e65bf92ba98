"""Files on another compute host, over ssh: the seam every move uses.

``RemoteFilesystem(conf)`` creates and removes folders on a peer host and
copies files to and from it, with ``[libvirt] remote_filesystem_transport``:

* ``ssh``: each step is one ssh command running a short POSIX shell script
  on the peer (coreutils' ``dd``, ``mkdir``, ``mv``, ``rm``, ``find``);
* ``rsync``: the file data goes with rsync over the same ssh (its delta
  transfer and in-place temp-and-rename), the folder checks with ssh.

``host`` is the peer's migration address as compute hosts exchange it
(``[libvirt] live_migration_inbound_addr``). ssh runs with BatchMode (no
password prompt: key only), StrictHostKeyChecking=yes (an unknown or
changed host key is refused, never learnt), ConnectTimeout and
ServerAliveInterval (a dead peer costs seconds, not a hung move).

Links are never followed on either side: a local file is opened with
O_NOFOLLOW and checked to be a regular file; on the peer each folder from
the allowed root down to the target is checked not to be a symbolic link,
files are read with ``dd iflag=nofollow`` and written to a new temporary
name (``dd conv=excl``: O_EXCL never follows a link) that is then renamed
over the target (a link there is replaced, not followed); rsync is given
``--no-links --no-devices --no-specials`` and no option that follows
links. Only paths below ``[libvirt] remote_filesystem_allowed_paths``
(default: ``[DEFAULT] instances_path``) are touched on the peer, and every
path must be absolute, without ``..``, in a plain character set, so a
path can never become shell syntax on the peer (and is quoted besides).

Every failure raises RemoteFSError naming the host and the cause.
"""

import os
import re
import shlex
import stat
import uuid

from oslo_concurrency import processutils
from oslo_log import log as logging

from nova.cmd import remotefs_guard
from nova import exception

LOG = logging.getLogger(__name__)

# Plain path characters: no whitespace, quotes, globs or shell syntax.
_PATH_RE = re.compile(r'^/[A-Za-z0-9._+,=@%/-]*$')
# A host name or an IPv4/IPv6 address; never an ssh option.
_HOST_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9.:_-]*$')

# The folders remove_dir takes: an instance's, or one kept by a resize.
_INSTANCE_DIR_RE = re.compile(
    r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
    r'(_resize)?$')

# Exit codes of our remote scripts (ssh itself exits 255).
_LINK, _NOT_DIR, _NOT_FILE, _MISSING = 40, 41, 42, 43

# Every script starts with it. Defined by the peer's guard (the forced
# command of its authorized_keys), which runs only the scripts it knows,
# byte for byte: one text on both sides.
_PRELUDE = remotefs_guard.PRELUDE


class RemoteFSError(exception.NovaException):
    msg_fmt = "Remote file system %(op)s on %(host)s failed: %(reason)s"


class RemoteFilesystem(object):
    """Folders and files on a peer compute host (see the module's doc)."""

    def __init__(self, conf):
        self._conf = conf
        opts = conf.libvirt
        self.transport = opts.remote_filesystem_transport
        roots = (opts.remote_filesystem_allowed_paths or
                 [conf.instances_path])
        self._roots = [os.path.normpath(r) for r in roots if r]

    # -- public --------------------------------------------------------

    def create_dir(self, host, path):
        """Make folder ``path`` (and missing parents below the allowed
        root, each 0700) on ``host``; an existing folder is fine.

        :raises RemoteFSError: bad host or path, a link on the way, a
            file in the way, or any ssh failure.
        """
        chain = self._remote_chain(host, 'create folder', path)
        script = _PRELUDE + (
            'for d in %s; do\n'
            '    nolink "$d"\n'
            '    [ -d "$d" ] || mkdir -m 0700 -- "$d" || [ -d "$d" ]\n'
            '    nolink "$d"\n'
            'done\n' % _words(chain))
        self._ssh(host, 'create folder %s' % path, script)

    def remove_dir(self, host, path):
        """Remove folder ``path`` and all in it on ``host`` (links in it
        are removed, never followed); a missing folder is fine.

        :raises RemoteFSError: as create_dir, and a path that is not an
            instance folder right below an allowed root
            (``<root>/<uuid>`` or ``<root>/<uuid>_resize``).
        """
        chain = self._remote_chain(host, 'remove folder', path)
        if len(chain) != 2 or not _INSTANCE_DIR_RE.match(
                os.path.basename(path)):
            # Never the image cache, the snapshots, a folder inside an
            # instance's, or anything else a peer could name.
            raise RemoteFSError(
                op='remove folder', host=host, reason='%s is not an '
                'instance folder (<allowed path>/<instance uuid>, or '
                '<uuid>_resize)' % path)
        q = shlex.quote(path)
        script = _PRELUDE + (
            'nolink %s\n'
            '[ -e %s ] || exit 0\n'
            '[ -d %s ] || { echo "remotefs: %s is not a folder" >&2; '
            'exit %d; }\n'
            'rm -rf --one-file-system -- %s\n' % (
                _words(chain), q, q, q, _NOT_DIR, q))
        self._ssh(host, 'remove folder %s' % path, script)

    def copy_to(self, host, local_path, remote_path):
        """Copy a local file to the file ``remote_path`` on ``host``, or a
        local folder's regular files into the folder ``remote_path``
        (made as create_dir; subfolders, links, devices are skipped).

        :returns: the names copied (the base names).
        :raises RemoteFSError: a local path that is a link or not a file
            or folder; the causes of create_dir; disk full, permission
            denied, timeouts and refusals on the way.
        """
        op = 'copy %s (local) to %s (remote)' % (local_path, remote_path)
        self._check_local(host, op, local_path)
        chain = self._remote_chain(host, op, remote_path)
        try:
            st = os.lstat(local_path)
        except OSError as e:
            raise RemoteFSError(op=op, host=host,
                                reason='local %s: %s' % (local_path,
                                                         e.strerror))
        if stat.S_ISDIR(st.st_mode):
            names = _regular_files(local_path)
            self.create_dir(host, remote_path)
            files = [(os.path.join(local_path, n),
                      os.path.join(remote_path, n)) for n in names]
        elif stat.S_ISREG(st.st_mode):
            self._ssh(host, op, _PRELUDE + (
                'nolink %s\n[ -d %s ] || { echo "remotefs: no folder %s" '
                '>&2; exit %d; }\n[ ! -d %s ] || { echo "remotefs: %s is a '
                'folder" >&2; exit %d; }\n' % (
                    _words(chain[:-1]), shlex.quote(chain[-2]),
                    shlex.quote(chain[-2]), _MISSING,
                    shlex.quote(remote_path), shlex.quote(remote_path),
                    _NOT_FILE)))
            names = [os.path.basename(local_path)]
            files = [(local_path, remote_path)]
        else:
            raise RemoteFSError(
                op=op, host=host, reason='local %s is not a regular file or '
                'folder (a link is never followed)' % local_path)
        if self.transport == 'rsync':
            self._rsync_to(host, op, files)
        else:
            for src, dst in files:
                self._ssh_put(host, op, src, dst)
        return names

    def copy_from(self, host, remote_path, local_path):
        """Copy the file ``remote_path`` on ``host`` to the local file
        ``local_path``, or the remote folder's regular files into the
        local folder ``local_path`` (made 0700 when missing).

        :returns: the names copied.
        :raises RemoteFSError: as copy_to; a remote path that is missing,
            a link, or not a regular file or folder.
        """
        op = 'copy %s (remote) to %s (local)' % (remote_path, local_path)
        self._check_local(host, op, local_path)
        chain = self._remote_chain(host, op, remote_path)
        q = shlex.quote(remote_path)
        out = self._ssh(host, op, _PRELUDE + (
            'nolink %s\n'
            'if [ -d %s ]; then printf "dir\\0"; '
            'find %s -mindepth 1 -maxdepth 1 -type f -printf "%%m %%f\\0"\n'
            'elif [ -f %s ]; then printf "file\\0"; stat -c "%%a x" -- %s | '
            'tr "\\n" "\\0"\n'
            'else echo "remotefs: %s is missing or not a regular file or '
            'folder" >&2; exit %d; fi\n' % (
                _words(chain), q, q, q, q, q, _MISSING)))
        kind, modes = _listing(host, op, out)
        if kind == 'dir':
            self._local_dir(host, op, local_path)
            files = [(os.path.join(remote_path, n),
                      os.path.join(local_path, n), modes[n])
                     for n in sorted(modes)]
        else:
            files = [(remote_path, local_path, modes['x'])]
        if self.transport == 'rsync':
            self._rsync_from(host, op, files)
        else:
            for src, dst, mode in files:
                self._ssh_get(host, op, src, dst, mode)
        return [os.path.basename(dst) for _src, dst, _m in files]

    # -- checks --------------------------------------------------------

    def _check_host(self, host, op):
        if not host or not _HOST_RE.match(host):
            raise RemoteFSError(op=op, host=host or '(no host)',
                                reason='not a host name or address')

    def _check_local(self, host, op, path):
        if (not isinstance(path, str) or not os.path.isabs(path) or
                '..' in path.split('/') or '\0' in path):
            raise RemoteFSError(op=op, host=host, reason='local path %r is '
                                'not absolute or has ".."' % (path,))

    def _remote_chain(self, host, op, path, allow_root=False):
        """The folders from the allowed root down to ``path`` (strictly
        below the root unless ``allow_root``)."""
        self._check_host(host, op)
        if (not isinstance(path, str) or not _PATH_RE.match(path) or
                '..' in path.split('/') or os.path.normpath(path) != path):
            raise RemoteFSError(
                op=op, host=host, reason='remote path %r must be absolute, '
                'normalised, without "..", in letters, digits and '
                '._+,=@%%/-' % (path,))
        for root in self._roots:
            if allow_root and path == root:
                return [root]
            if path.startswith(root.rstrip('/') + '/'):
                chain, cur = [root], root
                for part in path[len(root):].strip('/').split('/'):
                    cur = os.path.join(cur, part)
                    chain.append(cur)
                return chain
        raise RemoteFSError(
            op=op, host=host, reason='%s is not below an allowed path (%s: '
            '[libvirt] remote_filesystem_allowed_paths)' % (
                path, ', '.join(self._roots)))

    def _local_dir(self, host, op, path):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as e:
            raise RemoteFSError(op=op, host=host, reason='local %s: %s' % (
                path, e.strerror))
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise RemoteFSError(op=op, host=host, reason='local %s is not a '
                                'folder (a link is never followed)' % path)

    # -- commands ------------------------------------------------------

    def _ssh_options(self):
        opts = self._conf.libvirt
        timeout = opts.remote_filesystem_connect_timeout
        argv = ['-T', '-a', '-x',
                '-o', 'BatchMode=yes',
                '-o', 'StrictHostKeyChecking=yes',
                '-o', 'PasswordAuthentication=no',
                '-o', 'KbdInteractiveAuthentication=no',
                '-o', 'ClearAllForwardings=yes',
                '-o', 'ConnectTimeout=%d' % timeout,
                # A silent peer is given up after about `timeout` s.
                '-o', 'ServerAliveInterval=%d' % max(1, timeout // 3),
                '-o', 'ServerAliveCountMax=3',
                '-p', '%d' % opts.remote_filesystem_ssh_port]
        if opts.remote_filesystem_ssh_user:
            argv += ['-l', opts.remote_filesystem_ssh_user]
        if opts.remote_filesystem_ssh_identity_file:
            argv += ['-i', opts.remote_filesystem_ssh_identity_file,
                     '-o', 'IdentitiesOnly=yes']
        if opts.remote_filesystem_ssh_known_hosts_file:
            argv += ['-o', 'UserKnownHostsFile=%s' %
                     opts.remote_filesystem_ssh_known_hosts_file,
                     '-o', 'GlobalKnownHostsFile=/dev/null']
        return argv

    def _run(self, host, op, argv, **kwargs):
        try:
            out, _err = processutils.execute(*argv, **kwargs)
        except processutils.ProcessExecutionError as e:
            reason, known = _reason(e.exit_code, e.stderr or '')
            err = RemoteFSError(op=op, host=host, reason=reason)
            err.cause_known = known
            raise err
        except OSError as e:
            raise RemoteFSError(op=op, host=host, reason='cannot run %s: '
                                '%s' % (argv[0], e.strerror or e))
        return out

    def _ssh(self, host, op, script, **kwargs):
        argv = ['ssh'] + self._ssh_options() + ['--', host, script]
        return self._run(host, op, argv, **kwargs)

    def _ssh_put(self, host, op, src, dst):
        try:
            fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as e:
            raise RemoteFSError(op=op, host=host, reason='local %s: %s' % (
                src, e.strerror))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise RemoteFSError(op=op, host=host, reason='local %s is '
                                    'not a regular file' % src)
            folder = os.path.dirname(dst)
            tmp = os.path.join(folder, '.%s.remotefs-%s' % (
                os.path.basename(dst), uuid.uuid4().hex[:12]))
            qt, qd = shlex.quote(tmp), shlex.quote(dst)
            script = _PRELUDE + (
                'nolink %s\n'
                't=%s\n'
                'trap \'rm -f -- "$t"\' EXIT\n'
                'dd of="$t" oflag=nofollow conv=excl,fsync bs=1M status=none\n'
                'chmod %o -- "$t"\n'
                'mv -f -T -- "$t" %s\n'
                'trap - EXIT\n' % (
                    _words(self._remote_chain(host, op, folder,
                                              allow_root=True)),
                    qt, stat.S_IMODE(st.st_mode) & 0o777, qd))
            self._ssh(host, op, script, preexec_fn=_dup_to(fd, 0),
                      binary=True)
        finally:
            os.close(fd)

    def _ssh_get(self, host, op, src, dst, mode):
        folder, name = os.path.split(dst)
        tmp = '.%s.remotefs-%s' % (name, uuid.uuid4().hex[:12])
        try:
            dir_fd = os.open(folder or '/', os.O_RDONLY | os.O_DIRECTORY |
                             os.O_NOFOLLOW)
        except OSError as e:
            raise RemoteFSError(op=op, host=host, reason='local %s: %s' % (
                folder, e.strerror))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                         os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
            done = False
            try:
                script = _PRELUDE + (
                    'nolink %s\n'
                    'exec dd if=%s iflag=nofollow bs=1M status=none\n' % (
                        _words(self._remote_chain(host, op, src)),
                        shlex.quote(src)))
                self._ssh(host, op, script, preexec_fn=_dup_to(fd, 1),
                          binary=True)
                os.fchmod(fd, mode)
                os.fsync(fd)
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                done = True
            except OSError as e:
                raise RemoteFSError(op=op, host=host, reason='local %s: %s' %
                                    (dst, e.strerror))
            finally:
                os.close(fd)
                if not done:
                    try:
                        os.unlink(tmp, dir_fd=dir_fd)
                    except OSError:
                        pass
        finally:
            os.close(dir_fd)

    def _rsync_argv(self):
        opts = self._conf.libvirt
        shell = ' '.join(shlex.quote(a) for a in
                         ['ssh'] + self._ssh_options())
        # No -a: it implies --links and --devices/--specials.
        return ['rsync', '--times', '--perms', '--chmod=ugo-st',
                '--no-links', '--no-devices', '--no-specials',
                '--no-recursive', '--protect-args', '--msgs2stderr',
                '--timeout=%d' % opts.remote_filesystem_connect_timeout,
                '-e', shell]

    def _rsync_to(self, host, op, files):
        for src, dst in files:
            st = os.lstat(src)
            if not stat.S_ISREG(st.st_mode):
                raise RemoteFSError(op=op, host=host, reason='local %s is '
                                    'not a regular file' % src)
            self._ssh(host, op, _PRELUDE + 'nolink %s\n' % _words(
                self._remote_chain(host, op, os.path.dirname(dst),
                                   allow_root=True)))
            try:
                self._run(host, op, self._rsync_argv() + [
                    '--', src, '%s:%s' % (_rsync_host(host), dst)])
            except RemoteFSError as e:
                if getattr(e, 'cause_known', True):
                    raise
                # rsync at times loses its receiver's message (a full
                # disk ends it with code 11 and nothing said): the ssh
                # copy either succeeds or says why.
                LOG.warning('%s; copying with ssh to learn why', e)
                self._ssh_put(host, op, src, dst)

    def _rsync_from(self, host, op, files):
        for src, dst, _mode in files:
            try:
                st = os.lstat(dst)
            except FileNotFoundError:
                st = None
            if st is not None and stat.S_ISDIR(st.st_mode):
                raise RemoteFSError(op=op, host=host, reason='local %s is a '
                                    'folder' % dst)
            try:
                self._run(host, op, self._rsync_argv() + [
                    '--', '%s:%s' % (_rsync_host(host), src), dst])
            except RemoteFSError as e:
                if getattr(e, 'cause_known', True):
                    raise
                LOG.warning('%s; copying with ssh to learn why', e)
                self._ssh_get(host, op, src, dst, _mode)


def _listing(host, op, out):
    """(kind, {name: mode}) from copy_from's remote listing: ``file``
    and ``<mode> x``, or ``dir`` and ``<mode> <name>`` per regular file,
    NUL-separated. Anything else (a peer not running our script as
    written) is RemoteFSError."""
    if isinstance(out, bytes):
        out = out.decode('utf-8', 'replace')
    fields = [f for f in (out or '').split('\0') if f]
    bad = RemoteFSError(op=op, host=host, reason='unexpected answer from '
                        'the peer: %r' % (out or '')[:80])
    if not fields or fields[0] not in ('dir', 'file'):
        raise bad
    kind, modes = fields[0], {}
    for entry in fields[1:]:
        mode, _sp, name = entry.partition(' ')
        if (not re.fullmatch(r'[0-7]{1,4}', mode) or not name or
                name in ('.', '..') or '/' in name or name in modes):
            raise bad
        modes[name] = int(mode, 8) & 0o777
    if kind == 'file' and list(modes) != ['x']:
        raise bad
    return kind, modes


def _words(paths):
    return ' '.join(shlex.quote(p) for p in paths)


def _rsync_host(host):
    return '[%s]' % host if ':' in host else host


def _dup_to(fd, target):
    """A preexec_fn giving the child ``fd`` as its stdin/stdout: the file
    was opened here with O_NOFOLLOW, so the child never opens a name."""
    def preexec():
        os.dup2(fd, target)
    return preexec


def _regular_files(folder):
    """Names of the regular files in ``folder`` (lstat: links, devices,
    folders are skipped with a warning)."""
    names = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_file(follow_symlinks=False):
            names.append(entry.name)
        else:
            LOG.warning('Not copying %s: not a regular file',
                        os.path.join(folder, entry.name))
    return names


# (what stderr says, the cause we report), first match wins.
_CAUSES = (
    (('host key is known for', 'No host key is known'),
     'host key unknown: the host is not in known_hosts (refused, not '
     'learnt)'),
    (('REMOTE HOST IDENTIFICATION HAS CHANGED', 'Host key verification '
      'failed', 'host key for', 'No matching host key'),
     'host key mismatch: the host\'s key is not the one in known_hosts '
     '(refused, not learnt)'),
    (('Permission denied (publickey', 'Too many authentication failures',
      'no mutual signature'), 'authentication refused (ssh key not '
     'accepted)'),
    (('Connection refused',), 'connection refused (no ssh server on that '
     'port)'),
    (('timed out', 'Timeout, server', 'Operation timed out'), 'timed out'),
    (('No route to host', 'Network is unreachable',
      'Could not resolve hostname', 'Name or service not known'),
     'host unreachable'),
    (('No space left on device', 'Disk quota exceeded'), 'disk full'),
    (('Permission denied', 'Read-only file system',
      'Operation not permitted'), 'permission denied'),
    (('kex_exchange_identification', 'Connection closed by',
      'Connection reset', 'connection unexpectedly closed'),
     'connection closed by the peer'),
)


def _reason(exit_code, stderr):
    """(what failed, whether the cause was recognised) from a command's
    exit code and stderr."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode('utf-8', 'replace')
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    detail = lines[-1] if lines else 'no message'
    for line in lines:
        if line.startswith('remotefs: '):
            return line[len('remotefs: '):], True
    for needles, cause in _CAUSES:
        for line in lines:
            if any(n in line for n in needles):
                return '%s (%s)' % (cause, line), True
    return 'exit code %s (%s)' % (exit_code, detail), False
