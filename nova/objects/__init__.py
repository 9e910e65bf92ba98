"""Nova's versioned objects: what crosses RPC between the services.

``register_all()`` imports every object module, so each class is in the
registry (``nova.objects.base.NovaObjectRegistry``) before a message
naming it is deserialized. ``nova.rpc`` calls it when it builds its
serializer; importing a module registers its classes too.
"""

import importlib

_MODULES = ('instance', 'migrate_data', 'compute_node', 'console',
            'shelve')


def register_all():
    for name in _MODULES:
        importlib.import_module('nova.objects.' + name)
