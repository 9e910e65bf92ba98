"""/os-hypervisors: list, detail, show; admins only; integer ids."""

import json

import fixtures

from nova.api.openstack.compute import microversion
from nova import exception
from nova.tests.unit.api import base

PATH = '/v2.1/os-hypervisors'
POLICY = 'os_compute_api:os-hypervisors:%s'

CPU_INFO = {'arch': 'x86_64', 'model': 'Haswell-noTSX', 'vendor': 'Intel',
            'features': ['vmx'],
            'topology': {'cores': 4, 'threads': 2, 'sockets': 1}}
COMPUTE_1 = {
    'id': 1, 'hypervisor_hostname': 'compute-1.example.org',
    'state': 'up', 'status': 'enabled',
    'vcpus': 8, 'vcpus_used': 1, 'memory_mb': 16384,
    'memory_mb_used': 1024, 'free_ram_mb': 15360, 'local_gb': 0,
    'local_gb_used': 0, 'free_disk_gb': 0, 'disk_available_least': 0,
    'current_workload': 0, 'running_vms': 0, 'hypervisor_type': 'QEMU',
    'hypervisor_version': 8000000, 'host_ip': '192.0.2.11',
    'cpu_info': json.dumps(CPU_INFO, sort_keys=True),
    'service': {'host': 'compute-1', 'id': 10, 'disabled_reason': None},
}
# This project's extension, out of Nova's bodies.
FACTS_1 = {
    'id': 1, 'hypervisor_hostname': 'compute-1.example.org',
    'virtlogd': True, 'console_log': 'virtlogd',
    'libvirt_version': '8.0.0', 'qemu_version': '6.2.0',
    'serial_ports': {'total': 10001, 'free': 9999},
}


class HypervisorsTestCase(base.APITestCase):
    def get(self, path='', version=None, token=base.ADMIN_TOKEN):
        response = self.request('GET', PATH + path, version=version,
                                token=token)
        self.assertStatus(200, response)
        return self.json(response)

    def test_list(self):
        self.compute.hosts['compute-2'].update(up=False, disabled=True)
        self.assertEqual({'hypervisors': [
            {'id': 1, 'hypervisor_hostname': 'compute-1.example.org',
             'state': 'up', 'status': 'enabled'},
            {'id': 2, 'hypervisor_hostname': 'compute-2.example.org',
             'state': 'down', 'status': 'disabled'},
        ]}, self.get())

    def test_detail(self):
        hypervisors = self.get('/detail')['hypervisors']
        self.assertEqual(COMPUTE_1, hypervisors[0])
        two = hypervisors[1]
        self.assertEqual(
            (2, {'host': 'compute-2', 'id': 11, 'disabled_reason': None}),
            (two['id'], two['service']))
        # The N / N+1 mix: compute-2 is too old for virtlogd.
        facts = self.get('/serial-console-facts')['serial_console_facts']
        self.assertEqual(FACTS_1, facts[0])
        two = facts[1]
        self.assertEqual(
            (2, False, 'file', '1.2.17', '2.5.0',
             {'total': 100, 'free': 100}),
            (two['id'], two['virtlogd'], two['console_log'],
             two['libvirt_version'], two['qemu_version'],
             two['serial_ports']))

    def test_show(self):
        self.assertEqual({'hypervisor': COMPUTE_1}, self.get('/1'))
        self.assertEqual(('hypervisor_get', 1), self.compute.calls[-2])
        self.assertEqual(('service_list',), self.compute.calls[-1])
        self.assertEqual('compute-2.example.org',
                         self.get('/2')['hypervisor']['hypervisor_hostname'])

    def test_cpu_info_is_a_string_before_228(self):
        # Served once the API's maximum reaches 2.28 (the "ver" part).
        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.openstack.compute.microversion.MAX_VERSION',
            microversion.APIVersion(2, 28)))
        for version in ('2.1', '2.25', '2.27'):
            self.assertEqual({'hypervisor': COMPUTE_1},
                             self.get('/1', version=version))
        for version in ('2.28', 'latest'):
            self.assertEqual({'hypervisor': dict(COMPUTE_1,
                                                 cpu_info=CPU_INFO)},
                             self.get('/1', version=version))
            two = self.get('/detail', version=version)['hypervisors'][1]
            self.assertEqual({}, two['cpu_info'])

    def test_counts_follow_the_compute_api(self):
        self.compute.add_server(host='compute-1')
        self.compute.add_server(host='compute-1')
        self.compute.hosts['compute-1'].update(
            memory_mb_used=2048, disabled=True,
            disabled_reason='draining for an upgrade')
        shown = self.get('/1')['hypervisor']
        self.assertEqual((2, 14336, 'disabled', 'draining for an upgrade'),
                         (shown['running_vms'], shown['free_ram_mb'],
                          shown['status'],
                          shown['service']['disabled_reason']))

    def test_unknown_or_non_integer_id_is_404(self):
        for hypervisor_id in ('3', '0', 'compute-1', '1.0', '-1', '%C2%B2',
                              '1e3', ' 1', '99999999999999999999999'):
            self.assertFault(
                self.request('GET', PATH + '/' + hypervisor_id,
                             token=base.ADMIN_TOKEN),
                404, 'itemNotFound', 'Hypervisor', 'could not be found')
        # Only integers in range reach the compute API.
        self.assertEqual([('hypervisor_get', 3), ('hypervisor_get', 0)],
                         self.compute.calls)

    def test_leading_zeros_are_the_same_id(self):
        self.assertEqual(1, self.get('/01')['hypervisor']['id'])

    def test_service_is_the_hosts_nova_compute(self):
        real = self.compute.service_list

        def with_other_binary(ctx):
            # Listed after nova-compute, so a lookup ignoring the binary
            # would take it.
            return real(ctx) + [dict(real(ctx)[0], id=99,
                                     binary='nova-conductor')]

        self.compute.service_list = with_other_binary
        self.assertEqual(10, self.get('/1')['hypervisor']['service']['id'])

    def test_service_id_unknown(self):
        # A hypervisor whose service is not listed (yet): id null.
        self.compute.service_list = lambda ctx: []
        self.assertIsNone(self.get('/1')['hypervisor']['service']['id'])

    def test_non_admin_is_403(self):
        for path, rule in (('', 'list'), ('/detail', 'list-detail'),
                           ('/1', 'show'), ('/nope', 'show')):
            self.assertFault(
                self.request('GET', PATH + path, token=base.DEMO_TOKEN),
                403, 'forbidden',
                "Policy doesn't allow %s to be performed." % (POLICY % rule))
        self.assertEqual([], self.compute.calls)

    def test_compute_api_errors(self):
        self.compute.fail['hypervisor_get'] = exception.HypervisorNotFound(
            hypervisor_id=1)
        self.assertFault(self.request('GET', PATH + '/1',
                                      token=base.ADMIN_TOKEN),
                         404, 'itemNotFound', 'Hypervisor 1')
        self.compute.fail['hypervisor_list'] = exception.Forbidden(
            action='os-hypervisors')
        self.assertFault(self.request('GET', PATH, token=base.ADMIN_TOKEN),
                         403, 'forbidden')

    def test_only_get(self):
        for path in ('', '/detail', '/1'):
            response = self.request('POST', PATH + path, body={},
                                    token=base.ADMIN_TOKEN)
            self.assertFault(response, 405, 'badMethod')
            self.assertEqual('GET', response.headers['Allow'])
