"""The libvirt compute driver: the parts the virtlogd serial console needs.

The policy lives here: which char devices a guest gets (the case chart in
``_create_consoles``), where its log goes, which tcp ports it listens on,
and how console output and the serial console are found again from the
domain's live XML.
"""

import errno
import os
import shutil
import time

import libvirt
from oslo_concurrency import processutils
from oslo_log import log as logging

import nova.conf
from nova.console import serial as serial_console
from nova.console import type as ctype
from nova import exception
from nova.virt import hardware
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import console_log
from nova.virt.libvirt import host as libvirt_host
from nova.virt.libvirt import instance_files
from nova.virt.libvirt import log_transfer
from nova.virt.libvirt import migration

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

# virtlogd and the <log> element of char devices.
MIN_LIBVIRT_VIRTLOGD = (1, 3, 3)
MIN_QEMU_VIRTLOGD = (2, 6, 0)

# QEMU's isa-serial takes at most four devices (ttyS0..ttyS3).
QEMU_MAX_SERIAL_PORTS = 4

CONSOLE_LOG_NAME = 'console.log'
MIB = 1024 * 1024
DISK_NAME = 'disk'
DEFAULT_KERNEL_CMDLINE = 'console=ttyS0'

LIVE_MIGRATION_FLAGS = (libvirt.VIR_MIGRATE_LIVE |
                        libvirt.VIR_MIGRATE_PEER2PEER |
                        libvirt.VIR_MIGRATE_PERSIST_DEST |
                        libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)

# Only these virt types run QEMU, so only they get virtlogd logs (bug
# 1670522: other types were given a <log> without a usable file).
_QEMU_VIRT_TYPES = ('kvm', 'qemu')
_DEFAULT_URIS = {'kvm': 'qemu:///system', 'qemu': 'qemu:///system',
                 'lxc': 'lxc:///', 'xen': 'xen:///',
                 'parallels': 'vz:///system'}


def _message(err):
    return err.get_error_message() or str(err)


def _uri_host(addr):
    return '[%s]' % addr if ':' in addr else addr


def _vcpus(dom, stats):
    """A running guest's vCPUs, from its bulk stats (asking the guest
    only when the hypervisor gave none, as libvirt's test driver)."""
    current = stats.get('vcpu.current')
    return dom.info()[3] if current is None else current


def _host_arch():
    return os.uname().machine


