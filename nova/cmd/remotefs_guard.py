"""nova-remotefs-guard: the sshd forced command of a compute host's key.

A compute host copies console logs and disks to its peers with
``nova.virt.libvirt.remotefs``, as ssh commands that run one of a few
short shell scripts. Installed as the forced command of the peers' keys
in ``authorized_keys``::

    restrict,from="<peers>",command="nova-remotefs-guard
        --allowed-path /var/lib/nova/instances" ssh-ed25519 AAAA...

sshd then runs this instead of what the client asked for, with the
client's command in ``SSH_ORIGINAL_COMMAND``. It runs that command only
when it is, byte for byte, one of the scripts remotefs sends, with every
path in it plain (``/`` then letters, digits and ``._+,=@%/-``),
normalised, and strictly below an ``--allowed-path`` (the peer's
``[libvirt] remote_filesystem_allowed_paths``), each folder chain
starting at that root. Anything else (a shell, another command, another
path, a login without a command) is refused: a message on stderr that
remotefs reports ("remotefs: refused by nova-remotefs-guard: ..."), exit
code 44, nothing run. So a compromised compute host can do on its peers
what remotefs itself does (write, read and remove files in instance
folders), not run commands as their ssh user.

``--allow-rsync`` also lets ``rsync --server`` through, for
``[libvirt] remote_filesystem_transport = rsync``: rsync's arguments
(paths and options) then travel inside its own protocol, out of this
guard's sight, so that transport is NOT confined.

Standard library only: it starts for every ssh command.
"""

import argparse
import os
import re
import sys

REFUSED = 44
MAX_COMMAND = 64 * 1024

_PATH = r'/[A-Za-z0-9._+,=@%/-]*'
_TOKENS = {'C': r'%s(?: %s)*' % (_PATH, _PATH), 'P': _PATH, 'F': _PATH,
           'T': _PATH, 'M': r'[0-7]{1,3}'}
_UUID_DIR = re.compile(
    r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
    r'(_resize)?')
_TMP_SUFFIX = re.compile(r'\.remotefs-[0-9a-f]{12}')

# The prelude of every script remotefs sends (remotefs imports it), then
# each script, with {C} a folder
# chain (root first), {P} the target, {F} its folder, {T} a temporary
# file, {M} an octal mode. Kept equal to remotefs by a unit test that
# feeds every script remotefs writes through this guard.
PRELUDE = r'''set -e
umask 077
nolink() {
    for d in "$@"; do
        if [ -L "$d" ]; then
            echo "remotefs: $d is a symbolic link: refused" >&2; exit 40
        fi
    done
}
'''
SCRIPTS = {
    'create_dir': (
        'for d in {C}; do\n'
        '    nolink "$d"\n'
        '    [ -d "$d" ] || mkdir -m 0700 -- "$d" || [ -d "$d" ]\n'
        '    nolink "$d"\n'
        'done\n'),
    'remove_dir': (
        'nolink {C}\n'
        '[ -e {P} ] || exit 0\n'
        '[ -d {P} ] || { echo "remotefs: {P} is not a folder" >&2; '
        'exit 41; }\n'
        'rm -rf --one-file-system -- {P}\n'),
    'check_target': (
        'nolink {C}\n[ -d {F} ] || { echo "remotefs: no folder {F}" '
        '>&2; exit 43; }\n[ ! -d {P} ] || { echo "remotefs: {P} is a '
        'folder" >&2; exit 42; }\n'),
    'list': (
        'nolink {C}\n'
        'if [ -d {P} ]; then printf "dir\\0"; '
        'find {P} -mindepth 1 -maxdepth 1 -type f -printf "%m %f\\0"\n'
        'elif [ -f {P} ]; then printf "file\\0"; stat -c "%a x" -- {P} | '
        'tr "\\n" "\\0"\n'
        'else echo "remotefs: {P} is missing or not a regular file or '
        'folder" >&2; exit 43; fi\n'),
    'put': (
        'nolink {C}\n'
        't={T}\n'
        'trap \'rm -f -- "$t"\' EXIT\n'
        'dd of="$t" oflag=nofollow conv=excl,fsync bs=1M status=none\n'
        'chmod {M} -- "$t"\n'
        'mv -f -T -- "$t" {P}\n'
        'trap - EXIT\n'),
    'get': (
        'nolink {C}\n'
        'exec dd if={P} iflag=nofollow bs=1M status=none\n'),
    'check_chain': 'nolink {C}\n',
}


