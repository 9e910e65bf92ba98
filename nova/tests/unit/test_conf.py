import nova.conf
from nova import test


class NewConfTestCase(test.TestCase):
    def test_hosts_do_not_share_overrides(self):
        host_a, host_b = nova.conf.new_conf(), nova.conf.new_conf()
        for conf in (host_a, host_b):
            conf([], project='nova', default_config_files=[])
        host_a.set_override('proxyclient_address', '192.0.2.1',
                            'serial_console')
        host_b.set_override('proxyclient_address', '192.0.2.2',
                            'serial_console')
        host_b.set_override('virt_type', 'qemu', 'libvirt')
        self.assertEqual('192.0.2.1',
                         host_a.serial_console.proxyclient_address)
        self.assertEqual('192.0.2.2',
                         host_b.serial_console.proxyclient_address)
        self.assertEqual('kvm', host_a.libvirt.virt_type)
        self.assertEqual('127.0.0.1',
                         nova.conf.CONF.serial_console.proxyclient_address)
