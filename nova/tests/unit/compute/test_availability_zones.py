"""Which zone a host or service is in, and which zones are available."""

from nova.compute import availability_zones as az
from nova.db import api as db
from nova.tests.unit.compute import base
from nova.tests.unit.db import base as db_base


class AvailabilityZonesTestCase(db_base.DBTestCase):
    def setUp(self):
        super().setUp()
        self.conf = base.new_conf(self, service_down_time=60,
                                  default_availability_zone='zone-a',
                                  internal_service_availability_zone='int')

    def test_a_compute_host_is_in_the_default_zone(self):
        self.assertEqual('zone-a',
                         az.get_host_availability_zone(None, 'h1', self.conf))
        self.assertEqual('zone-a',
                         az.get_host_availability_zone(None, None, self.conf))

    def test_other_services_are_in_the_internal_zone(self):
        self.assertEqual('int', az.get_service_availability_zone(
            None, {'host': 'h1', 'topic': 'conductor'}, self.conf))
        self.assertEqual('zone-a', az.get_service_availability_zone(
            None, {'host': 'h1', 'topic': 'compute'}, self.conf))

    def test_a_zone_is_available_while_an_enabled_host_in_it_is_up(self):
        self.assertEqual(([], []), az.get_availability_zones(None, self.conf))
        db.service_report('h1', 'nova-compute', 'compute', {})
        self.assertEqual((['zone-a'], []),
                         az.get_availability_zones(None, self.conf))
        db.service_report('h1', 'nova-compute', 'compute', {}, up=False)
        self.assertEqual(([], ['zone-a']),
                         az.get_availability_zones(None, self.conf))
