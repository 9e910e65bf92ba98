"""The instance folder and its files, checked before anything uses them.

An instance folder is written by others than this service: virtlogd and
QEMU (as root) and, after a live migration, a log copy from another host.
A name in it that is a symlink, a hard link, a fifo or a device would make
virtlogd append the guest's console to a host file, or make the console
reader return a host file's bytes. So:

* the folder is created 0700 and, before every domain start, must be a
  real directory (not a link) owned by this service's user and writable
  by nobody else; the folder holding it (``instances_path``) must not be
  writable by group or others either, or someone could swap the whole
  folder;
* every console log file (``console.log``, ``console.log.N``) and the
  disk overlay must be a regular file with one name, or absent;
* files this service writes itself are opened with O_NOFOLLOW, created
  0600 and checked with fstat();
* every read or write of a file in the folder (console output, the pty
  drain, the log copy of a live migration) first opens the folder itself
  with open_dir(): O_DIRECTORY | O_NOFOLLOW, then the checks above on
  fstat() of that descriptor, and then looks at the files relative to it
  (``dir_fd=``). A folder replaced by a link to another directory is
  refused, not followed, even between two starts.

Anything else raises InstanceFileUnsafe naming the path (never what a link
points to) and logs a warning; the domain is not started.
"""

import errno
import os
import re
import stat

from nova.virt.libvirt import console_log

DIR_MODE = 0o700
FILE_MODE = 0o600

# Files of the folder that virtlogd or QEMU open by name.
_CHECKED = re.compile(r'^(console\.log(\.\d+)?|disk)$')


def _dir_problem(st, what, owner):
    if stat.S_ISLNK(st.st_mode):
        return '%s is a symbolic link; not following it' % what
    if not stat.S_ISDIR(st.st_mode):
        return '%s is not a directory' % what
    if st.st_uid != owner:
        return '%s is owned by uid %d, not by this service (uid %d)' % (
            what, st.st_uid, owner)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return '%s is writable by group or others (mode %04o)' % (
            what, stat.S_IMODE(st.st_mode))
    return None


def open_dir(path, owner=None):
    """A descriptor of the instance folder ``path``, for looking at its
    files with ``dir_fd=``. Close it.

    ``owner``: the uid both folders must belong to, by default this
    process's own; the privsep daemon (nova.privsep), which runs as
    root, passes the uid of the nova-compute that asked.

    The instances folder (``path``'s parent, the operator's
    ``instances_path``) may be a link the operator made, so it is
    followed; but it is opened and checked with fstat() (owned by us,
    writable by nobody else) and the instance folder is opened relative
    to that descriptor, so nothing can be swapped in between.

    :raises nova.exception.InstanceFileUnsafe: naming the folder (or the
        instances folder) when it is a link, not a directory, owned by
        another user or writable by group or others.
    :raises FileNotFoundError: if it does not exist.
    """
    if owner is None:
        owner = os.geteuid()
    parent = os.path.dirname(os.path.abspath(path))
    parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        problem = _dir_problem(os.fstat(parent_fd), 'the instances folder',
                               owner)
        if problem:
            console_log.refuse(parent, problem)
        try:
            fd = os.open(os.path.basename(path),
                         os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW |
                         os.O_CLOEXEC, dir_fd=parent_fd)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                # Say which of the two it is.
                st = os.lstat(os.path.basename(path), dir_fd=parent_fd)
                console_log.refuse(path, _dir_problem(
                    st, 'the instance folder', owner))
            raise
    finally:
        os.close(parent_fd)
    try:
        problem = _dir_problem(os.fstat(fd), 'the instance folder',
                               owner)
        if problem:
            console_log.refuse(path, problem)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_files(path):
    """Refuse the folder if it is unsafe (see open_dir) or a log file or
    the disk in it is not a plain file.

    :raises nova.exception.InstanceFileUnsafe: naming the folder or the
        first bad file.
    """
    fd = open_dir(path)
    try:
        for name in sorted(os.listdir(fd)):
            if not _CHECKED.match(name):
                continue
            try:
                st = os.lstat(name, dir_fd=fd)
            except FileNotFoundError:
                continue
            reason = console_log.describe_unsafe(st)
            if reason:
                console_log.refuse(os.path.join(path, name), reason)
    finally:
        os.close(fd)


def prepare_dir(path):
    """Create the instance folder 0700 if missing, then check it and its
    files: call before every domain start (spawn, hard reboot, rebuild,
    power on) and before a guest arrives by live migration.

    :raises nova.exception.InstanceFileUnsafe: see check_files.
    """
    # Not writable by others even under a loose umask: see open_dir.
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o755,
                exist_ok=True)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        pass
    # open_dir (in check_files) checks the folder itself too.
    check_files(path)


def open_append(path):
    """A descriptor appending to ``path``, created 0600 if missing.

    :raises nova.exception.InstanceFileUnsafe: if ``path`` is a symlink,
        a hard link or not a regular file, or its folder is unsafe (see
        open_dir).
    :raises OSError: for any other failure to open it.
    """
    dir_fd = open_dir(os.path.dirname(os.path.abspath(path)))
    try:
        return _open_append(path, dir_fd)
    finally:
        os.close(dir_fd)


def _open_append(path, dir_fd):
    name = os.path.basename(path)
    try:
        # A fifo without a reader would fail open() with ENXIO: say what
        # it is instead.
        reason = console_log.describe_unsafe(os.lstat(name, dir_fd=dir_fd))
    except FileNotFoundError:
        reason = None
    if reason:
        console_log.refuse(path, reason)
    flags = (os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW |
             os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fd = os.open(name, flags, FILE_MODE, dir_fd=dir_fd)
    except OSError as e:
        if e.errno == errno.ELOOP:
            console_log.refuse(path, 'a symbolic link; not following it')
        raise
    try:
        st = os.fstat(fd)
        reason = console_log.describe_unsafe(st)
        if reason:
            console_log.refuse(path, reason)
        if stat.S_IMODE(st.st_mode) != FILE_MODE:
            # Written 0644 by earlier versions: tighten it.
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd
