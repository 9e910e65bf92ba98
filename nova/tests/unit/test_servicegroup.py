"""Whether a compute service is up, from its last report and ``now``."""

import datetime

import testtools

from nova import servicegroup
from nova.tests.unit.compute import base

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def _service(age=5, stopped=False, forced_down=False):
    updated = None if age is None else NOW - datetime.timedelta(seconds=age)
    return {'host': 'h', 'updated_at': updated, 'stopped': stopped,
            'forced_down': forced_down}


class ServiceGroupTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.conf = base.new_conf(self, service_down_time=60)

    def _check(self, service):
        return (servicegroup.is_up(service, self.conf, now=NOW),
                servicegroup.down_reason(service, self.conf, now=NOW))

    def test_up_when_reported_within_service_down_time(self):
        self.assertEqual((True, None), self._check(_service(age=0)))
        self.assertEqual((True, None), self._check(_service(age=60)))
        self.assertEqual(60, servicegroup.seconds_since_report(
            _service(age=60), now=NOW))

    def test_down_after_service_down_time(self):
        self.assertEqual(
            (False, 'has not reported for 61 s (service_down_time is 60 s)'),
            self._check(_service(age=61)))
        self.conf.set_override('service_down_time', 120)
        self.assertEqual((True, None), self._check(_service(age=61)))

    def test_stopped_is_down_at_once(self):
        self.assertEqual((False, 'was stopped'),
                         self._check(_service(age=0, stopped=True)))

    def test_forced_down_wins(self):
        self.assertEqual((False, 'is forced down'), self._check(
            _service(age=0, stopped=True, forced_down=True)))

    def test_never_reported(self):
        self.assertEqual((False, 'has never reported'),
                         self._check(_service(age=None)))
        self.assertIsNone(servicegroup.seconds_since_report(
            _service(age=None), now=NOW))

    def test_now_defaults_to_the_clock(self):
        service = _service()
        service['updated_at'] = datetime.datetime.now(
            datetime.timezone.utc)
        self.assertTrue(servicegroup.is_up(service, self.conf))
        self.assertFalse(servicegroup.is_up(_service(), self.conf))
