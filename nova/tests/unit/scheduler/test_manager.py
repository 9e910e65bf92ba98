"""select_host: filters on the hosts' last reports, then the most free
serial ports, then the most free memory."""

import datetime

from nova.db import api as db
from nova.db import models
from nova import exception
from nova.objects import instance as objects
from nova.scheduler import manager as scheduler
from nova.tests.unit.compute import base
from nova.tests.unit.db import base as db_base


def _report(ram=4096, ports=100, serial=True):
    return {'memory_mb_free': ram, 'serial_ports_free': ports,
            'serial_console_enabled': serial}


def _set(host, **values):
    """Change a service's row as an operator or time would."""
    table = models.Service.__table__
    with db._transaction() as session:
        session.execute(table.update().where(table.c.host == host)
                        .values(**values))


class SelectHostTestCase(db_base.DBTestCase):
    def setUp(self):
        super().setUp()
        self.nova_conf = base.new_conf(self, service_down_time=60)
        # Two serial ports (flavor), 512 MiB.
        self.flavor = objects.Flavor(
            memory_mb=512, extra_specs={'hw:serial_port_count': '2'})
        self.image = objects.ImageMeta(kernel_path='/k')

    def _host(self, host, **report):
        db.service_report(host, 'nova-compute', 'compute', _report(**report))

    def _select(self, exclude=(), **kwargs):
        return scheduler.select_host(self.nova_conf, self.flavor,
                                     self.image, exclude=exclude, **kwargs)

    def _refused(self, exclude=(), **kwargs):
        return self.assertRaises(exception.NoValidHost, self._select,
                                 exclude, **kwargs).message

    def test_no_hosts(self):
        self.assertEqual('No valid host was found. No compute service has '
                         'reported.', self._refused())

    def test_most_free_ports_first(self):
        self._host('a', ports=10, ram=8000)
        self._host('b', ports=20, ram=1000)
        self.assertEqual('b', self._select())

    def test_memory_breaks_ties(self):
        self._host('a', ports=20, ram=8000)
        self._host('b', ports=20, ram=1000)
        self.assertEqual('a', self._select())

    def test_full_tie_is_decided_by_name(self):
        self._host('b')
        self._host('a')
        self._host('c')
        self.assertEqual('c', self._select())
        self.assertEqual('b', self._select(exclude=('c',)))

    def test_disabled_hosts_are_skipped(self):
        self._host('a', ports=90)
        self._host('b', ports=10)
        _set('a', disabled=True)
        self.assertEqual('b', self._select())
        _set('b', disabled=True)
        self.assertEqual('No valid host was found. Hosts considered: a: '
                         'disabled; b: disabled.', self._refused())

    def test_down_hosts_are_skipped(self):
        self._host('silent', ports=90)
        self._host('stopped', ports=80)
        self._host('forced', ports=70)
        self._host('ok', ports=10)
        _set('silent', updated_at=db.utcnow() - datetime.timedelta(
            seconds=61))
        db.service_report('stopped', 'nova-compute', 'compute', None,
                          up=False)
        _set('forced', forced_down=True)
        self.assertEqual('ok', self._select())
        message = self._refused(exclude=('ok',))
        for host in ('silent', 'stopped', 'forced'):
            self.assertIn('%s: down' % host, message)

    def test_memory(self):
        self._host('small', ram=511, ports=99)
        self._host('exact', ram=512, ports=2)
        self.assertEqual('exact', self._select())
        self.assertIn('small: only 511 MiB free RAM',
                      self._refused(exclude=('exact',)))

    def test_free_ports_only_with_the_serial_console(self):
        self._host('one-port', ports=1, ram=9000)
        self.assertIn('one-port: only 1 free serial ports', self._refused())
        # Without the serial console a guest takes no tcp port.
        self._host('one-port', ports=1, ram=9000, serial=False)
        self.assertEqual('one-port', self._select())

    def test_not_reported_yet(self):
        db.service_report('new', 'nova-compute', 'compute', None)
        self.assertEqual('No valid host was found. Hosts considered: new: '
                         'not reported yet.', self._refused())

    def test_exclude(self):
        self._host('a', ports=90)
        self._host('b', ports=10)
        self.assertEqual('b', self._select(exclude=('a',)))
        # An excluded host is named as such: "no compute service has
        # reported" would be untrue.
        self.assertEqual('No valid host was found. Hosts considered: a: '
                         'excluded; b: excluded.',
                         self._refused(exclude=('a', 'b')))
        self.assertEqual('No valid host was found. Hosts considered: a: '
                         'the source.',
                         self._refused(exclude=('a',), only='a',
                                       excluded_why='the source'))

    def test_only_one_host_is_considered(self):
        self._host('a', ports=90)
        self._host('b', ram=100)
        self.assertEqual('a', self._select(only='a'))
        self.assertEqual('No valid host was found. Hosts considered: b: '
                         'only 100 MiB free RAM.', self._refused(only='b'))

    def test_reason_lists_each_host(self):
        self._host('a', ram=100)
        self._host('b', ports=0)
        _set('c', disabled=True)  # no such row: nothing changes
        self._host('d')
        _set('d', disabled=True)
        self.assertEqual(
            'No valid host was found. Hosts considered: a: only 100 MiB '
            'free RAM; b: only 0 free serial ports; d: disabled.',
            self._refused())

    def test_image_ports_count(self):
        self._host('a', ports=2)
        self.image = objects.ImageMeta(
            kernel_path='/k', properties={'hw_serial_port_count': '1'})
        self.flavor.extra_specs = {'hw:serial_port_count': '3'}
        self.assertEqual('a', self._select())
        self.image.properties = {'hw_serial_port_count': '3'}
        self.assertIn('only 2 free serial ports', self._refused())
        self.image.properties = {'hw_serial_port_count': '4'}
        self.assertRaises(exception.Invalid, self._select)

    def test_message_lists_hosts_in_registration_order(self):
        self._host('z', ram=1)
        self._host('a', ram=2)
        self.assertIn('z: only 1 MiB free RAM; a: only 2 MiB', self._refused())
