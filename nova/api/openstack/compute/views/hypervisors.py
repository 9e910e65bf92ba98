"""Hypervisor bodies of /os-hypervisors, shaped like Nova's (2.1 to
2.52: integer ids; ``cpu_info`` a JSON string before 2.28, an object
from 2.28).

The detailed body has Nova's fields only, so clients that validate it
strictly (tempest's schemas) accept it. Disk figures are 0: guests here
boot from images, there is no disk accounting. How each host serves the
serial console and its log is this project's own extension,
``/os-hypervisors/{id}/serial-console-facts`` (:func:`console_facts`).
"""

import json

from nova.api.openstack.compute import microversion

CPU_INFO_OBJECT_VERSION = microversion.APIVersion(2, 28)


def _state(hypervisor):
    return 'up' if hypervisor['up'] else 'down'


def _status(hypervisor):
    return 'disabled' if hypervisor['disabled'] else 'enabled'


def basic(hypervisor):
    return {
        'id': hypervisor['id'],
        'hypervisor_hostname': hypervisor['hypervisor_hostname'],
        'state': _state(hypervisor),
        'status': _status(hypervisor),
    }


def _cpu_info(req, hypervisor):
    info = hypervisor.get('cpu_info') or {}
    if microversion.is_supported(req, CPU_INFO_OBJECT_VERSION):
        return info
    return json.dumps(info, sort_keys=True)


def detail(req, hypervisor, service_id):
    """``service_id``: the id of the host's nova-compute service."""
    body = basic(hypervisor)
    memory_mb = hypervisor['memory_mb']
    memory_mb_used = hypervisor['memory_mb_used']
    body.update({
        'vcpus': hypervisor['vcpus'],
        'vcpus_used': hypervisor['vcpus_used'],
        'memory_mb': memory_mb,
        'memory_mb_used': memory_mb_used,
        'free_ram_mb': memory_mb - memory_mb_used,
        'local_gb': 0,
        'local_gb_used': 0,
        'free_disk_gb': 0,
        'disk_available_least': 0,
        'current_workload': 0,
        'running_vms': hypervisor['running_vms'],
        'hypervisor_type': hypervisor['hypervisor_type'],
        'hypervisor_version': hypervisor['hypervisor_version'],
        'host_ip': hypervisor['host_ip'],
        'cpu_info': _cpu_info(req, hypervisor),
        'service': {
            'host': hypervisor['host'],
            'id': service_id,
            'disabled_reason': hypervisor.get('disabled_reason'),
        },
    })
    return body


# Summed by GET /os-hypervisors/statistics, as Nova (its 12 keys).
STATISTICS_KEYS = ('count', 'vcpus', 'vcpus_used', 'memory_mb',
                   'memory_mb_used', 'free_ram_mb', 'local_gb',
                   'local_gb_used', 'free_disk_gb', 'disk_available_least',
                   'current_workload', 'running_vms')


def statistics(hypervisors):
    """Nova's sums over the hypervisors of enabled services."""
    totals = dict.fromkeys(STATISTICS_KEYS, 0)
    for hypervisor in hypervisors:
        if hypervisor['disabled']:
            continue
        totals['count'] += 1
        for key in ('vcpus', 'vcpus_used', 'memory_mb', 'memory_mb_used',
                    'running_vms'):
            totals[key] += hypervisor[key]
    totals['free_ram_mb'] = totals['memory_mb'] - totals['memory_mb_used']
    return totals


def with_servers(hypervisor, servers):
    """The basic body with ``servers`` (name and uuid of each); as Nova
    before 2.53, the key is left out when there are none."""
    body = basic(hypervisor)
    if servers:
        body['servers'] = [{'name': name, 'uuid': uuid}
                           for name, uuid in servers]
    return body


def uptime(hypervisor, text):
    return dict(basic(hypervisor), uptime=text)


def console_facts(hypervisor):
    """This project's extension: how the host serves the serial console
    and its log.

    ``virtlogd``: the host passed the virtlogd gate (libvirt >= 1.3.3
    and QEMU >= 2.6.0); ``console_log``: ``virtlogd``, ``file`` (QEMU
    writes the log itself) or ``none``; ``libvirt_version`` and
    ``qemu_version``: ``X.Y.Z``; ``serial_ports``: ``total`` and
    ``free`` tcp ports of ``[serial_console] port_range``.
    """
    return {
        'id': hypervisor['id'],
        'hypervisor_hostname': hypervisor['hypervisor_hostname'],
        'virtlogd': bool(hypervisor['virtlogd']),
        'console_log': hypervisor['console_log'],
        'libvirt_version': hypervisor['libvirt_version'],
        'qemu_version': hypervisor['qemu_version'],
        'serial_ports': {
            'total': hypervisor['serial_ports_total'],
            'free': hypervisor['serial_ports_free'],
        },
    }
