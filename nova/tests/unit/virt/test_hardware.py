from nova import exception
from nova.objects import instance as objects
from nova import test
from nova.virt import hardware


def _count(flavor_value=None, image_value=None):
    extra = {} if flavor_value is None else {
        'hw:serial_port_count': flavor_value}
    props = {} if image_value is None else {
        'hw_serial_port_count': image_value}
    return hardware.get_number_of_serial_ports(
        objects.Flavor(extra_specs=extra), objects.ImageMeta(properties=props))


class SerialPortCountTestCase(test.TestCase):
    def test_default_is_one(self):
        self.assertEqual(1, _count())

    def test_flavor_value(self):
        self.assertEqual(3, _count(flavor_value='3'))

    def test_image_value_without_flavor(self):
        self.assertEqual(2, _count(image_value='2'))

    def test_image_may_lower_flavor(self):
        self.assertEqual(2, _count(flavor_value='4', image_value=2))

    def test_image_may_not_exceed_flavor(self):
        e = self.assertRaises(exception.ImageSerialPortNumberExceedFlavorValue,
                              _count, flavor_value='2', image_value='3')
        self.assertIn('3 serial ports', str(e))
        self.assertIn('at most 2', str(e))

    def test_invalid_values_name_the_property(self):
        for flavor_value, image_value, prop in (
                ('two', None, 'hw:serial_port_count'),
                (None, 'x', 'hw_serial_port_count'),
                ('0', None, 'hw:serial_port_count'),
                (None, '-1', 'hw_serial_port_count'),
                (None, True, 'hw_serial_port_count'),
                ('1.5', None, 'hw:serial_port_count')):
            e = self.assertRaises(exception.ImageSerialPortNumberInvalid,
                                  _count, flavor_value, image_value)
            self.assertIn(prop, str(e))


def _tune(**specs):
    return hardware.get_cpu_tune(objects.Flavor(extra_specs={
        'quota:cpu_%s' % k: v for k, v in specs.items()}))


class CPUTuneTestCase(test.TestCase):
    def test_none_set(self):
        self.assertEqual({}, hardware.get_cpu_tune(
            objects.Flavor(extra_specs={'hw:serial_port_count': '2'})))

    def test_values_and_bounds(self):
        self.assertEqual(
            {'shares': 1, 'period': 1000, 'quota': 1000},
            _tune(shares='1', period='1000', quota='1000'))
        self.assertEqual(
            {'shares': 262144, 'period': 1000000, 'quota': -1},
            _tune(shares=' 262144 ', period=1000000, quota='-1'))
        self.assertEqual({'quota': 17592186044415},
                         _tune(quota='17592186044415'))

    def test_invalid_values_name_key_and_range(self):
        for key, value, expected in (
                ('shares', '0', '1-262144'),
                ('shares', '262145', '1-262144'),
                ('period', '999', '1000-1000000'),
                ('period', 'x', '1000-1000000'),
                ('quota', '999', '-1 or 1000-17592186044415'),
                ('quota', '-2', '-1 or 1000-17592186044415'),
                ('quota', '1.5', '-1 or 1000-17592186044415'),
                ('quota', False, '-1 or 1000-17592186044415')):
            e = self.assertRaises(exception.FlavorExtraSpecInvalid,
                                  _tune, **{key: value})
            self.assertIn('quota:cpu_%s' % key, str(e))
            self.assertIn(expected, str(e))
