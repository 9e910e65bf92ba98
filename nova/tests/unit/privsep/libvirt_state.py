"""A stand-in for libvirtd's status files (/run/libvirt/qemu/*.xml), for
tests whose guest pty is one of os.openpty(): drain_pty reads only ptys
those files list as a running guest's."""

import os

import fixtures

from nova.privsep import console as privsep_console


def write_status(folder, name, pty, kind='pty'):
    """libvirt's status file of a running guest whose serial port (and
    console) is ``pty``, as libvirtd writes it: root's, 0600."""
    xml = ('<domstatus state="running" pid="1"><domain type="kvm">'
           '<name>%s</name><devices>'
           '<serial type="%s"><source path="%s"/></serial>'
           '<console type="%s" tty="%s"><source path="%s"/></console>'
           '</devices></domain></domstatus>'
           % (name, kind, pty, kind, pty, pty))
    path = os.path.join(folder, name + '.xml')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'wb') as f:
        f.write(xml.encode())
    os.chown(path, 0, 0)


class GuestPtys(fixtures.Fixture):
    """privsep_console.LIBVIRT_QEMU_STATE is a folder of its own, listing
    ``ptys`` as the consoles of running guests; ``add`` lists more."""

    def __init__(self, *ptys):
        super().__init__()
        self._ptys = ptys

    def _setUp(self):
        self.folder = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MockPatchObject(
            privsep_console, 'LIBVIRT_QEMU_STATE', self.folder))
        self._count = 0
        for pty in self._ptys:
            self.add(pty)

    def add(self, pty, kind='pty'):
        self._count += 1
        write_status(self.folder, 'instance-%04d' % self._count, pty, kind)
