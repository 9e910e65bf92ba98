"""noauth2 takes any caller at their word: only on loopback."""

from nova.api.openstack.compute import auth
from nova import exception
from nova import test


class CheckListenTestCase(test.TestCase):
    def test_loopback_addresses_pass(self):
        for host in ('127.0.0.1', '127.0.0.2', '::1', 'localhost'):
            auth.check_listen(self.conf.conf, host)

    def test_other_addresses_are_refused(self):
        for host, why in (('0.0.0.0', 'every address'),
                          ('', 'every address'),
                          ('::', 'every address'),
                          ('192.0.2.10', 'not a loopback address'),
                          ('name.invalid', 'does not resolve')):
            e = self.assertRaises(exception.NoAuthOffLoopback,
                                  auth.check_listen, self.conf.conf, host)
            self.assertIn(why, e.message)
            self.assertIn('osapi_compute_listen', e.message)
            self.assertIn('auth_strategy = keystone', e.message)

    def test_keystone_listens_anywhere(self):
        self.flags(group='api', auth_strategy='keystone')
        auth.check_listen(self.conf.conf, '0.0.0.0')
