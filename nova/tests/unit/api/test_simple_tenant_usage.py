"""os-simple-tenant-usage over the real compute API and database (issue
13: tempest's TenantUsagesTestJSON and TenantUsagesNegativeTestJSON got
404). Nova's bodies, rules and arithmetic; deleted servers still count
(instances are hard-deleted here: the delete keeps a usage record)."""

import datetime

from nova.compute import usage
from nova.db import api as db
from nova.tests.unit.api import test_server_records
from nova.tests.unit.compute import test_api

import testtools

ADMIN = 'admin'
ALICE = 'alice:pa'
BOB = 'bob:pb'
UTC = datetime.timezone.utc
PATH = '/os-simple-tenant-usage'
# tempest's keys (tempest/lib/api_schema/.../tenant_usages.py).
SUMMARY_KEYS = {'tenant_id', 'total_hours', 'total_local_gb_usage',
                'total_memory_mb_usage', 'total_vcpus_usage', 'start',
                'stop'}
SERVER_KEYS = {'ended_at', 'flavor', 'hours', 'instance_id', 'local_gb',
               'memory_mb', 'name', 'started_at', 'state', 'tenant_id',
               'uptime', 'vcpus'}


def at(hour, day=30):
    return datetime.datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def shown(when):
    return when.strftime('%Y-%m-%dT%H:%M:%S.%f')


class HoursTestCase(testtools.TestCase):
    """Nova's _hours_for, each case."""

    def test_hours(self):
        start, stop = at(10), at(20)
        cases = (
            # (launched, terminated, hours)
            (None, None, 0),
            (at(8), None, 10),
            (at(12), None, 8),
            (at(12), at(15), 3),
            (at(8), at(9), 0),
            (at(21), None, 0),
            (at(8), at(22), 10),
        )
        for launched, terminated, hours in cases:
            self.assertEqual(hours, usage.hours_for(
                {'launched_at': launched, 'terminated_at': terminated},
                start, stop), (launched, terminated))


class TenantUsageTestCase(test_server_records.RESTMixin,
                          test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.app = self._app()
        now = datetime.datetime.now(UTC)
        self.query = '?start=%s&end=%s' % (
            shown(now - datetime.timedelta(days=1)),
            shown(now + datetime.timedelta(days=1)))

    def _get(self, path, status=200, token=ADMIN):
        return self.check(status, self.call('GET', PATH + path,
                                            token=token))

    def _launched(self, uuid, hours_ago):
        db.instance_update(uuid, {'launched_at': db.utcnow() -
                                  datetime.timedelta(hours=hours_ago)})

    def test_list_detailed_and_show_of_a_live_server(self):
        uuid = self._active()
        self._launched(uuid, 2)
        [summary] = self._get(self.query + '&detailed=1')['tenant_usages']
        self.assertEqual(SUMMARY_KEYS | {'server_usages'}, set(summary))
        self.assertEqual('pa', summary['tenant_id'])
        [server] = summary['server_usages']
        self.assertEqual(SERVER_KEYS, set(server))
        self.assertEqual((uuid, 'vm', 'active', None, 'm1.tiny', 'pa'),
                         (server['instance_id'], server['name'],
                          server['state'], server['ended_at'],
                          server['flavor'], server['tenant_id']))
        flavor = db.flavor_get('1')
        self.assertEqual((flavor['ram'], flavor['vcpus'], flavor['disk']),
                         (server['memory_mb'], server['vcpus'],
                          server['local_gb']))
        # As Nova: a running server is charged to the period's end (a
        # day from now), its uptime is to now.
        self.assertAlmostEqual(26, server['hours'], delta=0.1)
        self.assertAlmostEqual(2 * 3600, server['uptime'], delta=60)
        self.assertAlmostEqual(server['hours'] * flavor['ram'],
                               summary['total_memory_mb_usage'])
        self.assertAlmostEqual(server['hours'] * flavor['vcpus'],
                               summary['total_vcpus_usage'])
        self.assertAlmostEqual(server['hours'] * flavor['disk'],
                               summary['total_local_gb_usage'])
        self.assertAlmostEqual(server['hours'], summary['total_hours'])
        # Not detailed: no server_usages.
        [summary] = self._get(self.query)['tenant_usages']
        self.assertEqual(SUMMARY_KEYS, set(summary))
        # Show: always detailed, by the admin and by the project itself.
        for token in (ADMIN, ALICE):
            shown_usage = self._get('/pa' + self.query,
                                    token=token)['tenant_usage']
            self.assertEqual(SUMMARY_KEYS | {'server_usages'},
                             set(shown_usage))
        self.assertEqual({'tenant_usage': {}},
                         self._get('/nobody' + self.query))

    def test_deleted_server_still_counts(self):
        uuid = self._active()
        self._launched(uuid, 3)
        self.api.delete(test_api.ALICE, uuid)
        self._wait()
        self.assertIsNone(db.instance_get(uuid))
        [summary] = self._get(self.query + '&detailed=1')['tenant_usages']
        [server] = summary['server_usages']
        self.assertEqual((uuid, 'terminated'),
                         (server['instance_id'], server['state']))
        self.assertIsNotNone(server['ended_at'])
        self.assertAlmostEqual(3, server['hours'], places=2)
        self.assertEqual('m1.tiny', server['flavor'])
        # A period that ended before it launched does not count it.
        early = '?start=2020-01-01T00:00:00&end=2020-01-02T00:00:00'
        self.assertEqual({'tenant_usages': []}, self._get(early))

    def test_rules(self):
        self._active()
        message = self.check(403, self.call('GET', PATH + self.query,
                                            token=ALICE))
        self.assertIn('os_compute_api:os-simple-tenant-usage:list',
                      str(message))
        message = self.check(403, self.call('GET', PATH + '/pa' +
                                            self.query, token=BOB))
        self.assertIn('os_compute_api:os-simple-tenant-usage:show',
                      str(message))

    def test_bad_periods_are_400(self):
        for query in ('?start=yesterday', '?end=2026-13-01T00:00:00',
                      '?start=2026-11-30T10:00:00&end=2026-11-30T09:00:00',
                      '?start=2026-11-30T10:00:00&end=2026-11-30T10:00:00',
                      '?start=' + 'x' * 5000):
            for path in ('', '/pa'):
                body = self.check(400, self.call('GET', PATH + path + query,
                                                 token=ADMIN))
                self.assertLess(len(str(body)), 300)

    def test_formats(self):
        for start in ('2026-11-29T10:00:00', '2026-11-29T10:00:00.5',
                      '2026-11-29 10:00:00.123456'):
            body = self._get('?start=%s' % start)
            self.assertEqual({'tenant_usages': []}, body)

    def test_empty_tenant_id_is_404(self):
        # tempest's show with '' asks /os-simple-tenant-usage/?...
        self.check(404, self.call('GET', PATH + '/' + self.query,
                                  token=ADMIN))

    def test_projects_apart_and_never_launched(self):
        first = self._active()
        second = self._active(ctx=test_api.BOB)
        self._launched(first, 1)
        self._launched(second, 1)
        db.instance_update(second, {'launched_at': None})
        usages = self._get(self.query + '&detailed=1')['tenant_usages']
        self.assertEqual(['pa'], [u['tenant_id'] for u in usages])
        self.assertEqual(first,
                         usages[0]['server_usages'][0]['instance_id'])
