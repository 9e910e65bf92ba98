"""Cold migration and resize: the libvirt driver's part.

The steps, in the order the conductor runs them (nova.conductor.migrate):

* destination, ``prepare``: its facts for the source (a
  LibvirtLiveMigrateData: instance folder, migration address, virtlogd
  limits), its instance folder made, the image in its image cache.
* source, ``migrate_disk_and_power_off``: the guest is stopped (its
  domain stays defined, its serial ports held, until confirm), its
  folder renamed ``<uuid>_resize`` (kept for a revert, with the domain's
  XML in ``libvirt.xml``), the disk copied to the destination through
  ``remotefs`` and the whole log chain through ``log_transfer`` with its
  names unchanged (nothing writes the log there yet). A failed disk copy
  puts the folder back and starts the guest again: it stays, running. A
  failed log copy only warns.
* destination, ``finish_migration``: the disk points at this host's
  image cache, grows to the new flavor's root disk, and the guest is
  defined with this host's capabilities (virtlogd's ``<log>`` when it
  has it, else the older devices), with the new flavor's serial ports,
  and started; virtlogd appends to the log that arrived.
* confirm, source: the kept folder and the domain go, its ports too.
* revert, destination: the guest is stopped and undefined, its ports
  released, and its log chain (the source's history and what it wrote
  here) sent back to the source's instance folder; source:
  ``finish_revert_migration`` takes that chain in place of its own,
  puts the kept folder back and starts the old domain.

On one host (``[DEFAULT] allow_resize_to_same_host``) the disk is copied
locally and the log files are moved: the domain keeps its name, so the
destination's definition replaces the source's until a revert defines
the kept XML again.

Every file in a folder another host wrote is hostile: links are never
followed (only regular files of the log's names are taken, relative to
a checked folder descriptor), and the disk's header is checked before
every start (disk_check, in LibvirtDriver._start).
"""

import json
import os
import shutil
import stat
import time

import libvirt
from oslo_concurrency import processutils
from oslo_log import log as logging

from nova import exception
from nova.virt import images
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import disk_check
from nova.virt.libvirt import instance_files
from nova.virt.libvirt import log_transfer
from nova.virt.libvirt import migration
from nova.virt.libvirt import remotefs

LOG = logging.getLogger(__name__)

KEPT_SUFFIX = '_resize'
KEPT_XML = 'libvirt.xml'
# The driver's names (nova.virt.libvirt.driver).
LOG_NAME = 'console.log'
DISK_NAME = 'disk'
GIB = 1024 ** 3


# In nova.exception, so that it crosses RPC as itself.
ResizeError = exception.ResizeError


def _remotefs(conf):
    """The remote file system (ssh part): [libvirt]
    remote_filesystem_transport, ssh user, key and known hosts."""
    return remotefs.RemoteFilesystem(conf)


def kept_dir(drv, instance):
    return drv.instance_dir(instance) + KEPT_SUFFIX


def _move_aside(path, why):
    aside = '%s.orphaned-%d' % (path, time.time())
    LOG.warning('%s: %s moved to %s', why, path, aside)
    os.rename(path, aside)


def prepare(drv, context, instance, image_meta, same_host):
    """Destination: make room, fetch the image; returns its facts."""
    data = drv.check_can_live_migrate_destination(context, instance)
    # Its shared storage check file is for a live migration's source:
    # nothing looks for it here, so it goes at once.
    drv.cleanup_live_migration_destination_check(context, data)
    data.filename = None
    if not same_host:
        if drv.instance_exists(instance):
            raise ResizeError(reason='instance %s is already defined on '
                              'host %s' % (instance.uuid, drv.host_name))
        inst_dir = drv.instance_dir(instance)
        if (os.path.isdir(inst_dir) and not os.path.islink(inst_dir) and
                os.listdir(inst_dir)):
            # On a shared instances folder this is the running guest's
            # own folder (its disk and log, on the source): nothing
            # here tells it from a folder left from an earlier stay, so
            # it is never moved (nor removed by the clean-up).
            raise ResizeError(
                reason='the instance folder %s of %s already holds files '
                       'on %s: the instances folder is shared with the '
                       'source (cold migration and resize need separate '
                       'ones), or it is left from an earlier stay (an '
                       'operator must move it away)' % (
                           inst_dir, instance.uuid, drv.host_name))
        if os.path.lexists(inst_dir) and (not os.path.isdir(inst_dir) or
                                          os.path.islink(inst_dir)):
            _move_aside(inst_dir, 'Instance folder of %s is not a folder'
                        % instance.uuid)
        instance_files.prepare_dir(inst_dir)
        # Made here for this move: the only folder a failed move's
        # clean-up removes (revert_at_destination).
        drv._incoming.add(instance.uuid)
    if image_meta is not None:
        try:
            images.boot_files(context, drv._conf, image_meta)
        except exception.NovaException as e:
            raise ResizeError(reason='image %s of %s not fetched on %s: %s'
                              % (image_meta.id, instance.uuid,
                                 drv.host_name, exception.fault_message(e)))
    return data


