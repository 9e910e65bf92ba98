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
guest memory is sent to it, and other hosts reach this host's sshd at it
to bring a moving guest's console log and files (remote_filesystem_*).
Unset: libvirt picks the address for memory, and console logs are not
copied to this host (a warning names each guest whose log stays behind).
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
        default='remotefs',
        choices=(('remotefs', 'copy to the destination over the remote file '
                              'system transport (ssh)'),
                 ('rsync', 'the same as remotefs (the name before it went '
                           'over ssh)'),
                 ('none', 'never copy; the log stays on the source host')),
        help="""
How a live migration carries the guest's console log to the destination.
A failed copy never stops a migration: it is logged as a warning naming
the guest, the destination and the cause.

Possible values:

* ``remotefs`` (default): over ssh, as ``remote_filesystem_transport``
  says, to the destination's ``live_migration_inbound_addr``
* ``rsync``: accepted for older configurations; the same as ``remotefs``
* ``none``: the log stays in this host's instance folder

Related options:

* ``remote_filesystem_transport`` and the ``remote_filesystem_ssh_*``
  options: the login the copy uses
"""),
    cfg.StrOpt(
        'remote_filesystem_transport',
        default='ssh',
        choices=(('ssh', 'ssh commands on the peer host (dd, mkdir, mv, rm)'),
                 ('rsync', 'rsync over ssh for the file data')),
        help="""
How this host reaches another compute host's files when a server moves
(the console log after a live migration, the instance folder of a block
or cold migration, resize and unshelve). Both use ssh, key only, to the
peer's ``live_migration_inbound_addr``; the peer must run sshd there, with
this host's public key in the ``remote_filesystem_ssh_user``'s
``authorized_keys`` and its host key in this host's
``remote_filesystem_ssh_known_hosts_file``.

Possible values:

* ``ssh``: plain ssh; nothing but a POSIX shell and coreutils on the peer
* ``rsync``: rsync over ssh (rsync installed on every compute host)

Related options:

* ``remote_filesystem_ssh_user``, ``remote_filesystem_ssh_port``,
  ``remote_filesystem_ssh_identity_file``,
  ``remote_filesystem_ssh_known_hosts_file``,
  ``remote_filesystem_connect_timeout``,
  ``remote_filesystem_allowed_paths``
"""),
    cfg.StrOpt(
        'remote_filesystem_ssh_user',
        help="""
User this host logs in as on the other compute hosts. It must own (or be
able to write) their instances folders, have a login shell there, and
accept this host's key in its ``~/.ssh/authorized_keys``.

Possible values:

* Unset (default): the user nova-compute runs as (ssh's own default)
* A user name, e.g. ``nova``

Related options:

* ``remote_filesystem_ssh_identity_file``
"""),
    cfg.PortOpt(
        'remote_filesystem_ssh_port',
        default=22,
        help="""
Port of sshd on the other compute hosts' ``live_migration_inbound_addr``.

Possible values:

* 22 (default), or the port every compute host's sshd listens on

Related options:

* ``remote_filesystem_ssh_known_hosts_file``: for a port other than 22
  its entries are written ``[address]:port``
"""),
    cfg.StrOpt(
        'remote_filesystem_ssh_identity_file',
        help="""
Private key this host logs in with (ssh ``-i``; only this key is
offered). It must be readable by the user nova-compute runs as and by
nobody else.

Possible values:

* Unset (default): ssh's default keys of that user (``~/.ssh/id_*``)
* A path, e.g. ``/var/lib/nova/.ssh/id_ed25519``

Related options:

* ``remote_filesystem_ssh_user``
"""),
    cfg.StrOpt(
        'remote_filesystem_ssh_known_hosts_file',
        help="""
known_hosts file holding the host key of every other compute host, under
the address it is reached at (``live_migration_inbound_addr``). Hosts are
checked strictly: an unknown or changed host key is refused, never added.

Possible values:

* Unset (default): ssh's own files (``~/.ssh/known_hosts`` of the user and
  ``/etc/ssh/ssh_known_hosts``)
* A path, e.g. ``/etc/nova/ssh_known_hosts``: only that file is trusted

Related options:

* ``remote_filesystem_ssh_port``
"""),
    cfg.IntOpt(
        'remote_filesystem_connect_timeout',
        default=10,
        min=1,
        help="""
Seconds to wait for a peer's ssh to answer, and about how long a silent
peer is waited for in the middle of a copy (ssh ServerAliveInterval of a
third of it, three times) before the step fails.

Possible values:

* A positive number of seconds

Related options:

* ``remote_filesystem_transport``
"""),
    cfg.ListOpt(
        'remote_filesystem_allowed_paths',
        default=[],
        help="""
Folders on the other compute hosts below which this host may create,
remove and copy files. Every remote path outside them is refused before
anything is run.

Possible values:

* Empty (default): ``[DEFAULT] instances_path`` (the same on every host)
* A list of absolute folders, when the hosts' instances paths differ

Related options:

* ``[DEFAULT] instances_path``
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
