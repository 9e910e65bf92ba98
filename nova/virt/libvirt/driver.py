"""The libvirt compute driver: the parts the virtlogd serial console needs.

The policy lives here: which char devices a guest gets (the case chart in
``_create_consoles``), where its log goes, which tcp ports it listens on,
and how console output and the serial console are found again from the
domain's live XML.
"""

import errno
import os
import shutil

import libvirt
from oslo_log import log as logging

import nova.conf
from nova.console import serial as serial_console
from nova.console import type as ctype
from nova import exception
from nova.virt import hardware
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import console_log
from nova.virt.libvirt import host as libvirt_host

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

# virtlogd and the <log> element of char devices.
MIN_LIBVIRT_VIRTLOGD = (1, 3, 3)
MIN_QEMU_VIRTLOGD = (2, 6, 0)

# QEMU's isa-serial takes at most four devices (ttyS0..ttyS3).
QEMU_MAX_SERIAL_PORTS = 4

CONSOLE_LOG_NAME = 'console.log'
DEFAULT_KERNEL_CMDLINE = 'console=ttyS0'

# Only these virt types run QEMU, so only they get virtlogd logs (bug
# 1670522: other types were given a <log> without a usable file).
_QEMU_VIRT_TYPES = ('kvm', 'qemu')
_DEFAULT_URIS = {'kvm': 'qemu:///system', 'qemu': 'qemu:///system',
                 'lxc': 'lxc:///', 'xen': 'xen:///',
                 'parallels': 'vz:///system'}


def _message(err):
    return err.get_error_message() or str(err)


def _host_arch():
    return os.uname().machine