def _copy_local(src, dst):
    processutils.execute('cp', '--sparse=always', '--no-dereference',
                         '--', src, dst)


def _log_chain(folder):
    """The log chain's paths in ``folder`` (regular files only; a link
    is refused), oldest first; [] when the folder is unsafe."""
    try:
        fd = instance_files.open_dir(folder)
    except (exception.InstanceFileUnsafe, OSError) as e:
        LOG.warning('Console log in %s not taken: %s', folder, e)
        return []
    try:
        return log_transfer.log_chain(
            os.path.join(folder, LOG_NAME), fd)
    except log_transfer.LogTransferFailed as e:
        LOG.warning('Console log in %s not taken: %s', folder, e)
        return []
    finally:
        os.close(fd)


def _move_log(src_dir, dst_dir):
    """Rename the log chain of ``src_dir`` into ``dst_dir`` (one file
    system), replacing the chain there; returns the names moved."""
    chain = _log_chain(src_dir)
    if not chain:
        return []
    for old in _log_chain(dst_dir):
        os.unlink(old)
    names = []
    for path in chain:
        name = os.path.basename(path)
        os.rename(path, os.path.join(dst_dir, name))
        names.append(name)
    return names


def _send_log(drv, instance, folder, addr, data):
    """Send the log chain of ``folder`` to ``addr``'s instance folder,
    names unchanged. Returns None, or the note of why it was not sent
    (never raises: a lost log copy never fails a move)."""
    log_path = os.path.join(folder, LOG_NAME)
    if not log_transfer.log_chain_exists(log_path):
        return None
    try:
        sent = log_transfer.copy_console_log(
            instance.uuid, log_path, addr, as_backups=False,
            max_size=data.virtlogd_max_size,
            max_backups=data.virtlogd_max_backups, conf=drv._conf,
            dest_dir=data.instance_dir)
    except Exception as e:
        note = ('Console log of %s not copied to %s: %s; it stays in %s on '
                '%s' % (instance.uuid, addr,
                        getattr(e, 'kwargs', {}).get('reason') or e,
                        folder, drv.host_name))
        LOG.warning(note)
        return note
    LOG.info('Copied console log of %s to %s: %s', instance.uuid, addr,
             ', '.join(sent or ()))
    return None


def migrate_disk_and_power_off(drv, context, instance, dest_data,
                               same_host):
    """Source: stop the guest, keep its folder, send disk and log.

    :returns: None, or a note (str) on a log that was not copied.
    :raises ResizeError: the disk was not copied (the message names the
        destination); the guest then runs here again as before.
    """
    inst_dir = drv.instance_dir(instance)
    kept = kept_dir(drv, instance)
    dom, _guest = drv._guest(instance)
    dest_dir = dest_data.instance_dir or inst_dir
    if not same_host:
        # What the destination said decides where the disk and log go:
        # checked as a live migration's source checks it.
        try:
            migration.check_dest_data(dest_data, instance.uuid)
        except exception.MigrationError as e:
            raise ResizeError(reason='destination facts for %s refused: %s'
                              % (instance.uuid,
                                 e.kwargs.get('reason', e.message)))
        addr = dest_data.inbound_addr
        if not addr:
            raise ResizeError(reason='the destination has no [libvirt] '
                              'live_migration_inbound_addr to copy the '
                              'disk of %s to' % instance.uuid)
        # Before anything changes: a transport that cannot be set up
        # refuses the move with the guest untouched.
        remote = (_remotefs(drv._conf) if os.path.lexists(
            drv.disk_path(instance)) else None)
    try:
        mode = os.lstat(drv.disk_path(instance)).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        # Planted: never copied (nor followed) to another host.
        raise ResizeError(reason='the disk of %s on %s is not a regular '
                          'file' % (instance.uuid, drv.host_name))
    if os.path.lexists(kept):
        _move_aside(kept, 'Kept folder of an earlier resize of %s'
                    % instance.uuid)
    was_running = bool(dom.isActive())
    drv.power_off(instance)
    xml = drv._xml_of(dom, instance)
    if same_host:
        os.rename(inst_dir, kept)
        _write_xml(kept, xml)
        try:
            instance_files.prepare_dir(inst_dir)
            disk = os.path.join(kept, DISK_NAME)
            if os.path.isfile(disk) and not os.path.islink(disk):
                _copy_local(disk, drv.disk_path(instance))
            _move_log(kept, inst_dir)
        except Exception as e:
            _restore(drv, instance, inst_dir, kept, was_running)
            raise ResizeError(reason='disk of %s not copied on %s: %s' % (
                instance.uuid, drv.host_name,
                exception.fault_message(e))) from e
        return None
    # From the folder as it is (its name is the uuid, which the log's
    # transfer checks); kept aside only once both are sent.
    try:
        if remote is not None:
            remote.copy_to(addr, drv.disk_path(instance),
                           os.path.join(dest_dir, DISK_NAME))
    except Exception as e:
        reason = (e.message if isinstance(e, exception.NovaException)
                  else str(e))
        if was_running:
            drv._start(drv._host.get_domain(instance), instance)
        raise ResizeError(reason='disk of %s not copied to %s: %s; it '
                          'stays on %s' % (instance.uuid, addr, reason,
                                           drv.host_name)) from e
    note = _send_log(drv, instance, inst_dir, addr, dest_data)
    os.rename(inst_dir, kept)
    _write_xml(kept, xml)
    return note


