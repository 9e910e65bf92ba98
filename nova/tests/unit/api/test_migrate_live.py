"""os-migrateLive: schemas of 2.1-2.24 and 2.25, admins only, errors."""

from nova import exception
from nova.tests.unit.api import base

POLICY = 'os_compute_api:os-migrate-server:migrate_live'
TRUE_FORMS = (True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES',
              'Yes', 'yes')
FALSE_FORMS = (False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off',
               'NO', 'No', 'no')


def v21_body(host=None, block_migration=False, disk_over_commit=False):
    return {'os-migrateLive': {'host': host,
                               'block_migration': block_migration,
                               'disk_over_commit': disk_over_commit}}


def v225_body(host=None, block_migration='auto'):
    return {'os-migrateLive': {'host': host,
                               'block_migration': block_migration}}


class MigrateLiveTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()
        self.uuid = self.server['uuid']

    def migrate(self, body, version='2.25', token=base.ADMIN_TOKEN,
                server_id=None):
        return self.action(server_id or self.uuid, body, version=version,
                           token=token)

    def assertAccepted(self, response):
        self.assertStatus(202, response)
        self.assertEqual(b'', response.body)
        self.assertNotIn('Content-Type', response.headers)

    def assertMigrated(self, host, block_migration):
        self.assertEqual(('live_migrate', self.uuid, host, block_migration),
                         self.compute.calls[-1])
        self.assertTrue(self.compute.contexts[-1].is_admin)

    def reset(self):
        self.compute.migrations.clear()
        self.compute.servers[self.uuid].update(status='ACTIVE',
                                               task_state=None)

    # -- 2.25 -------------------------------------------------------------

    def test_225_auto_and_scheduler(self):
        self.assertAccepted(self.migrate(v225_body()))
        self.assertMigrated(None, 'auto')
        # The fake's scheduler picked the other host.
        self.assertEqual({self.uuid: 'compute-2'}, self.compute.migrations)
        shown = self.json(self.request(
            'GET', '/v2.1/servers/%s' % self.uuid, token=base.ADMIN_TOKEN))
        self.assertEqual('MIGRATING', shown['server']['status'])
        self.assertEqual('migrating',
                         shown['server']['OS-EXT-STS:task_state'])

    def test_225_host_and_booleans(self):
        for value, expected in ([(v, True) for v in TRUE_FORMS] +
                                [(v, False) for v in FALSE_FORMS] +
                                [('auto', 'auto')]):
            self.reset()
            self.assertAccepted(self.migrate(v225_body('compute-2', value)))
            self.assertMigrated('compute-2', expected)
            self.assertIs(type(expected), type(self.compute.calls[-1][3]))
            # No free space check from 2.25 (as Nova).
            self.assertIsNone(self.compute.disk_over_commits[-1])

    def test_latest_is_225(self):
        self.assertAccepted(self.migrate(v225_body(), version='latest'))
        self.assertMigrated(None, 'auto')

    def test_225_schema_errors(self):
        ok = v225_body()['os-migrateLive']
        cases = [
            ({'os-migrateLive': dict(ok, disk_over_commit=False)},
             'os-migrateLive.disk_over_commit'),
            ({'os-migrateLive': dict(ok, force=True)},
             'os-migrateLive.force'),
            ({'os-migrateLive': {'block_migration': 'auto'}},
             'os-migrateLive.host'),
            ({'os-migrateLive': {'host': None}},
             'os-migrateLive.block_migration'),
        ]
        for value in ('Auto', 'AUTO', 'maybe', '', 1, 0, None, [], {}):
            cases.append((v225_body(block_migration=value),
                          'os-migrateLive.block_migration'))
        for host in ('', 'two words', 'a/b', 'x' * 256, 5, True, ['h'],
                     'host\n'):
            cases.append((v225_body(host=host), 'os-migrateLive.host'))
        cases += [
            ({'os-migrateLive': None}, 'os-migrateLive'),
            ({'os-migrateLive': []}, 'os-migrateLive'),
        ]
        for body, field in cases:
            self.assertFault(self.migrate(body), 400, 'badRequest',
                             'field/attribute %s:' % field)
        self.assertEqual([], self.compute.actions())

    def test_host_names_nova_accepts(self):
        for host in ('compute-2', 'c_2', 'c.2.example.org', 'x' * 255):
            self.reset()
            self.compute.hosts.setdefault(host, dict(
                self.compute.hosts['compute-2']))
            self.assertAccepted(self.migrate(v225_body(host, False)))
            self.assertMigrated(host, False)

    # -- 2.1 to 2.24 --------------------------------------------------------

    def test_v21_booleans(self):
        for version in (None, '2.1', '2.24'):
            for value, expected in ([(v, True) for v in TRUE_FORMS] +
                                    [(v, False) for v in FALSE_FORMS]):
                self.reset()
                response = self.migrate(
                    v21_body('compute-2', value, disk_over_commit=value),
                    version=version)
                self.assertAccepted(response)
                self.assertMigrated('compute-2', expected)
                # Passed on (as Nova: the block migration's free space
                # check), as a boolean.
                self.assertIs(expected, self.compute.disk_over_commits[-1])

    def test_v21_host_null_lets_the_scheduler_choose(self):
        self.assertAccepted(self.migrate(v21_body(), version='2.1'))
        self.assertMigrated(None, False)

    def test_v21_schema_errors(self):
        ok = v21_body()['os-migrateLive']
        cases = [
            (v21_body(block_migration='auto'),
             'os-migrateLive.block_migration'),
            (v21_body(disk_over_commit='auto'),
             'os-migrateLive.disk_over_commit'),
            (v21_body(disk_over_commit=None),
             'os-migrateLive.disk_over_commit'),
            (v21_body(block_migration=1), 'os-migrateLive.block_migration'),
            (v21_body(host=''), 'os-migrateLive.host'),
        ]
        for key in ('host', 'block_migration', 'disk_over_commit'):
            partial = {k: v for k, v in ok.items() if k != key}
            cases.append(({'os-migrateLive': partial},
                          'os-migrateLive.%s' % key))
        cases.append(({'os-migrateLive': dict(ok, force=True)},
                      'os-migrateLive.force'))
        for version in ('2.1', '2.24'):
            for body, field in cases:
                self.assertFault(self.migrate(body, version=version), 400,
                                 'badRequest', 'field/attribute %s:' % field)
        self.assertEqual([], self.compute.actions())

    def test_versions_above_230_are_406(self):
        body = {'os-migrateLive': {'host': 'compute-2',
                                   'block_migration': 'auto', 'force': True}}
        self.assertFault(self.migrate(body, version='2.31'), 406,
                         'computeFault', 'maximum is 2.30')
        self.assertEqual([], self.compute.calls)

    def test_force_from_230(self):
        body = {'os-migrateLive': {'host': 'compute-2',
                                   'block_migration': 'auto', 'force': True}}
        # Unknown before 2.30.
        self.assertFault(self.migrate(body, version='2.29'), 400,
                         'badRequest', 'force')
        self.assertStatus(202, self.migrate(body, version='2.30'))
        self.assertEqual(True, self.compute.forced[-1])
        self.compute.servers[self.uuid].update(status='ACTIVE',
                                               task_state=None)
        # From 2.30 a named host is checked unless forced...
        del body['os-migrateLive']['force']
        self.assertStatus(202, self.migrate(body, version='2.30'))
        self.assertEqual(False, self.compute.forced[-1])
        self.compute.servers[self.uuid].update(status='ACTIVE',
                                               task_state=None)
        # ... and before, it is forced.
        self.assertStatus(202, self.migrate(body, version='2.25'))
        self.assertEqual(True, self.compute.forced[-1])
        for bad in ('yes please', None, 2):
            body['os-migrateLive']['force'] = bad
            self.assertFault(self.migrate(body, version='2.30'), 400,
                             'badRequest', 'force')

    def test_225_body_is_refused_before_225(self):
        self.assertFault(self.migrate(v225_body(block_migration=True),
                                      version='2.24'),
                         400, 'badRequest',
                         'field/attribute os-migrateLive.disk_over_commit:')

    # -- who may ----------------------------------------------------------

    def test_non_admin_is_403_whatever_the_body(self):
        for body, version in ((v225_body(), '2.25'),
                              (v21_body(), '2.1'),
                              ({'os-migrateLive': None}, '2.25'),
                              (v225_body(host='compute-2'), '2.25')):
            self.assertFault(
                self.migrate(body, version=version, token=base.DEMO_TOKEN),
                403, 'forbidden',
                "Policy doesn't allow %s to be performed." % POLICY)
            # As Nova: another project's server does not exist for them.
            self.assertFault(
                self.migrate(body, version=version, token=base.OTHER_TOKEN),
                404, 'itemNotFound', 'could not be found')
        # The controller refused; the compute API was never asked to act.
        self.assertEqual([], self.compute.actions())
        self.assertEqual('ACTIVE', self.compute.servers[self.uuid]['status'])

    def test_compute_api_forbidden_is_403(self):
        self.compute.fail['live_migrate'] = exception.Forbidden(
            action='os-migrateLive')
        self.assertFault(self.migrate(v225_body()), 403, 'forbidden',
                         'os-migrateLive')

    # -- errors -------------------------------------------------------------

    def test_request_errors_are_400(self):
        for exc in (exception.NoValidHost(reason='No host has room.'),
                    exception.ComputeServiceUnavailable(host='compute-2'),
                    exception.ComputeHostNotFound(host='compute-9'),
                    exception.MigrationPreCheckError(
                        reason='CPU of compute-2 is not compatible')):
            self.compute.fail['live_migrate'] = exc
            self.assertFault(self.migrate(v225_body('compute-2', True)),
                             400, 'badRequest', exc.message)

    def test_compute_host_not_found_is_400_here_only(self):
        # A 404 class: elsewhere it would be itemNotFound.
        self.assertEqual(404, exception.ComputeHostNotFound.code)
        self.assertFault(self.migrate(v225_body('compute-9')), 400,
                         'badRequest',
                         'Compute host compute-9 could not be found.')
        self.assertMigrated('compute-9', 'auto')
        self.assertEqual('ACTIVE', self.compute.servers[self.uuid]['status'])

    def test_fake_compute_refusals(self):
        self.compute.hosts['compute-2']['up'] = False
        self.assertFault(self.migrate(v225_body('compute-2')), 400,
                         'badRequest', 'Compute service of compute-2 is '
                         'unavailable at this time.')
        # No other host up: the scheduler finds none.
        self.assertFault(self.migrate(v225_body()), 400, 'badRequest',
                         'No valid host was found.')
        self.assertFault(self.migrate(v225_body('compute-1')), 400,
                         'badRequest', 'Migration pre-check error',
                         'already on compute-1')
        self.assertEqual({}, self.compute.migrations)

    def test_state_and_existence(self):
        self.compute.servers[self.uuid]['status'] = 'BUILD'
        self.assertFault(self.migrate(v225_body()), 409,
                         'conflictingRequest', self.uuid, 'BUILD')
        for server_id in ('nope', 'e1b1f6a4-0000-4000-8000-000000000000'):
            self.assertFault(self.migrate(v225_body(), server_id=server_id),
                             404, 'itemNotFound', server_id)
        self.compute.fail['live_migrate'] = exception.InstanceHostUnavailable(
            instance_uuid=self.uuid, host='compute-1', reason='is down')
        self.assertFault(self.migrate(v225_body()), 409,
                         'conflictingRequest', 'compute-1')

    def test_admin_migrates_any_projects_server(self):
        other = self.compute.add_server(project_id='other')
        self.assertAccepted(self.migrate(v225_body(),
                                         server_id=other['uuid']))
        self.assertEqual(('live_migrate', other['uuid'], None, 'auto'),
                         self.compute.calls[-1])

    def test_unexpected_compute_error_is_500_without_details(self):
        self.compute.fail['live_migrate'] = exception.HypervisorUnavailable(
            uri='qemu+tcp://compute-2/system', reason='refused')
        message = self.assertFault(self.migrate(v225_body()), 500,
                                   'computeFault')
        self.assertNotIn('qemu+tcp', message)

    def test_finish_moves_the_server(self):
        self.assertAccepted(self.migrate(v225_body('compute-2', False)))
        self.compute.finish_live_migration(self.uuid)
        server = self.json(self.request(
            'GET', '/v2.1/servers/%s' % self.uuid, version='2.25',
            token=base.ADMIN_TOKEN))['server']
        self.assertEqual(('ACTIVE', 'compute-2', 'compute-2.example.org'),
                         (server['status'], server['OS-EXT-SRV-ATTR:host'],
                          server['OS-EXT-SRV-ATTR:hypervisor_hostname']))
