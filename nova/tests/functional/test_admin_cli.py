"""The admin commands of issue 13 with the real openstack client, on
nova-all and the real hypervisor.

What the serial-console admin page tells operators to type: ``openstack
flavor create --property hw:serial_port_count=2``, ``flavor set
--property``, ``flavor delete``, ``hypervisor show``, ``hypervisor stats
show``, ``compute service set --disable/--enable`` and the aggregate
commands. Each of them failed on main (405, or a 404 on
``/os-aggregates`` or ``/os-hypervisors/statistics``).

nova-all runs with ``auth_strategy = keystone`` against the real
Keystone of tools/setup-keystone.sh; the client logs in as its
``nova-admin`` cloud (clouds.yaml), copied into a private file with
``compute_endpoint_override`` set to this test's nova-all (the catalog
names the deployment's compute endpoint, not this test's port; the
client ignores an environment variable for it). OSC needs an identity
service even for ``flavor create``.
"""

import json
import os
import shutil
import subprocess
import sys

import fixtures
import yaml

from nova.tests.functional import base
from nova.tests.functional import services
from nova.tests.functional import test_keystone

OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')
TIMEOUT = 120
CLOUD = 'nova-admin-test'


class AdminCLITestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        if not os.path.exists(OPENSTACK) and not shutil.which('openstack'):
            self.fail('python-openstackclient is not installed in %s'
                      % os.path.dirname(sys.executable))
        clouds = test_keystone._Keystone.ensure()
        authtoken = test_keystone.authtoken_conf(clouds)
        self.services = services.NovaServices(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type,
            extra_conf={'api': {'auth_strategy': 'keystone'},
                        'keystone_authtoken': authtoken})
        self.addCleanup(self.services.cleanup)
        self.services.start()
        cloud = dict(clouds['nova-admin'],
                     compute_endpoint_override=self.services.endpoint)
        folder = self.useFixture(fixtures.TempDir()).path
        self.clouds_yaml = os.path.join(folder, 'clouds.yaml')
        # It holds the admin's password: owner only.
        fd = os.open(self.clouds_yaml, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o600)
        with os.fdopen(fd, 'w') as f:
            yaml.safe_dump({'clouds': {CLOUD: cloud}}, f)

    def osc(self, *args, version='2.25', parse=True):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env.update(OS_CLIENT_CONFIG_FILE=self.clouds_yaml, OS_CLOUD=CLOUD,
                   OS_COMPUTE_API_VERSION=version)
        command = [OPENSTACK] + list(args)
        if parse:
            command += ['-f', 'json']
        result = subprocess.run(command, env=env, capture_output=True,
                                text=True, timeout=TIMEOUT)
        self.assertEqual(0, result.returncode,
                         '%s failed:\n%s\n%s' % (' '.join(args),
                                                 result.stdout,
                                                 result.stderr))
        return json.loads(result.stdout) if parse and result.stdout else None

    def test_flavor_commands_of_the_serial_console_page(self):
        flavor = self.osc('flavor', 'create', '--ram', '512', '--vcpus',
                          '1', '--disk', '0', '--property',
                          'hw:serial_port_count=2', 'm1.debug')
        self.assertEqual({'hw:serial_port_count': '2'},
                         flavor['properties'])
        self.osc('flavor', 'set', '--property', 'hw:serial_port_count=3',
                 'm1.debug', parse=False)
        shown = self.osc('flavor', 'show', 'm1.debug')
        self.assertEqual({'hw:serial_port_count': '3'}, shown['properties'])
        self.osc('flavor', 'unset', '--property', 'hw:serial_port_count',
                 'm1.debug', parse=False)
        self.assertEqual({}, self.osc('flavor', 'show',
                                      'm1.debug')['properties'])
        self.osc('flavor', 'delete', 'm1.debug', parse=False)
        names = [f['Name'] for f in self.osc('flavor', 'list')]
        self.assertNotIn('m1.debug', names)

    def test_hypervisor_and_service_commands(self):
        [hypervisor] = self.osc('hypervisor', 'list')
        shown = self.osc('hypervisor', 'show',
                         hypervisor['Hypervisor Hostname'])
        self.assertEqual(hypervisor['ID'], shown['id'])
        self.assertEqual([], shown['aggregates'])
        stats = self.osc('hypervisor', 'stats', 'show')
        self.assertEqual(1, stats['count'])
        [service] = self.osc('compute', 'service', 'list')
        host = service['Host']
        self.osc('compute', 'service', 'set', '--disable',
                 '--disable-reason', 'kernel upgrade', host, 'nova-compute',
                 parse=False)
        [service] = self.osc('compute', 'service', 'list', '--long')
        self.assertEqual(('disabled', 'kernel upgrade'),
                         (service['Status'], service['Disabled Reason']))
        self.osc('compute', 'service', 'set', '--enable', host,
                 'nova-compute', parse=False)
        [service] = self.osc('compute', 'service', 'list')
        self.assertEqual('enabled', service['Status'])
        # Forced down (microversion 2.11) and back up.
        self.osc('compute', 'service', 'set', '--down', host,
                 'nova-compute', parse=False)
        [service] = self.osc('compute', 'service', 'list', '--long')
        self.assertEqual(('down', True), (service['State'],
                                          service['Forced Down']))
        self.osc('compute', 'service', 'set', '--up', host, 'nova-compute',
                 parse=False)
        [service] = self.osc('compute', 'service', 'list')
        self.assertEqual('up', service['State'])

        # An aggregate with a zone puts the host in that zone.
        self.osc('aggregate', 'create', '--zone', 'az-serial',
                 'serial-hosts')
        self.osc('aggregate', 'add', 'host', 'serial-hosts', host)
        shown = self.osc('hypervisor', 'show',
                         hypervisor['Hypervisor Hostname'])
        self.assertEqual(['serial-hosts'], shown['aggregates'])
        [service] = self.osc('compute', 'service', 'list')
        self.assertEqual('az-serial', service['Zone'])
        self.osc('aggregate', 'remove', 'host', 'serial-hosts', host)
        self.osc('aggregate', 'delete', 'serial-hosts', parse=False)
        self.assertEqual([], self.osc('aggregate', 'list'))