def _write_xml(kept, xml):
    with open(os.path.join(kept, KEPT_XML), 'x') as f:
        f.write(xml)


def _restore(drv, instance, inst_dir, kept, start):
    """Undo the source's step: the kept folder back, the guest started."""
    if os.path.isdir(inst_dir) and not os.path.islink(inst_dir):
        _move_log(inst_dir, kept)
        shutil.rmtree(inst_dir, ignore_errors=True)
    try:
        os.unlink(os.path.join(kept, KEPT_XML))
    except FileNotFoundError:
        pass
    os.rename(kept, inst_dir)
    if start:
        dom = drv._host.get_domain(instance)
        drv._start(dom, instance)


def _grow(path, root_gb):
    out, _err = processutils.execute(
        'qemu-img', 'info', '--output=json', '-f', 'qcow2', '--', path)
    size = json.loads(out).get('virtual-size', 0)
    if root_gb * GIB > size:
        processutils.execute('qemu-img', 'resize', '-f', 'qcow2', '--',
                             path, '%dG' % root_gb)
        LOG.info('Disk %s grown to %d GiB', path, root_gb)


def _check_arrived_header(disk, instance, host_name):
    """The disk another host wrote, before qemu-img rebases or grows
    it: qcow2 without an external data file (those would open, and
    grow, the file its header names). Its header alone is read (no
    backing file is opened); the start checks the whole chain
    (disk_check)."""
    try:
        info = disk_check.header_info(disk)
    except exception.InstanceFileUnsafe as e:
        raise ResizeError(reason='the disk of %s on %s: %s' % (
            instance.uuid, host_name, e.kwargs.get('reason', e.message)))
    problem = None
    if not isinstance(info, dict):
        problem = 'qemu-img gave no information about it'
    elif info.get('format') != 'qcow2':
        problem = 'format %s, not a qcow2 overlay' % info.get('format')
    elif disk_check.has_data_file(info):
        problem = 'it has an external data file'
    if problem:
        LOG.warning('Arrived disk %s refused: %s', disk, problem)
        raise ResizeError(reason='the disk of %s that arrived on %s is '
                          'refused: %s' % (instance.uuid, host_name,
                                           problem))


def finish_migration(drv, context, instance, image_meta, same_host):
    """Destination: point the disk at this host's cache, grow it to the
    new flavor's root disk, define and start the guest (new flavor's
    serial ports, this host's log devices)."""
    if not same_host and drv.instance_exists(instance):
        raise ResizeError(reason='instance %s is already defined on %s'
                          % (instance.uuid, drv.host_name))
    files = images.boot_files(context, drv._conf, image_meta)
    disk = drv.disk_path(instance)
    if files.disk:
        try:
            st = os.lstat(disk)
        except FileNotFoundError:
            raise ResizeError(reason='the disk of %s did not arrive on %s'
                              % (instance.uuid, drv.host_name))
        if not stat.S_ISREG(st.st_mode):
            raise ResizeError(reason='the disk of %s on %s is not a '
                              'regular file' % (instance.uuid,
                                                drv.host_name))
        _check_arrived_header(disk, instance, drv.host_name)
        try:
            # Its header names the source's cache: this host's instead
            # (-u: nothing is read through the old name).
            processutils.execute(
                'qemu-img', 'rebase', '-u', '-f', 'qcow2', '-F',
                files.disk_format, '-b', files.disk, '--', disk)
            root_gb = getattr(instance.flavor, 'root_gb', 0) or 0
            if root_gb:
                _grow(disk, root_gb)
        except (processutils.ProcessExecutionError, OSError) as e:
            raise ResizeError(reason='disk of %s on %s: %s' % (
                instance.uuid, drv.host_name,
                (getattr(e, 'stderr', '') or str(e)).strip()))
    drv.spawn(context, instance, image_meta)
    # Defined here now: its folder is the guest's, no longer a move's.
    drv._incoming.discard(instance.uuid)


