"""Options of the ``[glance]`` group (the image service) and of
``[image_cache]`` (where a compute host keeps the images it fetched).

Nova talks to Glance through keystoneauth1: the ``[glance]`` group also
holds keystoneauth's session options (``cafile``, ``insecure``,
``timeout`` ...), adapter options (``endpoint_override``,
``valid_interfaces``, ``region_name`` ...) and auth options
(``auth_type``, ``auth_url``, ``username`` ...: the credentials this
service uses when a request carries no user token of its own).
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

glance_group = cfg.OptGroup(
    'glance', title='Glance (image service) options',
    help='How nova finds and talks to the image service, Glance.')

glance_opts = [
    cfg.BoolOpt(
        'enabled',
        default=False,
        help="""
Whether images come from Glance.

True: the compute API's image look-ups (server create and rebuild, the
deprecated ``/images`` proxy) ask Glance, and each compute host downloads
the images its guests boot from into its image cache
(``<instances_path>/<[image_cache] subdirectory_name>``), checking each
download against Glance's ``os_hash_algo``/``os_hash_value`` and each
disk image with ``qemu-img info`` before a guest uses it. Every
deployment with more than one host needs this.

False: the local image catalog of ``nova-manage image create`` (files on
this host, registered by an admin), meant for the embedded one-host
cloud (``nova-all``) only; compute hosts look an image's files up in the
database by the image's id.

Related options:

* ``[glance] endpoint_override``, ``[glance] auth_type`` and the other
  keystoneauth options of this group: how Glance is reached.
* ``[image_cache] subdirectory_name``
"""),
    cfg.IntOpt(
        'num_retries',
        default=3,
        min=0,
        help="""
How many times a failed image download is tried again before the boot
fails.

A download that broke off, or whose data did not match Glance's hash,
is thrown away and fetched again from the start.

Possible values:

* 0: no retry; any positive number of retries.

Related options:

* ``[glance] enabled``
"""),
    cfg.IntOpt(
        'download_chunk_size',
        default=1024 * 1024,
        min=4096,
        help="""
Bytes read from Glance and written to the image cache at a time while an
image is downloaded.

Possible values:

* Any number of bytes from 4096; 1 MiB keeps memory use low.
"""),
]

image_cache_group = cfg.OptGroup(
    'image_cache', title='Image cache options',
    help='Where a compute host keeps the images its guests boot from.')

image_cache_opts = [
    cfg.StrOpt(
        'subdirectory_name',
        default='_base',
        deprecated_name='image_cache_subdirectory_name',
        deprecated_group='DEFAULT',
        regex=r'^[A-Za-z0-9_][A-Za-z0-9_.-]*$',
        help="""
The folder, inside ``instances_path``, of the images this host fetched
from Glance.

Each image is kept there under the SHA-1 of its id, written by nova only
(mode 0644, owner root), and shared by every guest that boots from it:
a disk image is the backing file of each guest's own copy-on-write disk,
a kernel or ramdisk image is booted directly. Files in it are never
followed as links.

Possible values:

* A single folder name (letters, digits, ``_``, ``.``, ``-``; not
  starting with ``.`` or ``-``). It must not be a uuid: instance folders
  are named by uuids.

Related options:

* ``instances_path``
* ``[glance] enabled``
"""),
]

_KS_DEFAULTS = {'service_type': 'image',
                'valid_interfaces': ['internal', 'public']}


def _ks_opts():
    opts = (ks_loading.get_session_conf_options() +
            ks_loading.get_adapter_conf_options(include_deprecated=False))
    for opt in opts:
        if opt.dest in _KS_DEFAULTS:
            opt.default = _KS_DEFAULTS[opt.dest]
    return opts


def register_opts(conf):
    conf.register_group(glance_group)
    conf.register_opts(glance_opts, group=glance_group)
    ks_loading.register_session_conf_options(conf, glance_group.name)
    ks_loading.register_adapter_conf_options(
        conf, glance_group.name, include_deprecated=False)
    conf.set_default('service_type', 'image', group=glance_group.name)
    conf.set_default('valid_interfaces', ['internal', 'public'],
                     group=glance_group.name)
    ks_loading.register_auth_conf_options(conf, glance_group.name)
    conf.register_group(image_cache_group)
    conf.register_opts(image_cache_opts, group=image_cache_group)


def list_opts():
    return {glance_group: (
        glance_opts + _ks_opts() +
        ks_loading.get_auth_common_conf_options() +
        ks_loading.get_auth_plugin_conf_options('password')),
        image_cache_group: image_cache_opts}
