"""The default policy of every API rule, for oslo.policy.

``list_rules()`` is the ``nova`` namespace of the
``oslo.policy.policies`` entry point: oslopolicy-sample-generator and the
docs read the defaults from it, nova.policy registers them.
"""

import itertools

from nova.policies import admin_apis
from nova.policies import aggregates
from nova.policies import base
from nova.policies import consoles
from nova.policies import servers


def list_rules():
    return list(itertools.chain(
        base.list_rules(),
        servers.list_rules(),
        consoles.list_rules(),
        admin_apis.list_rules(),
        # -- adm
        aggregates.list_rules(),
    ))
