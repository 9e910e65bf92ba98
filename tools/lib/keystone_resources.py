"""The projects, users, roles and catalog tools/setup-keystone.sh promises.

Run by setup-keystone.sh with the Keystone virtualenv's python (it has
keystoneclient); makes only what is missing, so a second run changes
nothing. Input from the environment: NOVA_KEYSTONE_AUTH_URL,
NOVA_KEYSTONE_COMPUTE_URL, NOVA_KEYSTONE_IMAGE_URL and
NOVA_KEYSTONE_PASSWORDS ("user=password" lines; the admin's must already
work). Progress on stderr; exit 1 with a message on failure.
"""

from concurrent import futures
import os
import sys

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1.identity import v3
from keystoneauth1 import session
from keystoneclient.v3 import client

DOMAIN = 'default'
REGION = 'RegionOne'
# project -> description
PROJECTS = {'demo': 'nova functional tests: first tenant',
            'alt': 'nova functional tests: second tenant',
            'service': 'OpenStack service users'}
# Bootstrap makes admin, member and reader (reader < member < admin);
# "custom" is a role no policy names; "service" is for service users.
EXTRA_ROLES = ('member', 'reader', 'custom', 'service')
# user -> (project, role)
USERS = {'demo': ('demo', 'member'), 'alt': ('alt', 'member'),
         'custom': ('demo', 'custom'), 'nova': ('service', 'service'),
         'glance': ('service', 'service')}
# service type -> (name, description, environment variable of its URL)
SERVICES = {'compute': ('nova', 'OpenStack Compute',
                        'NOVA_KEYSTONE_COMPUTE_URL'),
            'image': ('glance', 'OpenStack Image', 'NOVA_KEYSTONE_IMAGE_URL')}
INTERFACES = ('public', 'internal', 'admin')


def log(message):
    print('setup-keystone: %s' % message, file=sys.stderr)


def _one(found, what):
    if len(found) > 1:
        raise SystemExit('setup-keystone: ERROR: more than one %s' % what)
    return found[0] if found else None


def _logs_in(auth_url, user, password, project):
    auth = v3.Password(auth_url=auth_url, username=user, password=password,
                       user_domain_id=DOMAIN, project_name=project,
                       project_domain_id=DOMAIN)
    try:
        session.Session(auth=auth).get_token()
    except ks_exc.Unauthorized:
        return False
    return True


def ensure(ks, auth_url, passwords):
    projects = {}
    for name, description in PROJECTS.items():
        project = _one(ks.projects.list(name=name, domain=DOMAIN),
                       'project %s' % name)
        if project is None:
            project = ks.projects.create(name, DOMAIN,
                                         description=description)
            log('project %s: created' % name)
        projects[name] = project
    roles = {}
    for name in ('admin',) + EXTRA_ROLES:
        role = _one(ks.roles.list(name=name), 'role %s' % name)
        if role is None:
            role = ks.roles.create(name)
            log('role %s: created' % name)
        roles[name] = role
    users = {}
    for name, (project, role) in USERS.items():
        user = _one(ks.users.list(name=name, domain=DOMAIN),
                    'user %s' % name)
        if user is None:
            user = ks.users.create(name, domain=DOMAIN,
                                   password=passwords[name],
                                   default_project=projects[project])
            log('user %s: created' % name)
        if not ks.role_assignments.list(user=user, project=projects[project],
                                        role=roles[role]):
            ks.roles.grant(roles[role], user=user, project=projects[project])
            log('user %s: role %s on project %s' % (name, role, project))
        users[name] = (user, project)
    # Each login costs Keystone a password hash: several at once.
    with futures.ThreadPoolExecutor(len(users)) as pool:
        works = dict(zip(users, pool.map(
            lambda name: _logs_in(auth_url, name, passwords[name],
                                  users[name][1]), users)))
    for name, (user, _project) in users.items():
        if not works[name]:
            ks.users.update(user, password=passwords[name])
            log('user %s: password set from the clouds.yaml' % name)
    admin = _one(ks.users.list(name='admin', domain=DOMAIN), 'user admin')
    if not ks.role_assignments.list(user=admin, domain=DOMAIN,
                                    role=roles['admin']):
        ks.roles.grant(roles['admin'], user=admin, domain=DOMAIN)
        log('user admin: role admin on domain Default')
    for type_, (name, description, url_env) in SERVICES.items():
        url = os.environ[url_env]
        service = _one(ks.services.list(type=type_), 'service %s' % type_)
        if service is None:
            service = ks.services.create(name, type_, description=description)
            log('service %s (%s): created' % (name, type_))
        for interface in INTERFACES:
            endpoint = _one(ks.endpoints.list(service=service,
                                              interface=interface,
                                              region=REGION),
                            '%s endpoint of %s' % (interface, type_))
            if endpoint is None:
                ks.endpoints.create(service, url, interface=interface,
                                    region=REGION)
                log('endpoint %s %s: %s' % (type_, interface, url))
            elif endpoint.url != url:
                ks.endpoints.update(endpoint, url=url)
                log('endpoint %s %s: %s (was %s)' % (type_, interface, url,
                                                     endpoint.url))


def main():
    auth_url = os.environ['NOVA_KEYSTONE_AUTH_URL']
    passwords = dict(line.split('=', 1) for line in
                     os.environ['NOVA_KEYSTONE_PASSWORDS'].splitlines()
                     if '=' in line)
    auth = v3.Password(auth_url=auth_url, username='admin',
                       password=passwords['admin'], user_domain_id=DOMAIN,
                       project_name='admin', project_domain_id=DOMAIN)
    ks = client.Client(session=session.Session(auth=auth))
    try:
        ensure(ks, auth_url, passwords)
    except ks_exc.ClientException as e:
        raise SystemExit('setup-keystone: ERROR: %s' % e)


if __name__ == '__main__':
    main()
