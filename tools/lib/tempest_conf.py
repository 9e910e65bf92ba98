"""Write a tempest.conf for the running services (tools/run-tempest.sh).

Run by tempest's own virtualenv python (standard library and PyYAML only).
Everything tempest must know is asked from the services themselves: a
token of the admin of clouds.yaml gives the catalog (tempest finds the
compute and image endpoints there too), the compute API's version document
gives the microversion range, its flavor and image lists the refs, and
os-services the number of compute hosts.

Environment: NOVA_TEMPEST_CLOUDS (clouds.yaml), NOVA_TEMPEST_WORKSPACE,
NOVA_TEMPEST_IMAGE, NOVA_TEMPEST_IMAGE_ALT, NOVA_TEMPEST_FLAVOR,
NOVA_TEMPEST_FLAVOR_ALT (empty: chosen here), NOVA_TEMPEST_NEUTRON
("claimed": see write_accounts), NOVA_TEMPEST_BLOCK_MIGRATION ("yes":
live migrations are block migrations). Prints one summary line on stdout.
"""

import json
import os
import secrets
import sys
import urllib.error
import urllib.request

import yaml

# What this project's compute API does not serve (doc/source/user/api.rst):
# tempest skips the tests of these instead of failing them.
FEATURES_OFF = (
    'change_password', 'resize', 'pause', 'shelve', 'shelve_migrate',
    'suspend', 'cold_migration', 'metadata_service', 'vnc_console',
    'spice_console', 'rescue', 'stable_rescue', 'interface_attach',
    'snapshot', 'personality', 'attach_encrypted_volume',
    'config_drive', 'swap_volume', 'volume_backed_live_migration',
    'volume_multiattach', 'ide_bus', 'unified_limits', 'vtpm_live_migration',
    'live_migrate_back_and_forth', 'hostname_fqdn_sanitization')
# enable_instance_password: create and rebuild answer an adminPass, as the
# compute API's [api] enable_instance_password (True by default) makes
# them; tempest validates each answer against the schema it names.
FEATURES_ON = ('console_output', 'serial_console', 'disk_config',
               'enable_instance_password')
# The scheduler's hints this project honours (nova/scheduler/manager.py).
SCHEDULER_FILTERS = ('ComputeFilter', 'DifferentHostFilter',
                     'SameHostFilter')


def fail(msg):
    sys.stderr.write('run-tempest: ERROR: %s\n' % msg)
    sys.exit(1)


def http(method, url, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header('Content-Type', 'application/json')
    req.add_header('Accept', 'application/json')
    if token:
        req.add_header('X-Auth-Token', token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, resp.headers, (json.loads(raw) if raw
                                               else None)
    except urllib.error.HTTPError as e:
        return e.code, e.headers, None
    except (OSError, ValueError) as e:
        fail('%s %s: %s' % (method, url, e))


def admin_token(auth):
    body = {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': auth['username'], 'password': auth['password'],
            'domain': {'name': auth['user_domain_name']}}}},
        'scope': {'project': {'name': auth['project_name'], 'domain': {
            'name': auth['project_domain_name']}}}}}
    status, headers, got = http('POST', auth['auth_url'] + '/auth/tokens',
                                body=body)
    if status != 201:
        fail('the admin of clouds.yaml cannot log in to %s (HTTP %s)'
             % (auth['auth_url'], status))
    return headers['X-Subject-Token'], got['token']['catalog']


def endpoint(catalog, service_type):
    for service in catalog:
        if service['type'] == service_type:
            for ep in service['endpoints']:
                if ep['interface'] == 'public':
                    return ep['url'].rstrip('/')
    return None


def pick(items, wanted, what):
    """(ref, alt): ``wanted`` ids, else the first two of ``items``."""
    ids = [item['id'] for item in items]
    ref, alt = wanted
    for value in (ref, alt):
        if value and value not in ids:
            fail('%s %s is not in the compute API\'s list %s'
                 % (what, value, ids))
    if not ids:
        fail('the compute API lists no %s' % what)
    ref = ref or ids[0]
    alt = alt or ([i for i in ids if i != ref] or [ref])[0]
    return ref, alt


def keystone_id(url, token, kind, name):
    _s, _h, got = http('GET', '%s/%s?name=%s' % (url, kind, name), token)
    found = (got or {}).get(kind) or []
    return found[0]['id'] if found else None


