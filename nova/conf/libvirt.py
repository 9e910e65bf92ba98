from oslo_config import cfg

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
]


def register_opts(conf):
    conf.register_group(libvirt_group)
    conf.register_opts(libvirt_opts, group=libvirt_group)


def list_opts():
    return {libvirt_group: libvirt_opts}
