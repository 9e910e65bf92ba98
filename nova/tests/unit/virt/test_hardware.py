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
