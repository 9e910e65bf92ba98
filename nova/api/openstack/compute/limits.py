"""GET /limits: Nova's body, from the quotas (nova.quota).

``rate`` is empty (no rate limits, as Nova since Liberty). The
``max*`` values are the caller's quotas (its own within its project, as
Nova's): ``maxTotalInstances``/``Cores``/``RAMSize`` (MiB) and
``maxServerMeta``/``maxImageMeta`` (metadata_items), ``maxTotalKeypairs``
are enforced; the others are shown as stored and not enforced here
(``nova.quota``). ``total*Used``: the caller's project's servers, their
vCPUs and RAM (MiB), counted as the quota check counts them; floating
IPs, security groups and server groups do not exist here (0).
"""

from nova.api.openstack.compute import wsgi
from nova.policies import limits as policies

# Nova's /limits names of the quota resources (up to 2.35).
MAXIMUMS = {
    'maxImageMeta': 'metadata_items',
    'maxPersonality': 'injected_files',
    'maxPersonalitySize': 'injected_file_content_bytes',
    'maxSecurityGroupRules': 'security_group_rules',
    'maxSecurityGroups': 'security_groups',
    'maxServerGroups': 'server_groups',
    'maxServerGroupMembers': 'server_group_members',
    'maxServerMeta': 'metadata_items',
    'maxTotalCores': 'cores',
    'maxTotalFloatingIps': 'floating_ips',
    'maxTotalInstances': 'instances',
    'maxTotalKeypairs': 'key_pairs',
    'maxTotalRAMSize': 'ram',
}


class LimitsController(wsgi.Controller):
    @wsgi.expected_errors(())
    def index(self, req):
        ctx = wsgi.get_context(req)
        ctx.can(policies.LIMITS)
        limits, used = self.compute_api.limits(ctx)
        absolute = {name: limits[resource]
                    for name, resource in MAXIMUMS.items()}
        absolute.update({
            'totalInstancesUsed': used['instances'],
            'totalCoresUsed': used['cores'],
            'totalRAMUsed': used['ram'],
            'totalFloatingIpsUsed': 0,
            'totalSecurityGroupsUsed': 0,
            'totalServerGroupsUsed': 0,
        })
        return {'limits': {'rate': [], 'absolute': absolute}}
