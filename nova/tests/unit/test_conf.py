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


class LibDefaultsTestCase(test.TestCase):
    def test_sample_shows_the_body_limit_the_api_takes(self):
        # oslo-config-generator calls the oslo.config.opts.defaults entry
        # point; the sample must show what the API enforces, not
        # oslo.middleware's own 112 KiB.
        from oslo_config import cfg
        from oslo_config import generator
        from oslo_middleware import sizelimit

        from nova.api.openstack.compute import wsgi
        import nova.conf.opts

        self.addCleanup(nova.conf.opts.set_lib_defaults)
        # As a fresh generator process sees it: oslo's own default.
        cfg.set_defaults(sizelimit.OPTS, max_request_body_size=114688)
        self.assertEqual(wsgi.MAX_BODY_BYTES,
                         nova.conf.opts.MAX_REQUEST_BODY_BYTES)
        groups = dict(generator._list_opts(
            ['nova.conf', 'oslo.middleware.sizelimit'])[1][1])
        limit = next(opt for opt in groups['oslo_middleware']
                     if opt.name == 'max_request_body_size')
        self.assertEqual(wsgi.MAX_BODY_BYTES, limit.default)
