"""What the destination of a live migration tells the source, and back.

The destination fills in its facts, the source its own, and each side
acts on the other's: every field is typed strictly (no coercion) and a
value of the wrong type is refused with MigrationError naming the field,
both on construction and when it arrives over RPC. The ranges (ports,
counts, paths, URIs) are the receiving host's policy and are checked
there (``nova.virt.libvirt.migration.check_dest_data`` and
``checked_port_count``).
"""

from nova import exception
from nova.objects import base
from nova.objects import fields


def _error(kind):
    def error(attr, value):
        return exception.MigrationError(
            reason='the migrate data field %s is %r: not %s'
                   % (attr, value, kind))
    return error


def _str(**kwargs):
    return fields.StrictField(lambda v: isinstance(v, str),
                              _error('a string'), **kwargs)


def _int(**kwargs):
    return fields.StrictField(fields.is_int, _error('a whole number'),
                              **kwargs)


def _bool(**kwargs):
    return fields.StrictField(lambda v: isinstance(v, bool),
                              _error('true or false'), **kwargs)


def _is_int_list(value):
    return isinstance(value, list) and all(fields.is_int(p) for p in value)


@base.NovaObjectRegistry.register
class LibvirtLiveMigrateData(base.NovaObject):
    """Facts about the destination host, gathered before the guest moves.

    ``serial_listen_ports[i]`` is the destination port for the guest's
    serial port with target port ``i``. ``supports_virtlogd`` is the
    destination's version gate: when False the guest loses its ``<log>``
    elements there. ``inbound_addr`` is where guest memory and the console
    log go; ``connect_uri`` is how the source's libvirtd reaches the
    destination's.

    Block migration (Nova's fields): ``filename`` is the base name of a
    file the destination created in its instances folder; the source
    looks for it in its own (``is_shared_instance_path``).
    ``block_migration`` (True, False; None: "auto", the source decides:
    block migration when the folder is not shared). ``disk_over_commit``
    (None from microversion 2.25) sizes the check against
    ``disk_available_mb``, the destination's free space in MiB.
    ``disk_virtual_size`` is the source's local disk's virtual size in
    bytes (None: no local disk): the destination makes its overlay that
    size.
    """

    # Version 1.0: the fields below
    # Version 1.1: filename, is_shared_instance_path, disk_over_commit,
    #              disk_available_mb, disk_virtual_size (block migration)
    VERSION = '1.1'

    fields = {
        # Filled in by the destination (check_can_live_migrate_destination).
        'serial_listen_addr': _str(default=None),
        'supports_virtlogd': _bool(default=False),
        'instance_dir': _str(default=None),
        'inbound_addr': _str(default=None),
        'connect_uri': _str(default=None),
        'virtlogd_max_size': _int(default=None),
        'virtlogd_max_backups': _int(default=None),
        # Asked by the caller: True, False, or None for "auto".
        'block_migration': _bool(default=None),
        'disk_over_commit': _bool(default=None),
        # By the destination (check_can_live_migrate_destination).
        'filename': _str(default=None),
        'disk_available_mb': _int(default=None),
        # By the source (check_can_live_migrate_source).
        'is_shared_instance_path': _bool(default=None),
        'disk_virtual_size': _int(default=None),
        # By the source (check_can_live_migrate_source).
        'serial_port_count': _int(default=0),
        # By the destination again (pre_live_migration).
        'serial_listen_ports': fields.StrictField(
            _is_int_list, _error('a list of whole numbers'), default=[]),
    }

    # What a 1.0 reader (a host without block migration) does not know.
    _BLOCK_FIELDS = ('filename', 'is_shared_instance_path',
                     'disk_over_commit', 'disk_available_mb',
                     'disk_virtual_size')

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if target_version == '1.0':
            for name in self._BLOCK_FIELDS:
                primitive.pop(name, None)
