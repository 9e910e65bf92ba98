"""Where images come from: Glance, or the local catalog of one host.

``API(conf)`` gives the one in force (``[glance] enabled``). Both answer
``get(ctx, image_id)`` and ``list(ctx)`` with the dicts of
``nova.compute.flavors`` (keys ``id``, ``name``, ``status``,
``disk_format``, ``container_format``, ``min_ram``, ``min_disk``,
``size``, ``properties``, ``created_at``, ``updated_at``).
"""

from nova.image import glance
from nova.image import local

_APIS = {}


def API(conf=None):
    """The image API of ``conf`` (default: nova.conf.CONF), made once."""
    if conf is None:
        import nova.conf
        conf = nova.conf.CONF
    if not conf.glance.enabled:
        return local.API()
    api = _APIS.get(id(conf))
    if api is None or api[0] is not conf:
        api = _APIS[id(conf)] = (conf, glance.API(conf))
    return api[1]
