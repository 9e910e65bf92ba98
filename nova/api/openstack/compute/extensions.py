"""GET /extensions and GET /extensions/{alias}: Nova's extension list
(deprecated in Nova, which answers it for old clients), listing only
what this project serves: each entry names the route or server action
that serves it (``EVIDENCE``; a unit test checks each one is routed).
An alias not listed is 404, as Nova.
"""

import webob.exc

from nova.api.openstack.compute import wsgi
from nova.policies import extensions as policies

# As in every entry of Nova's list.
NAMESPACE = 'http://docs.openstack.org/compute/ext/fake_xml'
UPDATED = '2014-12-03T00:00:00Z'

# (alias, name, description, evidence): evidence is ('route', method,
# path) of router.ROUTES, ('action', name) of a server action, or
# ('create', field) of the server create body.
EXTENSIONS = (
    ('servers', 'Servers', 'Servers.', ('route', 'GET', '/servers')),
    ('flavors', 'Flavors', 'Flavors Extension.',
     ('route', 'GET', '/flavors')),
    ('os-flavor-manage', 'FlavorManage', 'Flavor create/delete API support.',
     ('route', 'POST', '/flavors')),
    ('os-flavor-extra-specs', 'FlavorExtraSpecs',
     'Flavors extra specs support.',
     ('route', 'GET', '/flavors/{flavor_id}/os-extra_specs')),
    ('images', 'Images', 'Proxying API for Images.',
     ('route', 'GET', '/images')),
    ('limits', 'Limits', 'Limits support.', ('route', 'GET', '/limits')),
    ('os-keypairs', 'Keypairs', 'Keypair Support.',
     ('route', 'GET', '/os-keypairs')),
    ('os-hypervisors', 'Hypervisors', 'Admin-only hypervisor administration.',
     ('route', 'GET', '/os-hypervisors')),
    ('os-services', 'Services', 'Services support.',
     ('route', 'GET', '/os-services')),
    ('os-aggregates', 'Aggregates', 'Admin-only aggregate administration.',
     ('route', 'GET', '/os-aggregates')),
    ('os-availability-zone', 'AvailabilityZone',
     '1. Add availability_zone to the Create Server API. 2. Add '
     'availability zones describing.',
     ('route', 'GET', '/os-availability-zone')),
    ('os-instance-actions', 'InstanceActions', 'View a log of actions and '
     'events taken on an instance.',
     ('route', 'GET', '/servers/{server_id}/os-instance-actions')),
    ('os-migrations', 'Migrations', 'Provide data on migrations.',
     ('route', 'GET', '/os-migrations')),
    ('server-metadata', 'ServerMetadata', 'Server metadata Support.',
     ('route', 'GET', '/servers/{server_id}/metadata')),
    ('os-console-output', 'ConsoleOutput', 'Console log output support, '
     'with tailing ability.', ('action', 'os-getConsoleOutput')),
    ('os-remote-consoles', 'RemoteConsoles', 'Interactive Console support '
     '(here the serial console only).',
     ('route', 'POST', '/servers/{server_id}/remote-consoles')),
    ('os-lock-server', 'LockServer', 'Enable lock/unlock server actions.',
     ('action', 'lock')),
    ('os-migrate-server', 'MigrateServer', 'Enable migrate and live-migrate '
     'server actions.', ('action', 'os-migrateLive')),
    ('os-shelve', 'Shelve', 'Instance shelve mode.', ('action', 'shelve')),
    ('os-admin-actions', 'AdminActions', 'Enable admin-only server actions '
     '(here os-resetState).', ('action', 'os-resetState')),
    ('os-server-diagnostics', 'ServerDiagnostics',
     'Allow Admins to view server diagnostics through server id.',
     ('route', 'GET', '/servers/{server_id}/diagnostics')),
    ('os-server-external-events', 'ServerExternalEvents',
     'Server External Event Triggers.',
     ('route', 'POST', '/os-server-external-events')),
    ('os-access-ips', 'AccessIPs', 'Access IPs support.',
     ('create', 'accessIPv4')),
    ('os-disk-config', 'DiskConfig', 'Disk Management Extension.',
     ('create', 'OS-DCF:diskConfig')),
    ('os-scheduler-hints', 'SchedulerHints', 'Pass arbitrary key/value '
     'pairs to the scheduler.', ('create', 'os:scheduler_hints')),
    ('os-quota-sets', 'Quotas', 'Quotas management support.',
     ('route', 'GET', '/os-quota-sets/{id}')),
    ('os-quota-class-sets', 'QuotaClasses', 'Quota classes management '
     'support.', ('route', 'GET', '/os-quota-class-sets/{id}')),
    ('os-flavor-access', 'FlavorAccess', 'Flavor access support.',
     ('route', 'GET', '/flavors/{flavor_id}/os-flavor-access')),
    ('os-simple-tenant-usage', 'SimpleTenantUsage', 'Simple tenant usage '
     'extension.', ('route', 'GET', '/os-simple-tenant-usage')),
    ('extensions', 'Extensions', 'Extension information.',
     ('route', 'GET', '/extensions')),
)


def _body(alias, name, description):
    return {'alias': alias, 'name': name, 'description': description,
            'links': [], 'namespace': NAMESPACE, 'updated': UPDATED}


def _authorize(req):
    ctx = wsgi.get_context(req)
    # The caller's own project is the target: the list is no project's.
    ctx.can(policies.EXTENSIONS, target={'project_id': ctx.project_id})


class ExtensionsController(wsgi.Controller):
    @wsgi.expected_errors(())
    def index(self, req):
        _authorize(req)
        return {'extensions': [_body(*entry[:3]) for entry in EXTENSIONS]}

    @wsgi.expected_errors(404)
    def show(self, req, id):
        _authorize(req)
        for entry in EXTENSIONS:
            if entry[0] == id:
                return {'extension': _body(*entry[:3])}
        raise webob.exc.HTTPNotFound(
            explanation='Extension %s is not served here.' % id[:40])