class LibvirtDriver:
    """The driver of one compute host.

    ``conf`` defaults to the process's ``CONF``; a separate one (see
    ``nova.conf.new_conf``) lets one process drive several hosts.
    """

    def __init__(self, host=None, conf=None):
        self._conf = conf or CONF
        if host is None:
            uri = (self._conf.libvirt.connection_uri or
                   _DEFAULT_URIS[self._conf.libvirt.virt_type])
            host = libvirt_host.Host(uri)
        self._host = host

    @property
    def host(self):
        return self._host

    @property
    def host_name(self):
        return self._conf.host

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
        if self._conf.libvirt.virt_type not in _QEMU_VIRT_TYPES:
            return False
        return self._host.has_min_version(MIN_LIBVIRT_VIRTLOGD,
                                          MIN_QEMU_VIRTLOGD, 'QEMU')

    def console_log_mode(self):
        """How guests here get their console logged: 'virtlogd', 'file'
        (QEMU writes it, never rotated) or 'none' (the tcp console only)."""
        if self.uses_virtlogd():
            return 'virtlogd'
        return 'none' if self._conf.serial_console.enabled else 'file'

    def get_host_report(self):
        """This host's facts for the API: capacity, ports, version gate."""
        conn = self._host.get_connection()
        _model, memory_mb, cpus = conn.getInfo()[:3]
        # One call for all guests: a report every few seconds must not
        # cost a round trip per guest on a host with hundreds of them.
        stats = conn.getAllDomainStats(
            libvirt.VIR_DOMAIN_STATS_VCPU,
            libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
        serial = self._conf.serial_console
        start, end = serial.port_range
        addr = serial.proxyclient_address
        return {
            'hypervisor_hostname': conn.getHostname(),
            'hypervisor_type': 'QEMU',
            'hypervisor_version': libvirt_host.version_to_int(
                self._host.get_hv_version()),
            'libvirt_version': '%d.%d.%d' % self._host.get_lib_version(),
            'qemu_version': '%d.%d.%d' % self._host.get_hv_version(),
            'virtlogd': self.uses_virtlogd(),
            'console_log': self.console_log_mode(),
            'host_ip': (self._conf.libvirt.live_migration_inbound_addr or
                        addr),
            'vcpus': cpus,
            'vcpus_used': sum(_vcpus(dom, values) for dom, values in stats),
            'memory_mb': memory_mb,
            'memory_mb_free': conn.getFreeMemory() // MIB,
            'running_vms': len(stats),
            'serial_console_enabled': bool(serial.enabled),
            'serial_ports_total': end - start + 1,
            'serial_ports_free': (end - start + 1 -
                                  serial_console.count_allocated(
                                      addr, (start, end))),
        }

    # -- paths ----------------------------------------------------------------

    def instance_dir(self, instance):
        return os.path.join(self._conf.instances_path, instance.uuid)

    def console_log_path(self, instance):
        return os.path.join(self.instance_dir(instance), CONSOLE_LOG_NAME)

    def disk_path(self, instance):
        return os.path.join(self.instance_dir(instance), DISK_NAME)

    def _create_disk(self, instance, image_meta):
        """The server's own disk: a copy-on-write overlay of the image.

        Servers never write into the image itself. An existing disk is
        kept (hard reboot); rebuild removes it first.
        """
        path = self.disk_path(instance)
        if os.path.exists(path):
            return
        try:
            processutils.execute(
                'qemu-img', 'create', '-f', 'qcow2', '-F',
                image_meta.disk_format, '-b', image_meta.disk_path, path)
        except (processutils.ProcessExecutionError, OSError) as e:
            raise exception.InstanceBootFailed(
                instance_uuid=instance.uuid,
                reason='cannot create its disk from %s: %s' % (
                    image_meta.disk_path,
                    (getattr(e, 'stderr', '') or str(e)).strip()))

    # -- guest configuration ------------------------------------------------

    def _get_guest_config(self, instance, image_meta):
        """The domain for ``instance``, with serial ports acquired.

        On error every port acquired on the way is released again.
        """
        flavor = instance.flavor
        guest = vconfig.LibvirtConfigGuest(
            virt_type=self._conf.libvirt.virt_type,
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
                driver_name='qemu', driver_format='qcow2',
                source_path=self.disk_path(instance),
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
        if self._conf.libvirt.virt_type not in _QEMU_VIRT_TYPES:
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

        if not self._conf.serial_console.enabled:
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
        listen_host = self._conf.serial_console.proxyclient_address
        for port_index in range(count):
            guest.add_device(char_device(
                port_index, type='tcp', listen_host=listen_host,
                listen_port=self._acquire_port(listen_host),
                log=log if port_index == 0 else None))
        if not log:
            guest.add_device(char_device(count, type='pty'))

    def _acquire_port(self, listen_host):
        return serial_console.acquire_port(
            listen_host, self._conf.serial_console.port_range)

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
        """Define and start the guest; on failure leave nothing behind.

        Every start goes through here (hard reboot, rebuild, power on):
        the instance folder and its log files are checked first, and a
        planted link raises InstanceFileUnsafe before virtlogd or QEMU
        could open it.
        """
        instance_files.prepare_dir(self.instance_dir(instance))
        instance.image_meta = image_meta
        guest = self._get_guest_config(instance, image_meta)
        if image_meta.disk_path and not image_meta.kernel_path:
            try:
                self._create_disk(instance, image_meta)
            except exception.InstanceBootFailed:
                self._release_serial_ports(guest)
                raise
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
        LOG.info('Spawned %s (console log by virtlogd: %s, tcp serial '
                 'ports: %d)', instance.uuid,
                 any(dev.log is not None for dev in guest.char_devices),
                 len(self._tcp_listeners(guest)))
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
        log file is kept and appended to (append="on"). A planted file
        refuses the reboot before the running guest is touched.
        """
        instance_files.prepare_dir(self.instance_dir(instance))
        self.destroy(None, instance, destroy_disks=False)
        self.spawn(None, instance, instance.image_meta)

    def rebuild(self, context, instance, image_meta):
        """Boot ``instance`` again from ``image_meta``, keeping its log.

        The old disk goes: a rebuild starts from the new image.
        """
        instance_files.prepare_dir(self.instance_dir(instance))
        self.destroy(context, instance, destroy_disks=False)
        if os.path.exists(self.disk_path(instance)):
            os.unlink(self.disk_path(instance))
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
        """Append what is waiting on the guest's pty to its console.log.

        The log is opened first (0600, never through a link: see
        instance_files.open_append) so nothing is drained from the pty
        that could not be kept.
        """
        log_fd = instance_files.open_append(log_path)
        with os.fdopen(log_fd, 'ab') as log:
            try:
                fd = os.open(pty_path,
                             os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
            except OSError as e:
                LOG.warning('Cannot open console pty %s: %s', pty_path,
                            e.strerror)
                return
            chunks = []
            try:
                while (sum(map(len, chunks)) <
                       console_log.MAX_CONSOLE_BYTES):
                    try:
                        chunk = os.read(fd, 65536)
                    except OSError as e:
                        if e.errno in (errno.EAGAIN, errno.EIO):
                            break  # nothing more waiting, or no reader
                        raise
                    if not chunk:
                        break
                    chunks.append(chunk)
            finally:
                os.close(fd)
            log.write(b''.join(chunks))

    def get_serial_console(self, context, instance):
        """Host and port of the guest's first tcp serial port."""
        if not self._conf.serial_console.enabled:
            raise exception.ConsoleTypeUnavailable(console_type='serial')
        guest = self._parse_domain(self._host.get_domain(instance))
        listeners = self._tcp_listeners(guest)
        if not listeners:
            raise exception.ConsoleTypeUnavailable(console_type='serial')
        listen_host, port = listeners[0]
        return ctype.ConsoleSerial(host=listen_host, port=port)

    # -- live migration -----------------------------------------------------
    # The calls, in order: check_can_live_migrate_destination (destination),
    # check_can_live_migrate_source (source), pre_live_migration
    # (destination), live_migration (source), then
    # post_live_migration_at_destination or, on failure,
    # rollback_live_migration_at_destination.

    def check_can_live_migrate_destination(self, context, instance):
        """What the source must know about this destination host."""
        conf = self._conf
        max_size, max_backups = libvirt_host.read_virtlogd_limits(
            conf.libvirt.virtlogd_conf)
        inbound = conf.libvirt.live_migration_inbound_addr
        connect_uri = conf.libvirt.live_migration_connect_uri
        if not connect_uri and inbound:
            connect_uri = 'qemu+tcp://%s/system' % _uri_host(inbound)
        return migration.LibvirtLiveMigrateData(
            serial_listen_addr=(conf.serial_console.proxyclient_address
                                if conf.serial_console.enabled else None),
            supports_virtlogd=self.uses_virtlogd(),
            instance_dir=self.instance_dir(instance),
            inbound_addr=inbound,
            connect_uri=connect_uri,
            virtlogd_max_size=max_size,
            virtlogd_max_backups=max_backups)

    def check_can_live_migrate_source(self, context, instance, migrate_data):
        """Refuse, before anything moves, what cannot work; count ports."""
        guest = self._parse_domain(self._host.get_domain(instance))
        if os.path.exists(self.disk_path(instance)):
            # Its overlay lives in this host's instance folder; copying
            # it (block migration) is not implemented, and without the
            # copy the guest would lose its disk.
            raise exception.MigrationPreCheckError(
                reason='server %s has a local disk, and block migration '
                       'of local disks is not supported; only servers '
                       'booted from a kernel image can move' %
                       instance.uuid)
        migration.check_serial_addr(guest, migrate_data)
        migrate_data.serial_port_count = migration.serial_port_count(guest)
        return migrate_data

    def pre_live_migration(self, context, instance, migrate_data):
        """Make room for the guest here: instance folder, serial ports."""
        inst_dir = self.instance_dir(instance)
        if (os.path.isdir(inst_dir) and not os.path.islink(inst_dir) and
                os.listdir(inst_dir)):
            # Left from an earlier stay whose log could not be copied away:
            # keep it for the operator, out of the way of the new log.
            aside = '%s.orphaned-%d' % (inst_dir, time.time())
            LOG.warning('Instance folder %s of %s already exists here; '
                        'moved to %s', inst_dir, instance.uuid, aside)
            os.rename(inst_dir, aside)
        # The guest's virtlogd opens its log here as soon as it arrives.
        instance_files.prepare_dir(inst_dir)
        addr = migrate_data.serial_listen_addr
        ports = []
        try:
            for _ in range(migrate_data.serial_port_count):
                ports.append(self._acquire_port(addr))
        except Exception:
            for port in ports:
                serial_console.release_port(addr, port)
            raise
        migrate_data.serial_listen_ports = ports
        return migrate_data

    def live_migration(self, context, instance, dest_uri, migrate_data):
        """Move the running guest to the destination, then its log.

        On failure the guest keeps running here, untouched, and
        MigrationError is raised; the caller rolls the destination back.
        """
        dom = self._host.get_domain(instance)
        src_guest = self._parse_domain(dom)
        dest_xml = migration.update_guest_xml(
            dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE), migrate_data,
            self.instance_dir(instance))
        params = {libvirt.VIR_MIGRATE_PARAM_DEST_XML: dest_xml,
                  libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: dest_xml}
        if migrate_data.inbound_addr:
            # Memory goes to, and the incoming QEMU listens on, that
            # address only: not whatever the destination's hostname means.
            params[libvirt.VIR_MIGRATE_PARAM_URI] = (
                'tcp://%s' % _uri_host(migrate_data.inbound_addr))
            params[libvirt.VIR_MIGRATE_PARAM_LISTEN_ADDRESS] = (
                migrate_data.inbound_addr)
        LOG.info('Live migrating %s to %s', instance.uuid, dest_uri)
        try:
            dom.migrateToURI3(dest_uri, params, LIVE_MIGRATION_FLAGS)
        except libvirt.libvirtError as e:
            raise exception.MigrationError(
                reason='libvirt could not migrate %s: %s' % (
                    instance.uuid, _message(e)))
        self._release_serial_ports(src_guest)
        if self._carry_console_log(instance, migrate_data, dest_xml):
            shutil.rmtree(self.instance_dir(instance), ignore_errors=True)

    def _carry_console_log(self, instance, migrate_data, dest_xml):
        """Copy the log to the destination; never raise.

        Returns True when nothing of the log is left only here.
        """
        log_path = self.console_log_path(instance)
        if not log_transfer.log_chain_exists(log_path):
            return True
        if self._conf.libvirt.console_log_transfer == 'none':
            LOG.info('Console log of %s stays on this host '
                     '([libvirt] console_log_transfer = none)', instance.uuid)
            return False
        if not migrate_data.inbound_addr:
            LOG.warning('Console log of %s not copied: the destination has '
                        'no [libvirt] live_migration_inbound_addr; it stays '
                        'in %s', instance.uuid, self.instance_dir(instance))
            return False
        dest_guest = vconfig.LibvirtConfigGuest.from_xml(dest_xml)
        dest_log = os.path.join(migrate_data.instance_dir,
                                CONSOLE_LOG_NAME)
        try:
            sent = log_transfer.copy_console_log(
                instance.uuid, log_path, migrate_data.inbound_addr,
                as_backups=migration.writes_file(dest_guest, dest_log),
                max_size=migrate_data.virtlogd_max_size,
                max_backups=migrate_data.virtlogd_max_backups,
                conf=self._conf)
        except Exception as e:  # a lost copy must never fail a migration
            LOG.warning('Console log of %s was not copied to %s: %s; it '
                        'stays in %s', instance.uuid,
                        migrate_data.inbound_addr,
                        getattr(e, 'kwargs', {}).get('reason') or e,
                        self.instance_dir(instance))
            return False
        LOG.info('Copied console log of %s to %s: %s', instance.uuid,
                 migrate_data.inbound_addr, ', '.join(sent))
        return True

    def post_live_migration_at_destination(self, context, instance,
                                           migrate_data):
        """Keep only the serial ports the arrived guest really listens on."""
        guest = self._parse_domain(self._host.get_domain(instance))
        used = set(self._tcp_listeners(guest))
        addr = migrate_data.serial_listen_addr
        for port in migrate_data.serial_listen_ports:
            if (addr, port) not in used:
                serial_console.release_port(addr, port)

    def rollback_live_migration_at_destination(self, context, instance,
                                               migrate_data):
        """Undo pre_live_migration after a failed migration."""
        for port in migrate_data.serial_listen_ports:
            serial_console.release_port(migrate_data.serial_listen_addr, port)
        if not self.instance_exists(instance):
            shutil.rmtree(self.instance_dir(instance), ignore_errors=True)
