from oslo_config import cfg

from nova.conf import base

libvirt_group = cfg.OptGroup(
    'libvirt',
    title='Libvirt options',
    help='Options for the libvirt compute driver.')

libvirt_opts = [
    cfg.StrOpt(
        'virt_type',
        default='kvm',
        choices=('kvm', 'qemu', 'lxc', 'parallels', 'xen'),
        help="""
Libvirt domain type.

Use ``kvm`` where hardware virtualisation works and ``qemu`` (pure software
emulation, TCG) where it does not. The console log through virtlogd is only
configured for ``kvm`` and ``qemu`` guests; other types get a plain pty.
"""),
    cfg.StrOpt(
        'connection_uri',
        default='',
        help="""
Libvirt connection URI. Empty means the default for ``virt_type``
(``qemu:///system`` for kvm and qemu). ``test:///default`` runs the driver
against libvirt's in-memory test hypervisor.
"""),
    cfg.StrOpt(
        'virtlogd_conf',
        default='/etc/libvirt/virtlogd.conf',
        help="""
virtlogd's configuration file on this host. The driver reads ``max_size``
and ``max_backups`` from it (libvirt's defaults when absent) so that a
console log carried in by a live migration is cut to the same bounds that
virtlogd keeps here.
"""),
    cfg.HostAddressOpt(
        'live_migration_inbound_addr',
        help="""
Address of this host on the network used for live migration. Incoming
guest memory is sent to it, and a source host copies a migrating guest's
console log to the rsync daemon on it. Unset: libvirt picks the address
for memory, and console logs are not copied to this host (a warning names
each guest whose log stays behind).
"""),
    cfg.StrOpt(
        'live_migration_connect_uri',
        help="""
libvirt URI by which other hosts' libvirtd reach this host's libvirtd for a
peer-to-peer live migration. Default:
``qemu+tcp://<live_migration_inbound_addr>/system``.
"""),
    cfg.StrOpt(
        'console_log_transfer',
        default='rsync',
        choices=(('rsync', 'copy with rsync to the destination\'s rsync '
                           'daemon (module console_log_rsync_module)'),
                 ('none', 'never copy; the log stays on the source host')),
        help="""
How a live migration carries the guest's console log to the destination.
A failed copy never stops a migration: it is logged as a warning naming
the guest and the cause.
"""),
    cfg.PortOpt(
        'console_log_rsync_port',
        default=873,
        help='Port of the rsync daemon on each compute host.'),
    cfg.StrOpt(
        'console_log_rsync_module',
        default='nova-instances',
        help="""
rsync daemon module on each compute host whose path is that host's
``instances_path``. The module is writable: give it ``auth users`` and a
``secrets file`` (never an anonymous module), ``use chroot = yes``,
``munge symlinks = yes``, ``address`` = the host's migration address and
``hosts allow`` = the compute hosts' migration addresses. See
doc/source/admin/deployment-multihost.rst.

Related options:

* ``console_log_rsync_user``, ``console_log_rsync_password_file``
"""),
    cfg.StrOpt(
        'console_log_rsync_user',
        default='nova',
        help="""
User name this host logs in as to the other hosts' rsync daemons (their
module's ``auth users``) when it copies a console log after a live
migration.

Possible values:

* A user name listed in every destination's ``secrets file``

Related options:

* ``console_log_rsync_password_file``
"""),
    cfg.StrOpt(
        'console_log_rsync_password_file',
        help="""
File holding the password for ``console_log_rsync_user`` at the
destination's rsync daemon (rsync ``--password-file``: the first line is
the password). It must be a regular file owned by the user nova-compute
runs as and readable by nobody else (mode 0600), or no copy is tried.
``%(dest)s`` in the path is replaced by the destination's
``live_migration_inbound_addr``, so each destination host can have its own
password.

Possible values:

* Unset (default): console logs are not copied; each migration logs a
  warning naming the guest whose log stays on the source host
* A path, e.g. ``/etc/nova/rsync.password`` (one password all hosts'
  daemons accept)
* A path with ``%(dest)s``, e.g. ``/etc/nova/rsync/%(dest)s.password``
  (one password per destination host)

Related options:

* ``console_log_rsync_user``, ``console_log_rsync_module``,
  ``console_log_transfer``
"""),
    cfg.IntOpt(
        'console_log_transfer_timeout',
        default=60,
        min=1,
        help="""
Seconds a console log copy may stall (connect, or no data moving) before
it is abandoned. The migration itself has finished by then.
"""),
    cfg.IntOpt(
        'wait_soft_reboot_seconds',
        default=120,
        min=0,
        help="""
Seconds a soft reboot waits for the guest to shut down after asking it to
(an ACPI power button press), before rebooting it hard. A guest that
shuts down in time is started again from its definition (a soft reboot);
one that ignores the request, or has no ACPI support, gets a hard reboot
after this wait, logged as a warning naming the guest.

Possible values:

* 0: do not wait; every soft reboot becomes a hard reboot at once.
* A positive number of seconds. The server stays in task state
  ``rebooting`` for up to this long, and no other action on it runs
  meanwhile.

Related options:

* ``[DEFAULT] long_rpc_timeout`` must be well above this, or the API gives
  up on the reboot before the host falls back to a hard one.
"""),
]


def register_opts(conf):
    group = base.fresh_group(libvirt_group)
    conf.register_group(group)
    conf.register_opts(libvirt_opts, group=group)


def list_opts():
    return {libvirt_group: libvirt_opts}