def logs_in(auth_url, user, password, project):
    body = {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': user, 'password': password,
            'domain': {'id': 'default'}}}},
        'scope': {'project': {'name': project,
                              'domain': {'id': 'default'}}}}}
    return http('POST', auth_url + '/auth/tokens', body=body)[0] == 201


def ensure_user(auth_url, token, name, project, role, old):
    """Keystone user ``name`` with ``role`` on ``project``; its password
    is ``old`` when it still logs in with it, else a new one."""
    if old and logs_in(auth_url, name, old, project):
        return old
    password = secrets.token_hex(16)
    user_id = keystone_id(auth_url, token, 'users', name)
    if user_id:
        status = http('PATCH', '%s/users/%s' % (auth_url, user_id), token,
                      {'user': {'password': password}})[0]
    else:
        status, _h, got = http('POST', auth_url + '/users', token, {
            'user': {'name': name, 'password': password,
                     'domain_id': 'default', 'enabled': True}})
        user_id = (got or {}).get('user', {}).get('id')
    if status not in (200, 201) or not user_id:
        fail('cannot make the Keystone user %s (HTTP %s)' % (name, status))
    project_id = keystone_id(auth_url, token, 'projects', project)
    role_id = keystone_id(auth_url, token, 'roles', role)
    if not (project_id and role_id):
        fail('Keystone has no project %s or no role %s' % (project, role))
    status = http('PUT', '%s/projects/%s/users/%s/roles/%s' % (
        auth_url, project_id, user_id, role_id), token)[0]
    if status not in (200, 204):
        fail('cannot give %s the role %s on %s (HTTP %s)'
             % (name, role, project, status))
    return password


def write_accounts(path, clouds, token):
    """Pre-provisioned credentials: tempest then makes no project, user or
    network of its own, and so never calls a network API (dynamic
    credentials delete each project's "default" security group through
    Neutron when [service_available] neutron is true).

    Tempest hands out each user once per test class: the reader and the
    manager a class asks for beside its member (project_reader,
    project_manager) are users of their own, made here in project demo.
    """
    def account(cloud, roles):
        auth = clouds[cloud]['auth']
        return {'username': auth['username'], 'password': auth['password'],
                'project_name': auth['project_name'],
                'user_domain_name': auth['user_domain_name'],
                'project_domain_name': auth['project_domain_name'],
                'roles': roles}
    old = {}
    if os.path.exists(path):
        with open(path) as f:
            old = {a['username']: a['password']
                   for a in yaml.safe_load(f) or []}
    auth_url = clouds['nova-admin']['auth']['auth_url']
    accounts = [account('nova-demo', ['member']),
                account('nova-alt', ['member']),
                account('nova-admin', ['admin'])]
    for name, role in (('tempest-reader', 'reader'),
                       ('tempest-manager', 'manager')):
        password = ensure_user(auth_url, token, name, 'demo', role,
                               old.get(name))
        accounts.append({'username': name, 'password': password,
                         'project_name': 'demo',
                         'user_domain_name': 'Default',
                         'project_domain_name': 'Default',
                         'roles': [role]})
    with open(path + '.new', 'w') as f:
        os.chmod(path + '.new', 0o600)    # passwords
        yaml.safe_dump(accounts, f)
    os.replace(path + '.new', path)