def confirm_migration(drv, context, instance, same_host):
    """Source: the kept folder goes, and (another host) the old domain
    and its ports; on one host only the old ports the new domain does
    not use."""
    kept = kept_dir(drv, instance)
    old = None
    try:
        with open(os.path.join(kept, KEPT_XML)) as f:
            old = f.read()
    except OSError:
        pass
    if same_host:
        if old is not None:
            old_ports = set(drv._tcp_listeners(
                vconfig.LibvirtConfigGuest.from_xml(old)))
            try:
                _dom, guest = drv._guest(instance)
                old_ports -= set(drv._tcp_listeners(guest))
            except exception.InstanceNotFound:
                pass
            drv._ports.release(instance.uuid, sorted(old_ports))
    else:
        drv.destroy(context, instance, destroy_disks=False)
    if os.path.isdir(kept) and not os.path.islink(kept):
        shutil.rmtree(kept, ignore_errors=True)


def revert_at_destination(drv, context, instance, source_data, same_host):
    """Destination: stop and undefine the guest, release its ports, send
    the log back. Returns None or a note on a log not sent back."""
    if same_host:
        return _revert_same_host(drv, instance)
    # The folder is this move's when prepare made it or the finish
    # defined the guest in it here.
    prepared = (instance.uuid in drv._incoming or
                drv.instance_exists(instance))
    drv._incoming.discard(instance.uuid)
    drv.destroy(context, instance, destroy_disks=False)
    inst_dir = drv.instance_dir(instance)
    if not os.path.isdir(inst_dir):
        return None
    if not log_transfer.log_chain_exists(os.path.join(inst_dir, LOG_NAME)):
        # Only what prepare made (a failed move): nothing to send back.
        # A folder prepare did not make is not this move's to remove.
        if prepared:
            shutil.rmtree(inst_dir, ignore_errors=True)
        return None
    note = None
    if source_data is None or not source_data.inbound_addr:
        note = ('Console log of %s not sent back: the source has no '
                '[libvirt] live_migration_inbound_addr; it stays in %s on '
                '%s' % (instance.uuid, inst_dir, drv.host_name))
        LOG.warning(note)
    else:
        note = _send_log(drv, instance, inst_dir, source_data.inbound_addr,
                         source_data)
    if note is None:
        shutil.rmtree(inst_dir, ignore_errors=True)
    return note


def _kept_xml(drv, instance):
    try:
        with open(os.path.join(kept_dir(drv, instance), KEPT_XML)) as f:
            return f.read()
    except OSError:
        return None


def _revert_same_host(drv, instance):
    """One host: the new definition goes, with the ports only it holds;
    the old one (still there when the finish failed before defining the
    new one) is only stopped."""
    try:
        dom, guest = drv._guest(instance)
    except exception.InstanceNotFound:
        return None
    kept = _kept_xml(drv, instance)
    if kept is None:
        LOG.warning('Revert of %s on %s: nothing kept; its guest is left '
                    'as it is', instance.uuid, drv.host_name)
        return None
    drv._forget_log_source(instance)
    if dom.isActive():
        dom.destroy()
    if drv._xml_of(dom, instance) == kept:
        return None  # the old definition: finish_revert starts it
    old = set(drv._tcp_listeners(vconfig.LibvirtConfigGuest.from_xml(kept)))
    drv._undefine(dom)
    drv._ports.release(instance.uuid, [
        pair for pair in drv._tcp_listeners(guest) if pair not in old])
    return None


def finish_revert_migration(drv, context, instance):
    """Source: the log that came back replaces the kept one (it holds
    the history too), the kept folder is put back and the old domain
    started."""
    inst_dir = drv.instance_dir(instance)
    kept = kept_dir(drv, instance)
    if not os.path.isdir(kept) or os.path.islink(kept):
        if drv.instance_exists(instance) and os.path.isdir(inst_dir):
            LOG.info('Revert of %s already done on %s', instance.uuid,
                     drv.host_name)
            if not drv.is_running(instance):
                drv._start(drv._host.get_domain(instance), instance)
            return
        raise ResizeError(reason='nothing of %s kept on %s to revert to'
                          % (instance.uuid, drv.host_name))
    with open(os.path.join(kept, KEPT_XML)) as f:
        xml = f.read()
    _restore(drv, instance, inst_dir, kept, start=False)
    if not drv.instance_exists(instance):
        # One host: the destination's definition replaced it.
        conn = drv._host.get_connection()
        conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
    drv._start(drv._host.get_domain(instance), instance)
