"""The libvirt compute driver: the parts the virtlogd serial console needs.

The policy lives here: which char devices a guest gets (the case chart in
``_create_consoles``), where its log goes, which tcp ports it listens on,
and how console output and the serial console are found again from the
domain's live XML.
"""

import contextlib
import os
import shutil
import threading
import time

import libvirt
from lxml import etree
from oslo_concurrency import processutils
from oslo_log import log as logging

import nova.conf
from nova.console import type as ctype
from nova import exception
from nova import image as image_api
from nova.objects import instance as objects
from nova.objects import migrate_data
from nova.privsep import console as privsep_console
from nova.virt import arch as arch_names
from nova.virt import driver
from nova.virt import hardware
from nova.virt import images
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import console_follow
from nova.virt.libvirt import console_log
from nova.virt.libvirt import host as libvirt_host
from nova.virt.libvirt import disk_check
from nova.virt.libvirt import instance_files
from nova.virt.libvirt import log_transfer
from nova.virt.libvirt import migration
from nova.virt.libvirt import port_table
from nova.virt.libvirt import shelve_log
from nova.virt.libvirt import snapshot
from nova.virt.libvirt import resize

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

# virtlogd and the <log> element of char devices.
MIN_LIBVIRT_VIRTLOGD = (1, 3, 3)
MIN_QEMU_VIRTLOGD = (2, 6, 0)
# <source append="on"/> of a file char device (libvirt 1.3.1; QEMU's
# chardev file append=on, 2.6): without it QEMU truncates the log.
MIN_LIBVIRT_FILE_APPEND = (1, 3, 1)
MIN_QEMU_FILE_APPEND = (2, 6, 0)

# QEMU's isa-serial takes at most four devices (ttyS0..ttyS3).
QEMU_MAX_SERIAL_PORTS = 4
# s390x has no isa-serial: its consoles are SCLP devices, one VT220
# ("sclp", the kernel's ttysclp0) and one line mode ("sclplm"); QEMU
# refuses a second of either.
QEMU_MAX_S390X_CONSOLES = 2
# The machine QEMU emulates for s390x guests (virtio devices on CCW).
S390X_MACHINE_TYPE = 's390-ccw-virtio'

CONSOLE_LOG_NAME = 'console.log'
# Console output returns at most this many of the log's newest bytes
# (Nova's name and value; the reader in console_log defines it once).
MAX_CONSOLE_BYTES = console_log.MAX_CONSOLE_BYTES
MIB = 1024 * 1024
DISK_NAME = 'disk'
DEFAULT_KERNEL_CMDLINE = 'console=ttyS0'
# A kernel booted directly writes to the console its architecture has.
_KERNEL_CMDLINES = {arch_names.S390X: 'console=ttysclp0'}
# Guest architectures a host runs as one of its own: a 32-bit x86 kernel
# boots on the x86_64 machine, natively.
_NATIVE_TOO = {arch_names.X86_64: (arch_names.I686,)}

LIVE_MIGRATION_FLAGS = (libvirt.VIR_MIGRATE_LIVE |
                        libvirt.VIR_MIGRATE_PEER2PEER |
                        libvirt.VIR_MIGRATE_PERSIST_DEST |
                        libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)

# How often the source looks at a running migration job, and logs its
# progress (seconds). Looking costs one libvirt call.
MIGRATION_POLL_INTERVAL = 0.5
MIGRATION_PROGRESS_INTERVAL = 5
# How long the heartbeat trusts a running guest's vCPU count (seconds).
VCPU_RECHECK_SECONDS = 300
# libvirt's job types that mean "no job is running".
_NO_JOB = (libvirt.VIR_DOMAIN_JOB_NONE, libvirt.VIR_DOMAIN_JOB_COMPLETED,
           libvirt.VIR_DOMAIN_JOB_FAILED, libvirt.VIR_DOMAIN_JOB_CANCELLED)

# Only these virt types run QEMU, so only they get virtlogd logs (bug
# 1670522: other types were given a <log> without a usable file).
_QEMU_VIRT_TYPES = ('kvm', 'qemu')
# Virt types whose libvirt driver applies <cputune> (Nova's list).
_CPU_TUNE_VIRT_TYPES = ('kvm', 'qemu', 'lxc')
_DEFAULT_URIS = {'kvm': 'qemu:///system', 'qemu': 'qemu:///system',
                 'lxc': 'lxc:///', 'xen': 'xen:///',
                 'parallels': 'vz:///system'}


# blockStats' and interfaceStats' counters, in libvirt's order, as Nova's
# libvirt driver names them (after the device's target name).
_DISK_STATS = ('_read_req', '_read', '_write_req', '_write', '_errors')
_IFACE_STATS = ('_rx', '_rx_packets', '_rx_errors', '_rx_drop', '_tx',
                '_tx_packets', '_tx_errors', '_tx_drop')


def _io_devices(xml):
    """([disk target dev], [interface target dev]) of a domain's XML
    (libvirtd's own answer); devices without a target are skipped."""
    root = etree.fromstring(xml.encode('utf-8'),
                            parser=etree.XMLParser(resolve_entities=False,
                                                   no_network=True))
    return ([dev for dev in root.xpath('./devices/disk/target/@dev')],
            [dev for dev in root.xpath('./devices/interface/target/@dev')])


def _message(err):
    return err.get_error_message() or str(err)


def _uri_host(addr):
    return '[%s]' % addr if ':' in addr else addr


def _vanished(err):
    """Whether a libvirt error means the domain is gone: undefined (or
    a transient one stopped) between finding it and asking it."""
    return err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


@contextlib.contextmanager
def _not_found_if_vanished(instance, doing):
    """Turn "the domain vanished while ``doing``" into InstanceNotFound
    (with a debug line); other libvirt errors pass through."""
    try:
        yield
    except libvirt.libvirtError as e:
        if not _vanished(e):
            raise
        LOG.debug('Domain of %s vanished while %s', instance.uuid, doing)
        raise exception.InstanceNotFound(instance_id=instance.uuid)


def _dom_uuid(dom):
    try:
        return dom.UUIDString()
    except libvirt.libvirtError:
        return '?'


def _dom_name(dom):
    try:
        return dom.name()
    except libvirt.libvirtError:
        return '?'


def _stopped(err):
    """Whether a libvirt error means the domain is gone or no longer
    running (stopped between the listing and the question)."""
    return _vanished(err) or (
        err.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID)


def _running_vcpus(dom):
    """The vCPUs of a running guest as its live definition has them; None
    when it stopped or vanished since it was listed.

    ``vcpusFlags(AFFECT_LIVE)`` is answered by libvirtd from the domain
    object it holds: unlike ``getAllDomainStats(VCPU)`` it never enters
    the guest's QEMU monitor (query-cpus-fast, which waits for a TCG
    guest's big lock) nor reads /proc per vCPU thread, so one guest costs
    one short round trip to libvirtd (measured: 30 us against 1.7-5 ms).
    """
    try:
        return dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE)
    except libvirt.libvirtError as e:
        if not _stopped(e):
            raise
        LOG.debug('Domain %s stopped or vanished while reading its vCPUs '
                  'for the host report; not counted', _dom_uuid(dom))
        return None