class Refused(Exception):
    pass


def _pattern(template):
    out, seen = [], set()
    parts = re.split(r'\{([A-Z])\}', template)
    for literal, token in zip(parts[::2], parts[1::2] + ['']):
        out.append(re.escape(literal))
        if not token:
            continue
        if token in seen:
            out.append('(?P=%s)' % token)
        else:
            seen.add(token)
            out.append('(?P<%s>%s)' % (token, _TOKENS[token]))
    return re.compile(re.escape(PRELUDE) + ''.join(out))


_PATTERNS = {name: _pattern(t) for name, t in SCRIPTS.items()}


def _plain(path):
    return os.path.normpath(path) == path and '..' not in path.split('/')


def _chain(text, roots):
    """The folders of ``{C}``: a root, then one name deeper each."""
    chain = text.split(' ')
    if chain[0] not in roots:
        raise Refused('%s is not an allowed path' % chain[0])
    for parent, child in zip(chain, chain[1:]):
        if (not _plain(child) or os.path.dirname(child) != parent or
                child == parent):
            raise Refused('%s does not follow %s' % (child, parent))
    return chain


def check(command, roots, allow_rsync=False):
    """The argv to exec for ``command``; Refused (why) if it is not one
    remotefs sends within ``roots``."""
    if command is None:
        raise Refused('a login without a command')
    if len(command) > MAX_COMMAND or '\0' in command:
        raise Refused('a command too long or with a NUL byte')
    if command == 'true':  # a login probe
        return ['true']
    if allow_rsync and re.fullmatch(
            r'rsync --server (--sender )?-[A-Za-z.]+', command):
        return command.split(' ')
    for name, pattern in _PATTERNS.items():
        m = pattern.fullmatch(command)
        if m:
            break
    else:
        raise Refused('not a command of nova\'s remote file system')
    chain = _chain(m.group('C'), roots)
    target = m.groupdict().get('P')
    if target is not None and not _plain(target):
        raise Refused('%s is not a normalised path' % target)
    if name in ('create_dir', 'list', 'get', 'remove_dir'):
        if len(chain) < 2:
            raise Refused('%s is an allowed path itself' % chain[-1])
        if target is not None and target != chain[-1]:
            raise Refused('%s is not the end of its folder chain' % target)
    if name == 'remove_dir' and (len(chain) != 2 or
                                 not _UUID_DIR.fullmatch(
                                     os.path.basename(target))):
        raise Refused('%s is not an instance folder' % target)
    if name == 'check_target' and (m.group('F') != chain[-1] or
                                   os.path.dirname(target) != chain[-1]):
        raise Refused('%s is not in folder %s' % (target, chain[-1]))
    if name == 'put':
        tmp = m.group('T')
        if (os.path.dirname(target) != chain[-1] or
                os.path.dirname(tmp) != chain[-1] or
                not os.path.basename(tmp).startswith(
                    '.' + os.path.basename(target)) or
                not _TMP_SUFFIX.fullmatch(os.path.basename(tmp)[
                    len(os.path.basename(target)) + 1:])):
            raise Refused('%s or %s is not in folder %s' % (
                target, tmp, chain[-1]))
    return ['/bin/sh', '-c', command]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='nova-remotefs-guard',
        description='sshd forced command: run only the commands of '
        'nova\'s remote file system, below the allowed paths.')
    parser.add_argument('--allowed-path', action='append', required=True,
                        help='a folder remotefs may act below (repeat); '
                        'as [libvirt] remote_filesystem_allowed_paths')
    parser.add_argument('--allow-rsync', action='store_true',
                        help='also run "rsync --server" (NOT confined)')
    args = parser.parse_args(argv)
    roots = set()
    for root in args.allowed_path:
        if not root.startswith('/') or not _plain(root) or root == '/':
            parser.error('--allowed-path %r: an absolute, normalised '
                         'folder other than /' % root)
        roots.add(root)
    command = os.environ.get('SSH_ORIGINAL_COMMAND')
    try:
        exec_argv = check(command, roots, args.allow_rsync)
    except Refused as e:
        sys.stderr.write('remotefs: refused by nova-remotefs-guard: %s\n'
                         % e)
        return REFUSED
    os.execvp(exec_argv[0], exec_argv)


if __name__ == '__main__':
    sys.exit(main())
