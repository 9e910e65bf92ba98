"""The libvirt guest XML this driver writes and reads, one class an element.

Fields are declared once, typed and in libvirt's element order (see
``xmlmodel``); ``format_dom``/``to_xml`` and ``parse_dom``/``parse_str``
both follow from the declarations. These classes describe XML only: which
devices a guest gets is decided in ``driver.py``.
"""

from nova.virt.libvirt.xmlmodel import Attr
from nova.virt.libvirt.xmlmodel import Child
from nova.virt.libvirt.xmlmodel import Children
from nova.virt.libvirt.xmlmodel import Int
from nova.virt.libvirt.xmlmodel import LibvirtConfigObject
from nova.virt.libvirt.xmlmodel import LibvirtConfigRawElement
from nova.virt.libvirt.xmlmodel import OnOff
from nova.virt.libvirt.xmlmodel import Text
from nova.virt.libvirt.xmlmodel import XMLModelError

__all__ = [
    'LibvirtConfigGuest',
    'LibvirtConfigGuestCharDeviceLog',
    'LibvirtConfigGuestCPUTune',
    'LibvirtConfigGuestConsole',
    'LibvirtConfigGuestDisk',
    'LibvirtConfigGuestSerial',
    'LibvirtConfigObject',
    'LibvirtConfigRawElement',
    'XMLModelError',
]

# Char device backends whose <source> carries a mode attribute.
_SOURCE_MODE_TYPES = ('tcp', 'unix')


class LibvirtConfigGuestCharDeviceLog(LibvirtConfigObject):
    """``<log file=... append=on|off/>``: virtlogd writes the device's output.

    ``append`` is a bool: True keeps the file across domain starts.
    """

    root_name = 'log'

    file = Attr('file')
    append = Attr('append', type=OnOff)


class LibvirtConfigGuestCharBase(LibvirtConfigObject):
    """Fields shared by ``<serial>`` and ``<console>``.

    ``type`` is the backend: ``pty``, ``file`` (``source_path``,
    ``source_append``), ``unix`` (``source_path``), ``tcp``
    (``listen_host``:``listen_port``). A tcp or
    unix source built in code listens (``mode="bind"``) and a tcp one speaks
    raw bytes, as a console needs; parsed XML keeps what it says.
    """

    type = Attr('type')
    source_mode = Attr(
        'mode', at=('source',),
        default=lambda dev: 'bind' if dev.type in _SOURCE_MODE_TYPES else None)
    source_path = Attr('path', at=('source',))
    # A ``file`` source only: True keeps what the file holds when QEMU
    # opens it (libvirt's default, off, truncates it at every start).
    source_append = Attr('append', at=('source',), type=OnOff)
    listen_host = Attr('host', at=('source',))
    listen_port = Attr('service', at=('source',), type=Int)
    protocol_type = Attr(
        'type', at=('protocol',),
        default=lambda dev: 'raw' if dev.type == 'tcp' else None)
    log = Child(LibvirtConfigGuestCharDeviceLog)
    target_type = Attr('type', at=('target',))
    target_port = Attr('port', at=('target',), type=Int)
    alias = Attr('name', at=('alias',))


class LibvirtConfigGuestSerial(LibvirtConfigGuestCharBase):
    root_name = 'serial'


class LibvirtConfigGuestConsole(LibvirtConfigGuestCharBase):
    root_name = 'console'


class LibvirtConfigGuestDisk(LibvirtConfigObject):
    """A file-backed disk: ``<disk type="file" device="disk">``."""

    root_name = 'disk'

    source_type = Attr('type', default='file')
    source_device = Attr('device', default='disk')
    driver_name = Attr('name', at=('driver',))
    driver_format = Attr('type', at=('driver',))
    source_path = Attr('file', at=('source',))
    target_dev = Attr('dev', at=('target',))
    target_bus = Attr('bus', at=('target',))


class LibvirtConfigGuestCPUTune(LibvirtConfigObject):
    """``<cputune>``: the CFS controls libvirt puts on the guest's cgroup.

    ``shares`` is a relative weight; ``period`` and ``quota`` are in
    microseconds: each vCPU thread may run ``quota`` in every ``period``
    (``quota`` -1: unlimited). libvirt needs the cpu cgroup controller
    for them (qemu.conf ``cgroup_controllers``).
    """

    root_name = 'cputune'

    shares = Text(at=('shares',), type=Int)
    period = Text(at=('period',), type=Int)
    quota = Text(at=('quota',), type=Int)


class LibvirtConfigGuest(LibvirtConfigObject):
    """``<domain>``: enough for a bootable guest and its char devices.

    ``memory`` is in KiB. Boot either a kernel directly (``os_kernel``,
    ``os_initrd``, ``os_cmdline``) or a disk (``os_boot_dev``).
    """

    root_name = 'domain'

    virt_type = Attr('type')
    name = Text(at=('name',))
    uuid = Text(at=('uuid',))
    memory = Text(at=('memory',), type=Int)
    memory_unit = Attr('unit', at=('memory',), default='KiB')
    vcpus = Text(at=('vcpu',), type=Int)
    cputune = Child(LibvirtConfigGuestCPUTune)
    os_type = Text(at=('os', 'type'))
    os_arch = Attr('arch', at=('os', 'type'))
    os_mach_type = Attr('machine', at=('os', 'type'))
    os_kernel = Text(at=('os', 'kernel'))
    os_initrd = Text(at=('os', 'initrd'))
    os_cmdline = Text(at=('os', 'cmdline'))
    os_boot_dev = Attr('dev', at=('os', 'boot'))
    on_poweroff = Text(at=('on_poweroff',))
    on_reboot = Text(at=('on_reboot',))
    on_crash = Text(at=('on_crash',))
    devices = Children(at=('devices',), classes={
        'disk': LibvirtConfigGuestDisk,
        'serial': LibvirtConfigGuestSerial,
        'console': LibvirtConfigGuestConsole,
    })

    def add_device(self, dev):
        self.devices.append(dev)

    def devices_of(self, cls):
        """The devices that are instances of ``cls``, in XML order."""
        return [dev for dev in self.devices if isinstance(dev, cls)]

    @property
    def char_devices(self):
        return self.devices_of(LibvirtConfigGuestCharBase)