class LogSource:
    """Where a running guest's console output is read: ``path``, after
    draining ``pty`` into it (None: nothing to drain), as the live XML of
    the domain run ``dom_id`` on connection ``conn`` said."""

    __slots__ = ('conn', 'dom_id', 'path', 'pty')

    def __init__(self, conn, dom_id, path, pty):
        self.conn, self.dom_id = conn, dom_id
        self.path, self.pty = path, pty

    def matches(self, conn, dom_id):
        return self.conn is conn and self.dom_id == dom_id


class LibvirtDriver(driver.ComputeDriver):
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
        # Who holds which serial port: released by instance uuid, whether
        # or not the guest's domain still exists.
        self._ports = port_table.PortTable()
        # {instance uuid: whether the guest writes console.log on the
        # destination} of the guests live_migration sent away.
        self._outgoing = {}
        # uuids of the guests whose instance folder pre_live_migration
        # made here (not shared): the only folders a rollback removes.
        self._incoming = set()
        # {instance uuid: LogSource} of running guests: where their
        # console output is read (see _log_source).
        self._log_sources = {}
        # {domain uuid: (domain id, vCPUs, when asked)} of running guests,
        # for the heartbeat (_vcpus_running).
        self._vcpu_counts = {}

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
        this a restarted nova-compute would hand them out twice. Returns
        how many ports were registered.
        """
        reserved = 0
        for dom, guest in self._list_guests('starting up'):
            reserved += self._ports.reserve(
                guest.uuid or dom.UUIDString(), self._tcp_listeners(guest),
                name=guest.name)
        LOG.info('Re-registered %d serial ports of existing guests', reserved)
        return reserved

    def _list_guests(self, doing):
        """(domain, parsed guest) of every domain defined here.

        A domain undefined between the listing and the reading of its XML
        (anything may delete a guest meanwhile) is skipped with a debug
        line naming ``doing``. A domain whose XML our model cannot read
        (libvirt accepts more than we model; it may not be ours) is
        skipped with a warning naming it: one foreign domain must never
        stop the service.
        """
        for dom in self._host.list_domains():
            try:
                guest = self._parse_domain(dom)
            except libvirt.libvirtError as e:
                if not _vanished(e):
                    raise
                LOG.debug('Domain %s vanished while %s; skipped',
                          _dom_uuid(dom), doing)
                continue
            except (ValueError, etree.Error) as e:
                # XMLModelError is a ValueError.
                LOG.warning('Domain %s (%s) skipped while %s: its XML '
                            'cannot be read: %s', _dom_name(dom),
                            _dom_uuid(dom), doing, e)
                continue
            yield dom, guest

    def _guest(self, instance, flags=0):
        """(domain, parsed guest) of ``instance``; InstanceNotFound when
        it does not exist, or vanished between the look-up and the read."""
        dom = self._host.get_domain(instance)
        xml = self._xml_of(dom, instance, flags)
        return dom, vconfig.LibvirtConfigGuest.from_xml(xml)

    @staticmethod
    def _xml_of(dom, instance, flags=0):
        with _not_found_if_vanished(instance, 'reading its XML'):
            return dom.XMLDesc(flags)

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
        vcpus = self._vcpus_running(conn)
        serial = self._conf.serial_console
        addr = serial.proxyclient_address
        report = {
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
            'vcpus_used': sum(vcpus),
            'memory_mb': memory_mb,
            'memory_mb_free': conn.getFreeMemory() // MIB,
            'running_vms': len(vcpus),
            'serial_console_enabled': bool(serial.enabled),
        }
        report.update(self.serial_port_facts())
        return report

    def _vcpus_running(self, conn):
        """The vCPU count of every running guest, for the heartbeat.

        Never getAllDomainStats(VCPU): it enters every guest's QEMU
        monitor, 1.7 ms a guest (tools/bench/bench_host_scale.py measures
        both). One listing; a guest's count is asked (_running_vcpus, one
        round trip) when it is new, started again (libvirt gives every
        start a new domain id; the id and uuid of a listed domain are
        known without a round trip), or last asked VCPU_RECHECK_SECONDS
        ago: a running domain's vCPUs change only by a live hot-plug,
        which Nova never does, and an operator's ``virsh setvcpus
        --live`` shows within that time.
        """
        now = time.monotonic()
        known, counts = self._vcpu_counts, {}
        for dom in conn.listAllDomains(
                libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            uuid, dom_id = dom.UUIDString(), dom.ID()
            entry = known.get(uuid)
            if (entry is None or entry[0] != dom_id or
                    now - entry[2] >= VCPU_RECHECK_SECONDS):
                vcpus = _running_vcpus(dom)
                if vcpus is None:
                    continue
                entry = (dom_id, vcpus, now)
            counts[uuid] = entry
        self._vcpu_counts = counts   # guests gone are forgotten
        return [entry[1] for entry in counts.values()]

    def serial_port_facts(self):
        """This host's serial ports as of now: ``serial_ports_total``,
        ``serial_ports_free``, ``serial_port_holders`` (instance uuids)
        and ``serial_ports_seq`` (orders two measurements); see
        :meth:`nova.virt.libvirt.port_table.PortTable.facts`."""
        serial = self._conf.serial_console
        return self._ports.facts(serial.proxyclient_address,
                                 tuple(serial.port_range))

    # -- paths ----------------------------------------------------------------

    def instance_dir(self, instance):
        """``instances_path/<uuid>``; InvalidUUID when the uuid is not
        canonical, so no caller ever acts on a path it names."""
        # Instance checks its uuid too; this holds even for one made
        # some other way (the folder's parent must be instances_path).
        uuid = objects.check_uuid(instance.uuid, 'instance uuid')
        return os.path.join(self._conf.instances_path, uuid)

    def console_log_path(self, instance):
        return os.path.join(self.instance_dir(instance), CONSOLE_LOG_NAME)

    def disk_path(self, instance):
        return os.path.join(self.instance_dir(instance), DISK_NAME)

    def _create_disk(self, instance, files):
        """The server's own disk: a copy-on-write overlay of the image
        (``files``: its images.BootFiles).

        Servers never write into the image itself. An existing disk is
        kept (hard reboot); rebuild removes it first.
        """
        path = self.disk_path(instance)
        if os.path.exists(path):
            return
        try:
            processutils.execute(
                'qemu-img', 'create', '-f', 'qcow2', '-F',
                files.disk_format, '-b', files.disk, path)
        except (processutils.ProcessExecutionError, OSError) as e:
            raise exception.InstanceBootFailed(
                instance_uuid=instance.uuid,
                reason='cannot create its disk from %s: %s' % (
                    files.disk,
                    (getattr(e, 'stderr', '') or str(e)).strip()))

    # -- guest configuration ------------------------------------------------

    def _get_guest_config(self, instance, image_meta, files=None):
        """The domain for ``instance``, with serial ports acquired;
        ``files``: the image's images.BootFiles (default: as cached).

        On error every port acquired on the way is released again.
        """
        if files is None:
            files = images.boot_files(None, self._conf, image_meta,
                                      fetch=False)
        flavor = instance.flavor
        guest_arch = self._guest_arch(image_meta)
        virt_type = self._conf.libvirt.virt_type
        if guest_arch != arch_names.from_host():
            # Another architecture is emulated (TCG): KVM runs only the
            # host's own, and libvirt offers that arch with type qemu only.
            virt_type = 'qemu'
        guest = vconfig.LibvirtConfigGuest(
            virt_type=virt_type,
            name=instance.name,
            uuid=instance.uuid,
            memory=flavor.memory_mb * 1024,
            vcpus=flavor.vcpus,
            os_type='hvm',
            on_poweroff='destroy',
            on_reboot='restart',
            on_crash='destroy')
        guest.cputune = self._cpu_tune(flavor)
        if guest_arch == arch_names.S390X:
            guest.os_arch = guest_arch
            guest.os_mach_type = S390X_MACHINE_TYPE
        if files.kernel:
            guest.os_kernel = files.kernel
            guest.os_initrd = files.ramdisk
            guest.os_cmdline = image_meta.properties.get(
                'os_command_line',
                _KERNEL_CMDLINES.get(guest_arch, DEFAULT_KERNEL_CMDLINE))
        if files.disk:
            if not files.kernel:
                guest.os_boot_dev = 'hd'
            guest.add_device(vconfig.LibvirtConfigGuestDisk(
                driver_name='qemu', driver_format='qcow2',
                source_path=self.disk_path(instance),
                target_dev='vda', target_bus='virtio'))
        elif not files.kernel:
            raise exception.Invalid(
                reason='image %s has neither a disk nor a kernel to boot' %
                image_meta.id)
        try:
            self._create_consoles(guest, instance, flavor, image_meta,
                                  guest_arch)
        except Exception:
            self._release_serial_ports(guest)
            raise
        return guest

    def _cpu_tune(self, flavor):
        """``<cputune>`` from the flavor's ``quota:cpu_*`` (Nova's keys),
        or None when it sets none: the operator's bound on a guest's CPU,
        and so on what a guest flooding its console costs the host
        (doc/source/admin/host-scale.rst)."""
        tune = hardware.get_cpu_tune(flavor)
        if not tune:
            return None
        if self._conf.libvirt.virt_type not in _CPU_TUNE_VIRT_TYPES:
            raise exception.UnsupportedHostCPUControlPolicy(
                reason='[libvirt] virt_type %s has no CPU tuning; kvm, qemu '
                'and lxc have' % self._conf.libvirt.virt_type)
        return vconfig.LibvirtConfigGuestCPUTune(**tune)

    def _check_cpu_tune(self, dom, instance, tune):
        """That the running guest got the flavor's CPU limits.

        libvirt without the cpu cgroup controller (qemu.conf
        ``cgroup_controllers``) starts a guest with ``<shares>`` anyway,
        silently unbounded; a limit the operator set must hold or the
        boot fail. One libvirt call, only for flavors that set limits.
        Raises UnsupportedHostCPUControlPolicy naming what is missing.
        """
        want = {'cpu_shares': tune.shares, 'vcpu_period': tune.period,
                'vcpu_quota': tune.quota}
        try:
            have = dom.schedulerParametersFlags(
                libvirt.VIR_DOMAIN_AFFECT_LIVE)
        except libvirt.libvirtError as e:
            have, why = {}, _message(e)
        else:
            why = 'libvirt applied %s' % ', '.join(
                '%s=%s' % (k, have.get(k)) for k in sorted(want)
                if want[k] is not None)
        if all(have.get(k) == v for k, v in want.items() if v is not None):
            return
        raise exception.UnsupportedHostCPUControlPolicy(
            reason='the flavor\'s quota:cpu_* limits of %s did not hold (%s); '
            'libvirtd needs the cpu cgroup controller (qemu.conf '
            'cgroup_controllers)' % (instance.uuid, why))

    def _guest_arch(self, image_meta):
        """The architecture ``image_meta`` runs on, canonical, and usable.

        The image's ``hw_architecture``, else the host's. Besides the
        host's own, s390x is supported, emulated by QEMU when this host's
        libvirt offers it (Debian: qemu-system-misc). Raises
        InvalidArchitectureName for a name that is no architecture and
        GuestArchitectureUnsupported for one this host cannot run.
        """
        host_arch = arch_names.from_host()
        wanted = image_meta.properties.get('hw_architecture')
        if wanted is None:
            return host_arch
        guest_arch = arch_names.canonicalize(wanted)
        if (guest_arch == host_arch or
                guest_arch in _NATIVE_TOO.get(host_arch, ())):
            return host_arch
        if guest_arch != arch_names.S390X:
            raise exception.GuestArchitectureUnsupported(
                arch=guest_arch, reason='this driver boots guests of the '
                'host\'s architecture (%s) or s390x' % host_arch)
        if self._conf.libvirt.virt_type not in _QEMU_VIRT_TYPES:
            raise exception.GuestArchitectureUnsupported(
                arch=guest_arch, reason='[libvirt] virt_type %s cannot '
                'emulate it; kvm or qemu can' %
                self._conf.libvirt.virt_type)
        if guest_arch not in self._emulated_arches():
            raise exception.GuestArchitectureUnsupported(
                arch=guest_arch, reason='libvirt lists no QEMU emulator for '
                'it in its capabilities (install qemu-system-%s; on Debian '
                '12 the package qemu-system-misc)' % guest_arch)
        return guest_arch

    def _emulated_arches(self):
        """Architectures libvirt's capabilities offer as TCG (type qemu)
        hvm guests."""
        caps = etree.fromstring(
            self._host.get_connection().getCapabilities().encode())
        return {arch.get('name') for arch in caps.iterfind(
            'guest[os_type="hvm"]/arch[domain]')
            if arch.find('domain[@type="qemu"]') is not None}

    def _create_consoles(self, guest, instance, flavor, image_meta,
                         guest_arch):
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

        if guest_arch == arch_names.S390X:
            max_devices = QEMU_MAX_S390X_CONSOLES

            def char_device(port, **kw):
                return vconfig.LibvirtConfigGuestConsole(
                    target_type='sclp' if port == 0 else 'sclplm', **kw)
        else:
            max_devices = QEMU_MAX_SERIAL_PORTS

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
                # QEMU opens the file at each start: appending keeps the
                # history already there (from an earlier boot, or carried
                # here by a resize, unshelve or migration). A host too old
                # for it truncates, as it always did.
                guest.add_device(char_device(
                    0, type='file', source_path=self.console_log_path(
                        instance),
                    source_append=self._host.has_min_version(
                        MIN_LIBVIRT_FILE_APPEND, MIN_QEMU_FILE_APPEND,
                        'QEMU') or None))
                guest.add_device(char_device(1, type='pty'))
            return

        count = hardware.get_number_of_serial_ports(flavor, image_meta)
        # Without virtlogd a pty is added so ``virsh console`` still works.
        wanted = count + (0 if log else 1)
        if wanted > max_devices:
            raise exception.SerialPortNumberLimitExceeded(
                wanted=wanted, allowed=max_devices,
                detail='%d tcp port(s)%s%s' % (
                    count, '' if log else ' + 1 pty, as virtlogd is '
                    'not usable on this host',
                    '; an s390x guest has one sclp and one sclplm console'
                    if guest_arch == arch_names.S390X else ''))
        listen_host = self._conf.serial_console.proxyclient_address
        for port_index in range(count):
            guest.add_device(char_device(
                port_index, type='tcp', listen_host=listen_host,
                listen_port=self._acquire_port(listen_host, instance.uuid),
                log=log if port_index == 0 else None))
        if not log:
            guest.add_device(char_device(count, type='pty'))

    def _acquire_port(self, listen_host, instance_uuid):
        return self._ports.acquire(instance_uuid, listen_host,
                                   self._conf.serial_console.port_range)

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
        """Release the ports ``guest`` (a config being built) was given."""
        self._ports.release(guest.uuid, self._tcp_listeners(guest))

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
        return self._spawn(context, instance, image_meta)

    def _spawn(self, context, instance, image_meta, known=False,
               start=True):
        """spawn; ``known``: the guest booted from ``image_meta`` before
        (hard reboot, power on), so its cached files are used without
        asking Glance (images.boot_files). ``start`` False: defined, not
        started (a stopped server's rebuild; power_on starts it later)."""
        instance_files.prepare_dir(self.instance_dir(instance))
        instance.image_meta = image_meta
        # Found (or fetched into the image cache) by this host from the
        # image's id and the properties the instance keeps (kernel_id,
        # ramdisk_id): an RPC message names no file.
        try:
            files = images.boot_files(context, self._conf, image_meta,
                                      known=known)
        except exception.NovaException as e:
            raise exception.InstanceBootFailed(
                instance_uuid=instance.uuid,
                reason='its image %s: %s' % (image_meta.id,
                                             exception.fault_message(e)))
        guest = self._get_guest_config(instance, image_meta, files)
        if files.disk:
            try:
                self._create_disk(instance, files)
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
        if not start:
            LOG.info('Defined %s without starting it', instance.uuid)
            return guest
        try:
            self._start(dom, instance)
            if guest.cputune is not None:
                self._check_cpu_tune(dom, instance, guest.cputune)
        except exception.UnsupportedHostCPUControlPolicy:
            self._stop_and_undefine(dom)
            self._release_serial_ports(guest)
            raise
        except exception.InstanceFileUnsafe:
            self._undefine(dom)
            self._release_serial_ports(guest)
            raise
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

    def _start(self, dom, instance):
        """Start the defined domain ``dom`` of ``instance``: the one way
        every start goes (spawn and so hard reboot, rebuild and power on;
        soft reboot), so none skips the checks.

        Right before libvirt opens anything, the instance folder and its
        files are checked (instance_files.prepare_dir) and so is its disk,
        if it boots from one (disk_check.check_disk: our qcow2 overlay of
        the image, nothing else in its backing chain).

        :raises nova.exception.InstanceFileUnsafe: the domain is not
            started.
        :raises libvirt.libvirtError: from libvirt's start.
        """
        self._check_files(instance)
        try:
            dom.create()
        finally:
            self._forget_log_source(instance)

    def _check_files(self, instance):
        """The checks of _start; InstanceFileUnsafe if one fails."""
        instance_files.prepare_dir(self.instance_dir(instance))
        image = getattr(instance, 'image_meta', None)
        if image is None:
            return
        files = images.boot_files(None, self._conf, image, fetch=False)
        if files.disk:
            disk_check.check_disk(self.disk_path(instance), files.disk,
                                  files.disk_format)

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

        The ports are released by the instance's uuid, so a guest whose
        domain is gone (undefined behind our back, or while we destroy
        it) gives them back too. ``destroy_disks=False`` keeps the
        instance folder, console log included (hard reboot, rebuild).
        """
        try:
            dom = self._host.get_domain(instance)
        except exception.InstanceNotFound:
            dom = None
        if dom is not None:
            try:
                self._stop_and_undefine(dom)
            except libvirt.libvirtError as e:
                if not _vanished(e):
                    raise
                LOG.debug('Domain of %s vanished while being destroyed',
                          instance.uuid)
        self._forget_log_source(instance)
        released = self._ports.release(instance.uuid)
        if dom is None and released:
            LOG.info('Domain of %s was already gone; released its serial '
                     'ports %s', instance.uuid,
                     ', '.join('%s:%d' % pair for pair in released))
        if destroy_disks:
            shutil.rmtree(self.instance_dir(instance), ignore_errors=True)

    def _stop_and_undefine(self, dom):
        if dom.isActive():
            try:
                dom.destroy()
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                    raise  # anything but "already shut off"
        self._undefine(dom)

    def reboot(self, context, instance, network_info=None,
               reboot_type='SOFT'):
        """Reboot the guest; a soft reboot the guest does not carry out
        within ``[libvirt] wait_soft_reboot_seconds`` (or that fails)
        becomes a hard one, as in Nova."""
        if reboot_type == 'SOFT':
            try:
                if self._soft_reboot(instance):
                    return
                LOG.warning('Guest %s did not shut down within %d s of a '
                            'soft reboot request; rebooting hard',
                            instance.uuid,
                            self._conf.libvirt.wait_soft_reboot_seconds)
            except libvirt.libvirtError as e:
                LOG.warning('Soft reboot of %s failed (%s); rebooting hard',
                            instance.uuid, _message(e))
        self._hard_reboot(instance, context)

    def _soft_reboot(self, instance):
        """Ask the guest to shut down and start it again once it has.

        True when it rebooted: it shut down (and was started here), or it
        is running under a new domain ID (it restarted by itself). False
        when it is still running as before after the wait, or was not
        running at all.
        """
        dom = self._host.get_domain(instance)
        if not dom.isActive():
            return False
        old_id = dom.ID()
        dom.shutdown()  # ACPI: the guest decides
        deadline = (time.monotonic() +
                    self._conf.libvirt.wait_soft_reboot_seconds)
        while True:
            # A domain handle keeps the ID it was looked up with: look
            # again to see a new one.
            dom = self._host.get_domain(instance)
            dom_id = dom.ID()
            state = dom.info()[0]
            if state in (libvirt.VIR_DOMAIN_SHUTOFF,
                         libvirt.VIR_DOMAIN_CRASHED):
                LOG.info('Guest %s shut down for a soft reboot; starting '
                         'it again', instance.uuid)
                self._start(dom, instance)
                return True
            if dom_id not in (-1, old_id):
                LOG.info('Guest %s rebooted by itself', instance.uuid)
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(1.0, remaining))

    def _hard_reboot(self, instance, context=None):
        """Recreate the guest from scratch with this host's capabilities.

        A guest defined on an older host gains the virtlogd log here; the
        log file is kept and appended to (append="on"). A planted file
        refuses the reboot before the running guest is touched.
        ``context``: the caller's, whose token reads the guest's images
        from Glance (nova's own credentials see no project's private
        image).
        """
        self._check_files(instance)
        self.destroy(None, instance, destroy_disks=False)
        self._spawn(context, instance, instance.image_meta, known=True)

    def rebuild(self, context, instance, image_meta, power_on=True):
        """Boot ``instance`` again from ``image_meta``, keeping its log.

        The old disk goes: a rebuild starts from the new image. With
        ``power_on`` False (a stopped server) the guest is defined on its
        new disk and left shut off, as it was: nothing is written to its
        console log until it is started.
        """
        instance_files.prepare_dir(self.instance_dir(instance))
        self.destroy(context, instance, destroy_disks=False)
        if os.path.exists(self.disk_path(instance)):
            os.unlink(self.disk_path(instance))
        self._spawn(context, instance, image_meta, start=power_on)

    def power_off(self, instance):
        """Stop the guest; it keeps its definition and its serial ports."""
        dom = self._host.get_domain(instance)
        try:
            with _not_found_if_vanished(instance, 'being stopped'):
                if dom.isActive():
                    dom.destroy()
        finally:
            self._forget_log_source(instance)

    def power_on(self, context, instance):
        self._hard_reboot(instance, context)

    def instance_exists(self, instance):
        try:
            self._host.get_domain(instance)
            return True
        except exception.InstanceNotFound:
            return False

    def is_running(self, instance):
        """Whether the guest runs; InstanceNotFound when it does not
        exist (or vanished between the look-up and the question)."""
        dom = self._host.get_domain(instance)
        with _not_found_if_vanished(instance, 'asked whether it runs'):
            return bool(dom.isActive())

    # -- admin: diagnostics and the host's uptime (compute RPC 2.6) -------

    def get_diagnostics(self, instance):
        """Nova's libvirt diagnostics before microversion 2.48: a flat
        dict of ``cpu<N>_time`` (ns), ``memory`` (KiB, the domain's
        maximum), ``memory-<stat>`` (libvirt's memoryStats, KiB),
        ``<disk>_read_req``, ``_read``, ``_write_req``, ``_write``,
        ``_errors`` per disk target (vda...) and ``<iface>_rx``,
        ``_rx_packets``, ``_rx_errors``, ``_rx_drop``, ``_tx``,
        ``_tx_packets``, ``_tx_errors``, ``_tx_drop`` per interface
        target. A counter the hypervisor does not give is left out.

        :raises nova.exception.InstanceNotFound: no such guest (or it
            vanished meanwhile).
        """
        dom = self._host.get_domain(instance)
        output = {}
        with _not_found_if_vanished(instance, 'asked for diagnostics'):
            try:
                for vcpu in dom.vcpus()[0]:
                    output['cpu%d_time' % vcpu[0]] = vcpu[2]
            except libvirt.libvirtError:
                pass  # not given by this hypervisor
            disks, ifaces = _io_devices(dom.XMLDesc(0))
            for disk in disks:
                try:
                    stats = dom.blockStats(disk)
                except libvirt.libvirtError:
                    continue
                output.update(zip(
                    (disk + suffix for suffix in _DISK_STATS), stats))
            for iface in ifaces:
                try:
                    stats = dom.interfaceStats(iface)
                except libvirt.libvirtError:
                    continue
                output.update(zip(
                    (iface + suffix for suffix in _IFACE_STATS), stats))
            output['memory'] = dom.maxMemory()
            try:
                for key, value in dom.memoryStats().items():
                    output['memory-' + key] = value
            except libvirt.libvirtError:
                pass
        return output

    def get_host_uptime(self):
        """``uptime``'s line (procps), in the C locale as Nova runs it:
        " 15:04:05 up 3 days,  2:01,  1 user,  load average: ..." """
        try:
            out, _err = processutils.execute('env', 'LANG=C', 'uptime')
        except (OSError, processutils.ProcessExecutionError) as e:
            # No procps, or it failed: a clear 501 (as Nova's), not a 500.
            raise exception.HostUptimeUnavailable(
                host=self.host_name, reason=str(e).strip())
        return out.strip()

    # -- consoles -----------------------------------------------------------

    def get_console_output(self, context, instance):
        """The newest ``MAX_CONSOLE_BYTES`` of the guest's console log.

        One libvirt round trip (the domain's look-up) besides the read:
        where a running guest's log is comes from its live XML once per
        run of its QEMU (see _log_source).
        """
        dom = self._host.get_domain(instance)
        source = self._log_source(dom, instance)
        path = source.path
        if source.pty:
            self._drain_pty(source.pty, path)
        if path == self.console_log_path(instance):
            # virtlogd's files are root's, 0600: read in the privsep
            # daemon, under the same rules (nova.privsep.console).
            return privsep_console.read_log_tail(
                self.instance_dir(instance), os.geteuid(), MAX_CONSOLE_BYTES)
        # The folder is opened once, checked, and the log read relative
        # to it: a folder swapped for a link is refused, not followed.
        try:
            dir_fd = instance_files.open_dir(os.path.dirname(path))
        except FileNotFoundError:
            return b''
        except OSError as e:
            raise exception.ConsoleLogUnreadable(path=path,
                                                 reason=e.strerror)
        try:
            return console_log.read_log_tail(path, MAX_CONSOLE_BYTES,
                                             dir_fd=dir_fd)
        finally:
            os.close(dir_fd)

    def open_console_follower(self, instance, history_bytes):
        """A LogFollower of the guest's console log, for live consoles.

        It hands out the newest ``history_bytes`` of the log, then every
        byte the guest writes, across virtlogd's rotations (see
        nova.virt.libvirt.console_follow). Only ``console_log_path``
        (``<instances_path>/<uuid>/console.log``) is ever followed, and
        only when a char device of the guest writes there: virtlogd's
        ``<log file=...>`` or QEMU's own file console.

        :param instance: the Instance (its uuid is used).
        :param history_bytes: int, 0 to MAX_CONSOLE_BYTES; None means
            MAX_CONSOLE_BYTES.
        :returns: an open LogFollower; the caller closes it.
        :raises nova.exception.InstanceNotFound: the guest's domain is not
            defined on this host.
        :raises nova.exception.ConsoleLogFollowUnavailable: no char device
            writes the console log (a tcp port or a pty without virtlogd).
        :raises nova.exception.InstanceFileUnsafe: the instance folder or
            a log file is a link or not what Nova made.
        :raises nova.exception.ConsoleLogUnreadable: the instance folder
            cannot be opened.
        :raises nova.exception.Invalid: a bad ``history_bytes``.
        """
        if history_bytes is None:
            history_bytes = MAX_CONSOLE_BYTES
        if (isinstance(history_bytes, bool) or
                not isinstance(history_bytes, int) or
                not 0 <= history_bytes <= MAX_CONSOLE_BYTES):
            raise exception.Invalid(
                reason='history_bytes must be an integer from 0 to %d, '
                       'not %r' % (MAX_CONSOLE_BYTES, history_bytes))
        _dom, guest = self._guest(instance)
        path = self.console_log_path(instance)
        logged = any((dev.log is not None and dev.log.file == path) or
                     (dev.type == 'file' and dev.source_path == path)
                     for dev in guest.char_devices)
        if not logged:
            raise exception.ConsoleLogFollowUnavailable(
                instance_uuid=instance.uuid,
                reason='none of its console devices writes %s (a tcp '
                       'port or a pty that virtlogd does not log)'
                       % CONSOLE_LOG_NAME)
        try:
            return console_follow.LogFollower(path, history_bytes)
        except OSError as e:
            # The folder went missing or cannot be opened; never a
            # traceback over RPC.
            raise exception.ConsoleLogUnreadable(
                path=path, reason=e.strerror or type(e).__name__)

    def _log_source(self, dom, instance):
        """The LogSource of ``dom`` (the domain of ``instance``, just
        looked up).

        Reading the live XML and parsing it costs more than the read of
        the log itself, so the answer is kept for a running guest, keyed
        by what the look-up already brought at no cost: the domain's ID
        and the connection. libvirt gives a domain a new ID each time it
        starts (hard reboot, rebuild, power on, a soft reboot that
        restarts QEMU, a live migration's arrival) and never reuses one
        while libvirtd runs; a restarted libvirtd means a new connection.
        A running guest's char devices cannot change without a new QEMU,
        so a kept answer whose ID and connection match is the live XML's.
        Every operation here that changes a domain forgets its entry as
        well (_forget_log_source). A stopped guest (ID -1) is never kept.
        """
        dom_id = dom.ID()
        conn = dom.connect()
        kept = self._log_sources.get(instance.uuid)
        if kept is not None and kept.matches(conn, dom_id):
            return kept
        guest = vconfig.LibvirtConfigGuest.from_xml(
            self._xml_of(dom, instance))
        path, pty = self._find_log_source(guest, instance)
        source = LogSource(conn, dom_id, path, pty)
        if dom_id >= 0:
            self._log_sources[instance.uuid] = source
        return source

    def _forget_log_source(self, instance):
        self._log_sources.pop(instance.uuid, None)

    def _find_log_source(self, guest, instance):
        """(path, pty) from ``guest``'s char devices: the log to read and
        the pty to drain into it first (None when there is none)."""
        devs = guest.char_devices

        def first(match):
            return next((dev for dev in devs if match(dev)), None)

        dev = first(lambda d: d.type == 'file' and d.source_path)
        if dev:
            return dev.source_path, None
        dev = first(lambda d: d.log is not None and d.log.file)
        if dev:
            return dev.log.file, None
        dev = first(lambda d: d.type == 'pty' and d.source_path)
        if dev:
            return self.console_log_path(instance), dev.source_path
        if first(lambda d: d.type in ('tcp', 'pty')):
            # A guest from a host without virtlogd, or a stopped one: the
            # instance's console.log holds whatever was kept (or copied).
            return self.console_log_path(instance), None
        raise exception.ConsoleNotAvailable(instance_uuid=instance.uuid)

    def _console_log_source(self, guest, instance):
        """The log to read for ``guest``, its pty drained into it."""
        path, pty = self._find_log_source(guest, instance)
        if pty:
            self._drain_pty(pty, path)
        return path

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
                # QEMU's pty is its user's: read in the privsep daemon.
                data = privsep_console.drain_pty(pty_path, MAX_CONSOLE_BYTES)
            except (OSError, ValueError) as e:
                LOG.warning('Cannot read console pty %s: %s', pty_path,
                            getattr(e, 'strerror', None) or e)
                return
            log.write(data)

    def get_serial_console(self, context, instance):
        """Host and port of the guest's first tcp serial port."""
        if not self._conf.serial_console.enabled:
            raise exception.ConsoleTypeUnavailable(console_type='serial')
        _dom, guest = self._guest(instance)
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
        # Nova's shared storage check: a file the source looks for in
        # its own instances folder (removed by
        # cleanup_live_migration_destination_check).
        filename = migration.create_shared_check_file(conf.instances_path)
        return migrate_data.LibvirtLiveMigrateData(
            serial_listen_addr=(conf.serial_console.proxyclient_address
                                if conf.serial_console.enabled else None),
            supports_virtlogd=self.uses_virtlogd(),
            instance_dir=self.instance_dir(instance),
            inbound_addr=inbound,
            connect_uri=connect_uri,
            virtlogd_max_size=max_size,
            virtlogd_max_backups=max_backups,
            filename=filename,
            disk_available_mb=self._free_disk_mb())

    def _free_disk_mb(self):
        """Free space of the instances folder's file system, MiB."""
        st = os.statvfs(self._conf.instances_path)
        return st.f_bavail * st.f_frsize // migration.MIB

    def cleanup_live_migration_destination_check(self, context,
                                                 migrate_data):
        """Remove the shared storage check's file (Nova's name); never
        raises for one already gone."""
        migration.remove_shared_check_file(self._conf.instances_path,
                                           migrate_data.filename)

    def check_can_live_migrate_source(self, context, instance, migrate_data):
        """Refuse, before anything moves, what cannot work; count ports;
        decide block migration (see migration.decide_block_migration).

        A local disk is one in this host's instance folder: without
        shared storage it moves only by block migration.
        """
        dom, guest = self._guest(instance)
        migration.check_serial_addr(guest, migrate_data)
        migration.check_dest_data(migrate_data, instance.uuid)
        migrate_data.is_shared_instance_path = (
            migration.shared_check_file_exists(self._conf.instances_path,
                                               migrate_data.filename))
        disks = migration.local_disks(guest, self.instance_dir(instance))
        block = migration.decide_block_migration(
            migrate_data, instance.uuid, bool(disks), self.host_name)
        if block and disks:
            virtual, actual = self._disk_sizes(dom, instance, disks)
            migration.check_disk_space(migrate_data, instance.uuid,
                                       virtual, actual)
            migrate_data.disk_virtual_size = virtual
        migrate_data.serial_port_count = migration.serial_port_count(guest)
        return migrate_data

    def _disk_sizes(self, dom, instance, disks):
        """(virtual size of the root disk, actual size of all) in bytes,
        from libvirt (the guest holds the files)."""
        virtual = actual = 0
        for index, target in enumerate(disks):
            with _not_found_if_vanished(instance, 'sized its disk'):
                try:
                    capacity, allocation, _physical = dom.blockInfo(target)
                except libvirt.libvirtError as e:
                    raise exception.MigrationPreCheckError(
                        reason='cannot size disk %s of %s: %s' % (
                            target, instance.uuid, _message(e)))
            if index == 0:
                virtual = capacity
            actual += allocation
        return virtual, actual

    def pre_live_migration(self, context, instance, migrate_data):
        """Make room for the guest here: instance folder, serial ports.

        Nothing the source sent names a path here: the folder is this
        host's own ``instance_dir``, and the port count is checked first.
        """
        inst_dir = self.instance_dir(instance)
        count = migration.checked_port_count(migrate_data)
        shared = bool(migrate_data.is_shared_instance_path)
        disk_size = None
        if migrate_data.block_migration and not shared and (
                migrate_data.disk_virtual_size is not None):
            disk_size = migration.checked_disk_size(migrate_data)
        try:
            self._host.get_domain(instance)
        except exception.InstanceNotFound:
            pass
        else:
            # A stray or repeated call for a guest defined here: its
            # folder holds its live log and disk, never move it aside.
            raise exception.MigrationPreCheckError(
                reason='instance %s is already defined on this host'
                       % instance.uuid)
        if not shared:
            # (A shared folder is the source's own: its log and disk are
            # live and stay as they are.)
            self._prepare_incoming_dir(instance, inst_dir)
            self._incoming.add(instance.uuid)
        image = getattr(instance, 'image_meta', None)
        files = None
        if image is not None and (self._conf.glance.enabled or
                                  disk_size is not None):
            # Its kernel, ramdisk and disk image into this host's image
            # cache, where the migrated XML and the overlay name them
            # (migration.update_guest_xml).
            try:
                files = images.boot_files(context, self._conf, image)
            except exception.NovaException as e:
                raise exception.MigrationPreCheckError(
                    reason='image %s of %s not fetched here: %s' % (
                        image.id, instance.uuid, exception.fault_message(e)))
        if disk_size is not None:
            self._create_incoming_disk(instance, files, disk_size)
        addr = migrate_data.serial_listen_addr
        ports = []
        try:
            for _ in range(count):
                ports.append(self._acquire_port(addr, instance.uuid))
        except Exception:
            self._ports.release(instance.uuid,
                                [(addr, port) for port in ports])
            raise
        migrate_data.serial_listen_ports = ports
        return migrate_data

    @staticmethod
    def _prepare_incoming_dir(instance, inst_dir):
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

    def _create_incoming_disk(self, instance, files, size):
        """The overlay libvirt copies the source's disk into: qcow2 of
        ``size`` bytes over this host's cached image (the source's
        overlay holds only what the guest wrote; its backing image is
        the same image, fetched here)."""
        if files is None or not files.disk:
            raise exception.MigrationPreCheckError(
                reason='server %s has a local disk but its image is no '
                       'disk image here to back it' % instance.uuid)
        path = self.disk_path(instance)
        try:
            processutils.execute(
                'qemu-img', 'create', '-f', 'qcow2', '-F',
                files.disk_format, '-b', files.disk, path, str(size))
        except (processutils.ProcessExecutionError, OSError) as e:
            raise exception.MigrationPreCheckError(
                reason='cannot create the disk of %s here: %s' % (
                    instance.uuid,
                    (getattr(e, 'stderr', '') or str(e)).strip()[:300]))

    def live_migration(self, context, instance, dest_uri, migrate_data):
        """Run libvirt's migration job and watch it until libvirt ends it.

        The job runs in libvirtd (peer to peer): it goes on even if this
        process dies, which is why nothing here ever gives up on it.
        migrateToURI3 runs on a thread of its own; this one logs the
        job's progress until that call returns. On failure MigrationError
        is raised; the guest then normally keeps running here, untouched
        (see live_migration_guest_state). The serial ports and the log
        stay until post_live_migration.
        """
        dom = self._host.get_domain(instance)
        xml = self._xml_of(dom, instance, libvirt.VIR_DOMAIN_XML_MIGRATABLE)
        # The destination names the folder our rewritten XML points at.
        migration.check_dest_data(migrate_data, instance.uuid)
        dest_xml = migration.update_guest_xml(
            xml, migrate_data, self.instance_dir(instance))
        params = {libvirt.VIR_MIGRATE_PARAM_DEST_XML: dest_xml,
                  libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: dest_xml}
        disks = []
        if (migrate_data.block_migration and
                not migrate_data.is_shared_instance_path):
            # Only the disks in the instance folder: libvirt copies
            # them into the overlays pre_live_migration made there.
            disks = migration.local_disks(
                vconfig.LibvirtConfigGuest.from_xml(xml),
                self.instance_dir(instance))
        if disks:
            params[libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS] = disks
        flags = migration.migration_flags(LIVE_MIGRATION_FLAGS, disks)
        if migrate_data.inbound_addr:
            # Memory goes to, and the incoming QEMU listens on, that
            # address only: not whatever the destination's hostname means.
            params[libvirt.VIR_MIGRATE_PARAM_URI] = (
                'tcp://%s' % _uri_host(migrate_data.inbound_addr))
            params[libvirt.VIR_MIGRATE_PARAM_LISTEN_ADDRESS] = (
                migrate_data.inbound_addr)
        # Whether the guest writes console.log there: the copied log is
        # then its backups (post_live_migration).
        dest_log = os.path.join(migrate_data.instance_dir or '',
                                CONSOLE_LOG_NAME)
        self._outgoing[instance.uuid] = migration.writes_file(
            vconfig.LibvirtConfigGuest.from_xml(dest_xml), dest_log)
        LOG.info('Live migrating %s to %s%s', instance.uuid, dest_uri,
                 ' copying disk(s) %s' % ', '.join(disks) if disks else '')
        failure = []

        def run():
            try:
                dom.migrateToURI3(dest_uri, params, flags)
            except Exception as e:  # read by the watching thread
                failure.append(e)
        job = threading.Thread(target=run, daemon=True,
                               name='nova-migrate-%s' % instance.uuid)
        job.start()
        self._watch_migration(dom, instance, job)
        # Gone, or still here and perhaps resumed by a new QEMU.
        self._forget_log_source(instance)
        if failure:
            e = failure[0]
            raise exception.MigrationError(
                reason='libvirt could not migrate %s: %s' % (
                    instance.uuid, _message(e) if isinstance(
                        e, libvirt.libvirtError) else e))
        LOG.info('Live migration of %s: libvirt completed the job',
                 instance.uuid)

    @staticmethod
    def _watch_migration(dom, instance, job):
        """Log the job's progress until the thread ``job`` (libvirt's
        migrate call) returns: that return is libvirt saying the job
        ended, one way or the other."""
        last = time.monotonic()
        while job.is_alive():
            job.join(MIGRATION_POLL_INTERVAL)
            if not job.is_alive() or (time.monotonic() - last <
                                      MIGRATION_PROGRESS_INTERVAL):
                continue
            last = time.monotonic()
            try:
                stats = dom.jobStats()
            except libvirt.libvirtError as e:
                LOG.debug('No job statistics for %s: %s', instance.uuid,
                          _message(e))
                continue
            LOG.info('Live migration of %s: %d of %d MiB left after %d s',
                     instance.uuid, stats.get('data_remaining', 0) // MIB,
                     stats.get('data_total', 0) // MIB,
                     stats.get('time_elapsed', 0) // 1000)

    def live_migration_guest_state(self, instance):
        """See ComputeDriver: from the domain's state and its job."""
        try:
            dom = self._host.get_domain(instance)
            with _not_found_if_vanished(instance, 'asked for its state'):
                state, reason = dom.state()[:2]
                job = self._job_type(dom) if dom.isActive() else None
        except exception.InstanceNotFound:
            return driver.GUEST_ABSENT
        if job is not None and job not in _NO_JOB:
            return driver.GUEST_MIGRATING
        if (state == libvirt.VIR_DOMAIN_PAUSED and reason in (
                libvirt.VIR_DOMAIN_PAUSED_MIGRATION,
                libvirt.VIR_DOMAIN_PAUSED_POSTCOPY)):
            return driver.GUEST_MIGRATING
        if state == libvirt.VIR_DOMAIN_RUNNING:
            return driver.GUEST_RUNNING
        return driver.GUEST_STOPPED

    @staticmethod
    def _job_type(dom):
        """libvirt's job type on ``dom``; None from a hypervisor that
        does not tell (its state then says it all)."""
        try:
            return dom.jobInfo()[0]
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                raise
            return None

    def post_live_migration(self, context, instance, migrate_data):
        """The guest left: its ports go, its log follows it; the folder
        goes when nothing of the log is left only here. What the
        destination said is checked first (a recovery brings it fresh
        from the destination)."""
        migration.check_dest_data(migrate_data, instance.uuid)
        self._forget_log_source(instance)
        self._ports.release(instance.uuid)
        self._incoming.discard(instance.uuid)  # it left this host
        as_backups = self._outgoing.pop(instance.uuid, None)
        if as_backups is None:
            # After a restart: the guest there writes console.log unless
            # it is a tcp-only console on a host without virtlogd.
            as_backups = bool(migrate_data.supports_virtlogd or
                              not migrate_data.serial_listen_addr)
        if not os.path.isdir(self.instance_dir(instance)):
            return  # done before
        shared = migrate_data.is_shared_instance_path
        if shared is None:
            # No source check ran (a recovery brings the destination's
            # fresh facts): look for its check file here ourselves.
            shared = migration.shared_check_file_exists(
                self._conf.instances_path, migrate_data.filename)
        if shared:
            return  # the destination's folder too: its log and disk
        if self._carry_console_log(instance, migrate_data, as_backups):
            shutil.rmtree(self.instance_dir(instance), ignore_errors=True)

    def _carry_console_log(self, instance, migrate_data, as_backups):
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
        try:
            sent = log_transfer.copy_console_log(
                instance.uuid, log_path, migrate_data.inbound_addr,
                as_backups=as_backups,
                max_size=migrate_data.virtlogd_max_size,
                max_backups=migrate_data.virtlogd_max_backups,
                conf=self._conf, dest_dir=migrate_data.instance_dir)
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
        """Keep only the serial ports the arrived guest really listens on
        (all it holds are checked when ``migrate_data`` is None)."""
        self._forget_log_source(instance)
        self._incoming.discard(instance.uuid)
        _dom, guest = self._guest(instance)
        used = set(self._tcp_listeners(guest))
        if migrate_data is None:
            held = self._ports.ports_of(instance.uuid)
        else:
            addr = migrate_data.serial_listen_addr
            held = [(addr, port) for port in migrate_data.serial_listen_ports]
        self._ports.release(instance.uuid,
                            [pair for pair in held if pair not in used])

    def rollback_live_migration_at_destination(self, context, instance,
                                               migrate_data):
        """Undo pre_live_migration after a failed migration, unless the
        guest is defined here after all: its ports and folder are its."""
        self._forget_log_source(instance)
        if self.instance_exists(instance):
            LOG.warning('Rollback of the live migration of %s not done: '
                        'the guest is defined on this host', instance.uuid)
            return
        if migrate_data is None:
            self._ports.release(instance.uuid)
        else:
            addr = migrate_data.serial_listen_addr
            self._ports.release(instance.uuid, [
                (addr, port) for port in migrate_data.serial_listen_ports])
        prepared = instance.uuid in self._incoming
        self._incoming.discard(instance.uuid)
        if not prepared and (migrate_data is None or
                             migrate_data.is_shared_instance_path is not
                             False):
            # Not known to be a folder made here for this move: on a
            # shared instances folder it is the running guest's own
            # (its disk and log). A leftover is moved aside by the next
            # pre_live_migration.
            LOG.info('Rollback of %s: its instance folder here is left as '
                     'it is (not made by this migration, or shared)',
                     instance.uuid)
            return
        # The folder pre_live_migration made: the log, and the disk a
        # failed block migration was copying.
        shutil.rmtree(self.instance_dir(instance), ignore_errors=True)

    # Snapshot and shelve
    # (nova.conductor.shelve drives them; the bulk is in snapshot.py and
    # shelve_log.py)

    def snapshot_for_shelve(self, context, instance, image_id):
        """See ComputeDriver.snapshot_for_shelve."""
        self.power_off(instance)
        disk = self.disk_path(instance)
        if not os.path.lexists(disk):
            LOG.info('Server %s has no disk of its own: nothing to save',
                     instance.uuid)
            return False
        files = images.boot_files(context, self._conf, instance.image_meta,
                                  fetch=False)
        if not files.disk:
            raise exception.SnapshotFailed(
                reason='server %s has a disk but its image %s names none' %
                (instance.uuid, instance.image_meta.id))
        snapshot.save_disk(context, self._conf, image_api.API(self._conf),
                           instance.uuid, disk, files, image_id)
        return True

    def _virtlogd_writes_log(self):
        """Whether this host's guests get virtlogd's console.log."""
        return (self.uses_virtlogd() and
                self._conf.libvirt.virt_type in _QEMU_VIRT_TYPES)

    def read_console_log_for_shelve(self, instance):
        """See ComputeDriver.read_console_log_for_shelve."""
        max_size, max_backups = libvirt_host.read_virtlogd_limits(
            self._conf.libvirt.virtlogd_conf)
        inst_dir = self.instance_dir(instance)
        if not os.path.isdir(inst_dir):
            return None
        return shelve_log.read_log(inst_dir,
                                   shelve_log.bound(max_size, max_backups),
                                   self._virtlogd_writes_log())

    def shelve_offload(self, context, instance):
        """See ComputeDriver.shelve_offload."""
        self.destroy(context, instance, destroy_disks=True)

    def unshelve(self, context, instance, image_meta, snapshot_meta,
                 console_log):
        """See ComputeDriver.unshelve."""
        inst_dir = self.instance_dir(instance)
        if self.instance_exists(instance):
            raise exception.UnshelveFailed(
                instance_uuid=instance.uuid,
                reason='it is already defined on host %s' % self.host_name)
        shelve_log.clear_dir(inst_dir)
        instance_files.prepare_dir(inst_dir)
        lost = None
        try:
            if console_log is not None:
                lost = self._write_back_log(instance, inst_dir, console_log)
            if snapshot_meta is not None:
                try:
                    base = images.boot_files(context, self._conf,
                                             image_meta)
                except exception.NovaException as e:
                    raise exception.InstanceBootFailed(
                        instance_uuid=instance.uuid,
                        reason='its image %s: %s' % (
                            image_meta.id, exception.fault_message(e)))
                if not base.disk:
                    raise exception.InstanceBootFailed(
                        instance_uuid=instance.uuid,
                        reason='its image %s has no disk for its saved '
                               'disk to be based on' % image_meta.id)
                snapshot.restore_disk(context, self._conf, snapshot_meta,
                                      base, self.disk_path(instance))
                snapshot.forget_cached(self._conf, snapshot_meta.id)
            self.spawn(context, instance, image_meta)
        except Exception:
            # Nothing of it stays here: its log is still the conductor's.
            shutil.rmtree(inst_dir, ignore_errors=True)
            raise
        return lost

    def _write_back_log(self, instance, inst_dir, console_log):
        """Write the shelved log; a failure only loses the history.
        Returns None, or what was lost (for the instance's fault)."""
        max_size, max_backups = libvirt_host.read_virtlogd_limits(
            self._conf.libvirt.virtlogd_conf)
        as_backups = self._virtlogd_writes_log()
        try:
            names = shelve_log.write_log(inst_dir, console_log, as_backups,
                                         max_size, max_backups)
        except Exception as e:
            LOG.warning('Console log of %s not written back: %s; its '
                        'history before the shelve is lost', instance.uuid,
                        exception.fault_message(e))
            for name in os.listdir(inst_dir):
                if name.startswith(CONSOLE_LOG_NAME):
                    os.unlink(os.path.join(inst_dir, name))
            return ('console log history before the shelve not written '
                    'back on host %s: %s' % (self.host_name,
                                             exception.fault_message(e)))
        LOG.info('Console log of %s written back (%s): %s', instance.uuid,
                 'as backups' if as_backups else 'unchanged',
                 ', '.join(names))

    # Cold migration and resize
    # (nova.virt.libvirt.resize holds the steps; see its docstring.)

    def prepare_migration(self, context, instance, image_meta, same_host):
        """Destination: its facts (a LibvirtLiveMigrateData), its folder
        and the image ready."""
        return resize.prepare(self, context, instance, image_meta,
                              same_host)

    def migrate_disk_and_power_off(self, context, instance, dest_data,
                                   same_host):
        """Source: stop, keep the folder, copy disk and log; see
        resize.migrate_disk_and_power_off."""
        return resize.migrate_disk_and_power_off(
            self, context, instance, dest_data, same_host)

    def finish_migration(self, context, instance, image_meta, same_host):
        """Destination: define and start the guest with its new flavor."""
        resize.finish_migration(self, context, instance, image_meta,
                                same_host)

    def confirm_migration(self, context, instance, same_host):
        """Source: drop the kept folder, the old domain and its ports."""
        resize.confirm_migration(self, context, instance, same_host)

    def revert_migration_at_destination(self, context, instance,
                                        source_data, same_host):
        """Destination: remove the guest, send its log back."""
        return resize.revert_at_destination(self, context, instance,
                                            source_data, same_host)

    def finish_revert_migration(self, context, instance):
        """Source: back to the kept folder and old domain, started."""
        resize.finish_revert_migration(self, context, instance)
