"""A compute host's report: what it tells the conductor every
``report_interval`` seconds (the heartbeat), and what the scheduler and
the hypervisors API read back from the database.

The driver gives the values (``ComputeDriver.get_host_report``); the
compute service sends them as a ComputeNode; the conductor records its
fields (``dict(node.items())``: the fields that are set). A field the
driver does not know is simply not set.
"""

from oslo_versionedobjects import base as ovo_base

from nova.objects import base
from nova.objects import fields


def _is_ports_seq(value):
    # [boot id of the compute process, measurement number]: orders two
    # measurements of one process (see nova.db.api).
    return (isinstance(value, list) and len(value) == 2 and
            isinstance(value[0], str) and fields.is_int(value[1]))


def _bad_seq(attr, value):
    return ValueError('ComputeNode.%s %r: not [boot id, number]'
                      % (attr, value))


@base.NovaObjectRegistry.register
class ComputeNode(base.NovaObject, ovo_base.VersionedObjectDictCompat):
    # Version 1.0: the fields below
    VERSION = '1.0'

    fields = {
        'host': fields.StringField(),
        'hypervisor_hostname': fields.StringField(nullable=True),
        'hypervisor_type': fields.StringField(nullable=True),
        # libvirt's encoding of the hypervisor's version (1002003: 1.2.3)
        'hypervisor_version': fields.IntegerField(nullable=True),
        'libvirt_version': fields.StringField(nullable=True),
        'qemu_version': fields.StringField(nullable=True),
        # Whether this host passes the virtlogd gate, and how guests here
        # get their console logged: 'virtlogd', 'file' or 'none'.
        'virtlogd': fields.BooleanField(nullable=True),
        'console_log': fields.StringField(nullable=True),
        'host_ip': fields.StringField(nullable=True),
        'vcpus': fields.IntegerField(nullable=True),
        'vcpus_used': fields.IntegerField(nullable=True),
        'memory_mb': fields.IntegerField(nullable=True),
        'memory_mb_free': fields.IntegerField(nullable=True),
        'running_vms': fields.IntegerField(nullable=True),
        'serial_console_enabled': fields.BooleanField(nullable=True),
        # The serial port facts (LibvirtDriver.serial_port_facts).
        'serial_ports_total': fields.IntegerField(nullable=True),
        'serial_ports_free': fields.IntegerField(nullable=True),
        'serial_port_holders': fields.ListOfStringsField(nullable=True),
        'serial_ports_seq': fields.StrictField(_is_ports_seq, _bad_seq),
    }
