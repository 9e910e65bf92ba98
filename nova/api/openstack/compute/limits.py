"""GET /limits: Nova's body, honest about what this cloud enforces.

``rate`` is empty (no rate limits, as Nova since Liberty). Of the
absolute limits only ``maxServerMeta`` (128 metadata items per server)
is enforced here; every other maximum is -1, Nova's "unlimited", and
the ``total*Used`` values are the caller's project's: its servers and
their flavors' vCPUs and RAM (MiB); none of floating IPs, security
groups or server groups exist here (0).
"""

from nova.api.openstack.compute import wsgi
from nova.compute import server_records
from nova.policies import limits as policies

UNLIMITED = -1
MAXIMUMS = ('maxImageMeta', 'maxPersonality', 'maxPersonalitySize',
            'maxSecurityGroupRules', 'maxSecurityGroups', 'maxServerGroups',
            'maxServerGroupMembers', 'maxTotalCores', 'maxTotalFloatingIps',
            'maxTotalInstances', 'maxTotalKeypairs', 'maxTotalRAMSize')


class LimitsController(wsgi.Controller):
    @wsgi.expected_errors(())
    def index(self, req):
        ctx = wsgi.get_context(req)
        ctx.can(policies.LIMITS)
        used = self.compute_api.usage(ctx)
        absolute = dict.fromkeys(MAXIMUMS, UNLIMITED)
        absolute.update({
            'maxServerMeta': server_records.MAX_METADATA_ITEMS,
            'totalInstancesUsed': used['instances'],
            'totalCoresUsed': used['cores'],
            'totalRAMUsed': used['ram'],
            'totalFloatingIpsUsed': 0,
            'totalSecurityGroupsUsed': 0,
            'totalServerGroupsUsed': 0,
        })
        return {'limits': {'rate': [], 'absolute': absolute}}