def main():
    workspace = os.environ['NOVA_TEMPEST_WORKSPACE']
    with open(os.environ['NOVA_TEMPEST_CLOUDS']) as f:
        clouds = yaml.safe_load(f)['clouds']
    admin = clouds['nova-admin']['auth']
    token, catalog = admin_token(admin)
    compute = endpoint(catalog, 'compute')
    if not compute:
        fail('Keystone\'s catalog has no compute endpoint')
    status, _h, versions = http('GET', compute, token)
    if status != 200 or 'version' not in (versions or {}):
        fail('the compute endpoint %s does not answer (HTTP %s): start '
             'the services first' % (compute, status))
    version = versions['version']
    _s, _h, flavors = http('GET', compute + '/flavors/detail', token)
    flavors = sorted(flavors['flavors'], key=lambda f: (f['ram'], f['id']))
    flavor = pick(flavors, (os.environ.get('NOVA_TEMPEST_FLAVOR'),
                            os.environ.get('NOVA_TEMPEST_FLAVOR_ALT')),
                  'flavor')
    _s, _h, images = http('GET', compute + '/images/detail', token)
    images = [i for i in images['images'] if i.get('status') == 'ACTIVE'
              and not (i.get('metadata') or {}).get('image_type')]
    # A bootable image: not a kernel or ramdisk that another one names.
    parts = {(i.get('metadata') or {}).get(k)
             for i in images for k in ('kernel_id', 'ramdisk_id')}
    image = pick([i for i in images if i['id'] not in parts],
                 (os.environ.get('NOVA_TEMPEST_IMAGE'),
                  os.environ.get('NOVA_TEMPEST_IMAGE_ALT')), 'image')
    _s, _h, svcs = http('GET', compute + '/os-services', token)
    computes = [s for s in (svcs or {}).get('services', [])
                if s['binary'] == 'nova-compute' and s['state'] == 'up']
    image_url = endpoint(catalog, 'image')
    glance = bool(image_url) and http('GET', image_url)[0] in (200, 300)
    claimed = os.environ.get('NOVA_TEMPEST_NEUTRON') == 'claimed'
    # Without shared instance storage (the two-host rig) a live migration
    # must copy the disk: tempest asks for one only when told.
    block = os.environ.get('NOVA_TEMPEST_BLOCK_MIGRATION') == 'yes'
    accounts = os.path.join(workspace, 'etc', 'accounts.yaml')
    if claimed:
        write_accounts(accounts, clouds, token)

    conf = {
        'DEFAULT': {'log_file': os.path.join(workspace, 'logs',
                                             'tempest.log'),
                    'use_stderr': 'false'},
        'auth': {
            'admin_username': admin['username'],
            'admin_password': admin['password'],
            'admin_project_name': admin['project_name'],
            'admin_domain_name': admin['user_domain_name'],
            'use_dynamic_credentials': str(not claimed).lower(),
            'create_isolated_networks': 'false',
            'tempest_roles': 'member',
        },
        'identity': {'uri_v3': admin['auth_url'], 'auth_version': 'v3',
                     'region': 'RegionOne',
                     'v3_endpoint_type': 'public'},
        'identity-feature-enabled': {'api_v2': 'false'},
        'compute': {
            'image_ref': image[0], 'image_ref_alt': image[1],
            'flavor_ref': flavor[0], 'flavor_ref_alt': flavor[1],
            'min_microversion': version['min_version'] or '2.1',
            'max_microversion': version['version'] or '2.1',
            'min_compute_nodes': str(len(computes)),
            # No network: servers are made without "networks" and
            # tempest looks no network up by name.
            'fixed_network_name': '',
            'build_timeout': '600',
            'region': 'RegionOne', 'endpoint_type': 'publicURL',
        },
        'compute-feature-enabled': dict(
            [(name, 'false') for name in FEATURES_OFF] +
            [(name, 'true') for name in FEATURES_ON] +
            [('live_migration', str(len(computes) >= 2).lower()),
             ('block_migration_for_live_migration', str(block).lower()),
             ('scheduler_enabled_filters', ','.join(SCHEDULER_FILTERS))]),
        'service_available': {
            'nova': 'true', 'glance': str(glance).lower(),
            'neutron': str(claimed).lower(), 'cinder': 'false',
            'swift': 'false', 'placement': 'false', 'horizon': 'false',
        },
        'validation': {'run_validation': 'false'},
        'image': {'region': 'RegionOne', 'endpoint_type': 'public'},
    }
    if claimed:
        conf['auth']['test_accounts_file'] = accounts
    path = os.path.join(workspace, 'etc', 'tempest.conf')
    with open(path + '.new', 'w') as f:
        f.write('# Written by tools/run-tempest.sh; changes here are '
                'overwritten.\n')
        for group, options in conf.items():
            f.write('\n[%s]\n' % group)
            for item in options.items():
                f.write('%s = %s\n' % item)
    os.chmod(path + '.new', 0o600)    # passwords
    os.replace(path + '.new', path)
    print('compute %s (microversions %s-%s), %d compute host(s), image %s, '
          'flavor %s, glance %s, neutron %s, block migration %s'
          % (compute, conf['compute']['min_microversion'],
             conf['compute']['max_microversion'], len(computes), image[0],
             flavor[0], 'yes' if glance else 'no',
             'claimed (pre-provisioned accounts)' if claimed else 'no',
             'yes' if block else 'no'))


if __name__ == '__main__':
    main()