class LibvirtDriver:
    def __init__(self, host=None):
        if host is None:
            uri = (CONF.libvirt.connection_uri or
                   _DEFAULT_URIS[CONF.libvirt.virt_type])
            host = libvirt_host.Host(uri)
        self._host = host

    @property
    def host(self):
        return self._host

    # -- start-up -----------------------------------------------------------

    def init_host(self, host=None):
        """Re-register the serial ports of the guests this host has.

        A defined guest owns its ports until it is destroyed (a stopped one
        gets them back when it starts). Allocations live in memory; without
        this a restarted nova-compute would hand them out twice.
        """
        reserved = 0
        for dom in self._host.list_domains():
            guest = self._parse_domain(dom)
            for listen_host, port in self._tcp_listeners(guest):
                if serial_console.reserve_port(listen_host, port):
                    reserved += 1
                else:
                    LOG.warning('Serial port %s:%d of domain %s is claimed '
                                'by another domain as well',
                                listen_host, port, dom.name())
        LOG.info('Re-registered %d serial ports of existing guests', reserved)
        return reserved

    # -- host capabilities --------------------------------------------------

    def uses_virtlogd(self):
        """Whether this host's guests get their console logged by virtlogd."""
        if CONF.libvirt.virt_type not in _QEMU_VIRT_TYPES:
            return False
        return self._host.has_min_version(MIN_LIBVIRT_VIRTLOGD,
                                          MIN_QEMU_VIRTLOGD, 'QEMU')

    # -- paths ----------------------------------------------------------------

    @staticmethod
    def instance_dir(instance):
        return os.path.join(CONF.instances_path, instance.uuid)

    def console_log_path(self, instance):
        return os.path.join(self.instance_dir(instance), CONSOLE_LOG_NAME)

    # -- guest configuration ------------------------------------------------

    def _get_guest_config(self, instance, image_meta):
        """The domain for ``instance``, with serial ports acquired.

        On error every port acquired on the way is released again.
        """
        flavor = instance.flavor
        guest = vconfig.LibvirtConfigGuest(
            virt_type=CONF.libvirt.virt_type,
            name=instance.name,
            uuid=instance.uuid,
            memory=flavor.memory_mb * 1024,
            vcpus=flavor.vcpus,
            os_type='hvm',
            on_poweroff='destroy',
            on_reboot='restart',
            on_crash='destroy')
        if image_meta.kernel_path:
            guest.os_kernel = image_meta.kernel_path
            guest.os_initrd = image_meta.ramdisk_path
            guest.os_cmdline = image_meta.properties.get(
                'os_command_line', DEFAULT_KERNEL_CMDLINE)
        elif image_meta.disk_path:
            guest.os_boot_dev = 'hd'
            guest.add_device(vconfig.LibvirtConfigGuestDisk(
                driver_name='qemu', driver_format=image_meta.disk_format,
                source_path=image_meta.disk_path,
                target_dev='vda', target_bus='virtio'))
        else:
            raise exception.Invalid(
                reason='image %s has neither a disk nor a kernel to boot' %
                image_meta.id)
        try:
            self._create_consoles(guest, instance, flavor, image_meta)
        except Exception:
            self._release_serial_ports(guest)
            raise
        return guest

    def _create_consoles(self, guest, instance, flavor, image_meta):
        """Add the guest's char devices: the case chart of the docs.

        ======================  ========  ==================================
        serial_console.enabled  virtlogd  devices
        ======================  ========  ==================================
        no                      no        file (console.log) + pty
        no                      yes       pty with <log>
        yes                     no        tcp port(s) + pty
        yes                     yes       tcp port(s), the first with <log>
        ======================  ========  ==================================
        """
        if CONF.libvirt.virt_type not in _QEMU_VIRT_TYPES:
            guest.add_device(vconfig.LibvirtConfigGuestConsole(type='pty'))
            return

        arch = image_meta.properties.get('hw_architecture') or _host_arch()
        if arch == 's390x':
            # s390x has no isa-serial: its consoles are sclp devices.
            def char_device(port, **kw):
                return vconfig.LibvirtConfigGuestConsole(
                    target_type='sclp' if port == 0 else 'sclplm', **kw)
        else:
            def char_device(port, **kw):
                return vconfig.LibvirtConfigGuestSerial(target_port=port, **kw)

        log = None
        if self.uses_virtlogd():
            log = vconfig.LibvirtConfigGuestCharDeviceLog(
                file=self.console_log_path(instance), append=True)

        if not CONF.serial_console.enabled:
            if log:
                guest.add_device(char_device(0, type='pty', log=log))
            else:
                guest.add_device(char_device(
                    0, type='file', source_path=self.console_log_path(
                        instance)))
                guest.add_device(char_device(1, type='pty'))
            return

        count = hardware.get_number_of_serial_ports(flavor, image_meta)
        # Without virtlogd a pty is added so ``virsh console`` still works.
        wanted = count + (0 if log else 1)
        if wanted > QEMU_MAX_SERIAL_PORTS:
            raise exception.SerialPortNumberLimitExceeded(
                wanted=wanted, allowed=QEMU_MAX_SERIAL_PORTS,
                detail='%d tcp port(s)%s' % (
                    count, '' if log else ' + 1 pty, as virtlogd is '
                    'not usable on this host'))
        listen_host = CONF.serial_console.proxyclient_address
        for port_index in range(count):
            guest.add_device(char_device(
                port_index, type='tcp', listen_host=listen_host,
                listen_port=serial_console.acquire_port(listen_host),
                log=log if port_index == 0 else None))
        if not log:
            guest.add_device(char_device(count, type='pty'))

    @staticmethod
    def _tcp_listeners(guest):
        """(host, port) of every tcp char device that listens, deduplicated.

        libvirt mirrors the first serial port as a <console> with the same
        source; it is one port.
        """
        seen = []
        for dev in guest.char_devices:
            if (dev.type == 'tcp' and dev.source_mode == 'bind' and
                    dev.listen_port is not None):
                key = (dev.listen_host, dev.listen_port)
                if key not in seen:
                    seen.append(key)
        return seen

    def _release_serial_ports(self, guest):
        for listen_host, port in self._tcp_listeners(guest):
            serial_console.release_port(listen_host, port)

    # -- lifecycle ----------------------------------------------------------

    @staticmethod
    def _parse_domain(dom, flags=0):
        return vconfig.LibvirtConfigGuest.from_xml(dom.XMLDesc(flags))

    def spawn(self, context, instance, image_meta, network_info=None,
              block_device_info=None):
        """Define and start the guest; on failure leave nothing behind."""
        os.makedirs(self.instance_dir(instance), exist_ok=True)
        instance.image_meta = image_meta
        guest = self._get_guest_config(instance, image_meta)
        xml = guest.to_xml()
        LOG.debug('Guest XML for %s:\n%s', instance.uuid, xml)
        conn = self._host.get_connection()
        try:
            dom = conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
        except libvirt.libvirtError as e:
            self._release_serial_ports(guest)
            raise exception.InstanceBootFailed(
                instance_uuid=instance.uuid,
                reason='libvirt refused the domain: %s' % _message(e))
        try:
            dom.create()
        except libvirt.libvirtError as e:
            self._undefine(dom)
            self._release_serial_ports(guest)
            raise exception.InstanceBootFailed(
                instance_uuid=instance.uuid,
                reason='libvirt could not start it: %s' % _message(e))
        LOG.info('Spawned %s (virtlogd: %s, serial console: %s)',
                 instance.uuid, self.uses_virtlogd(),
                 CONF.serial_console.enabled)
        return guest

    @staticmethod
    def _undefine(dom):
        try:
            dom.undefineFlags(
                libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise

    def destroy(self, context, instance, network_info=None,
                block_device_info=None, destroy_disks=True):
        """Stop and undefine the guest and release its serial ports.

        ``destroy_disks=False`` keeps the instance folder, console log
        included (hard reboot, rebuild).
        """
        try:
            dom = self._host.get_domain(instance)
        except exception.InstanceNotFound:
            dom = None
        if dom is not None:
            guest = self._parse_domain(dom)
            if dom.isActive():
                try:
                    dom.destroy()
                except libvirt.libvirtError as e:
                    if e.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                        raise  # anything but "already shut off"
            self._undefine(dom)
            self._release_serial_ports(guest)
        if destroy_disks:
            shutil.rmtree(self.instance_dir(instance), ignore_errors=True)

    def reboot(self, context, instance, network_info=None,
               reboot_type='SOFT'):
        if reboot_type == 'SOFT':
            try:
                self._host.get_domain(instance).reboot(0)
                return
            except libvirt.libvirtError as e:
                LOG.warning('Soft reboot of %s failed (%s); rebooting hard',
                            instance.uuid, _message(e))
        self._hard_reboot(instance)

    def _hard_reboot(self, instance):
        """Recreate the guest from scratch with this host's capabilities.

        A guest defined on an older host gains the virtlogd log here; the
        log file is kept and appended to (append="on").
        """
        self.destroy(None, instance, destroy_disks=False)
        self.spawn(None, instance, instance.image_meta)

    def rebuild(self, context, instance, image_meta):
        """Boot ``instance`` again from ``image_meta``, keeping its log."""
        self.destroy(context, instance, destroy_disks=False)
        self.spawn(context, instance, image_meta)

    def power_off(self, instance):
        """Stop the guest; it keeps its definition and its serial ports."""
        dom = self._host.get_domain(instance)
        if dom.isActive():
            dom.destroy()

    def power_on(self, context, instance):
        self._hard_reboot(instance)

    def instance_exists(self, instance):
        try:
            self._host.get_domain(instance)
            return True
        except exception.InstanceNotFound:
            return False

    def is_running(self, instance):
        return bool(self._host.get_domain(instance).isActive())

    # -- consoles -----------------------------------------------------------

    def get_console_output(self, context, instance):
        """The newest ``MAX_CONSOLE_BYTES`` of the guest's console log."""
        guest = self._parse_domain(self._host.get_domain(instance))
        path = self._console_log_source(guest, instance)
        return console_log.read_log_tail(path)

    def _console_log_source(self, guest, instance):
        devs = guest.char_devices

        def first(match):
            return next((dev for dev in devs if match(dev)), None)

        dev = first(lambda d: d.type == 'file' and d.source_path)
        if dev:
            return dev.source_path
        dev = first(lambda d: d.log is not None and d.log.file)
        if dev:
            return dev.log.file
        dev = first(lambda d: d.type == 'pty' and d.source_path)
        if dev:
            self._drain_pty(dev.source_path, self.console_log_path(instance))
            return self.console_log_path(instance)
        if first(lambda d: d.type in ('tcp', 'pty')):
            # A guest from a host without virtlogd, or a stopped one: the
            # instance's console.log holds whatever was kept (or copied).
            return self.console_log_path(instance)
        raise exception.ConsoleNotAvailable(instance_uuid=instance.uuid)

    @staticmethod
    def _drain_pty(pty_path, log_path):
        """Append what is waiting on the guest's pty to its console.log."""
        try:
            fd = os.open(pty_path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as e:
            LOG.warning('Cannot open console pty %s: %s', pty_path,
                        e.strerror)
            return
        chunks = []
        try:
            while sum(map(len, chunks)) < console_log.MAX_CONSOLE_BYTES:
                try:
                    chunk = os.read(fd, 65536)
                except OSError as e:
                    if e.errno in (errno.EAGAIN, errno.EIO):
                        break  # nothing more waiting, or no reader side
                    raise
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        if chunks:
            with open(log_path, 'ab') as log:
                log.write(b''.join(chunks))

    def get_serial_console(self, context, instance):
        """Host and port of the guest's first tcp serial port."""
        if not CONF.serial_console.enabled:
            raise exception.ConsoleTypeUnavailable(console_type='serial')
        guest = self._parse_domain(self._host.get_domain(instance))
        listeners = self._tcp_listeners(guest)
        if not listeners:
            raise exception.ConsoleTypeUnavailable(console_type='serial')
        listen_host, port = listeners[0]
        return ctype.ConsoleSerial(host=listen_host, port=port)
