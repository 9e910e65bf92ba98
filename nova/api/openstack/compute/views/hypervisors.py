"""Hypervisor bodies of /os-hypervisors, shaped like Nova's before 2.28.

The detailed body has Nova's fields (disk figures are 0: guests here
boot from files the operator registered, there is no disk accounting)
and this project's own, which say how each host serves the serial
console and its log:

``virtlogd``
    The host passed the virtlogd gate (libvirt >= 1.3.3 and QEMU >=
    2.6.0): its guests' consoles are logged by virtlogd.
``console_log``
    How the host logs its guests' consoles: ``virtlogd``, ``file`` (QEMU
    writes the log itself) or ``none``.
``libvirt_version``, ``qemu_version``
    ``X.Y.Z``.
``serial_ports``
    ``total`` and ``free`` tcp ports of ``[serial_console] port_range``.
"""

# A string before 2.28, as libvirt reports it; not collected here.
CPU_INFO = '{}'


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


def detail(hypervisor, service_id):
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
        'cpu_info': CPU_INFO,
        'service': {
            'host': hypervisor['host'],
            'id': service_id,
            'disabled_reason': hypervisor.get('disabled_reason'),
        },
        # This project's extension.
        'virtlogd': bool(hypervisor['virtlogd']),
        'console_log': hypervisor['console_log'],
        'libvirt_version': hypervisor['libvirt_version'],
        'qemu_version': hypervisor['qemu_version'],
        'serial_ports': {
            'total': hypervisor['serial_ports_total'],
            'free': hypervisor['serial_ports_free'],
        },
    })
    return body
