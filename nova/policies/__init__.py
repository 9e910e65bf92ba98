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
from nova.policies import keypairs
from nova.policies import servers
# -- ver
from nova.policies import availability_zone
from nova.policies import instance_actions
from nova.policies import limits
from nova.policies import lock_server
from nova.policies import migrations
from nova.policies import server_metadata
from nova.policies import server_tags
# -- shv
from nova.policies import shelve
# -- quotas
from nova.policies import quotas
# -- admin
from nova.policies import admin_actions
from nova.policies import extensions
from nova.policies import server_diagnostics
from nova.policies import server_external_events
# -- access
from nova.policies import flavor_access
from nova.policies import simple_tenant_usage


def list_rules():
    return list(itertools.chain(
        base.list_rules(),
        servers.list_rules(),
        consoles.list_rules(),
        admin_apis.list_rules(),
        # -- ver
        server_tags.list_rules(),
        server_metadata.list_rules(),
        instance_actions.list_rules(),
        migrations.list_rules(),
        limits.list_rules(),
        availability_zone.list_rules(),
        lock_server.list_rules(),
        # -- srv
        keypairs.list_rules(),
        # -- adm
        aggregates.list_rules(),
        # -- shv
        shelve.list_rules(),
        # -- quotas
        quotas.list_rules(),
        # -- admin
        admin_actions.list_rules(),
        server_diagnostics.list_rules(),
        server_external_events.list_rules(),
        extensions.list_rules(),
        # -- access
        flavor_access.list_rules(),
        simple_tenant_usage.list_rules(),
    ))
