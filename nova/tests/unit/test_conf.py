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


def _declared_entry_point(group, name):
    """The object setup.cfg declares for ``name`` in entry point
    ``group``: read from the source tree, so the test does not depend on
    an installed copy's metadata."""
    import configparser
    import importlib
    import os

    setup_cfg = os.path.join(os.path.dirname(nova.conf.__file__),
                             os.pardir, os.pardir, 'setup.cfg')
    parser = configparser.ConfigParser()
    parser.read(setup_cfg)
    for line in parser.get('entry_points', group).splitlines():
        key, _sep, target = line.partition('=')
        if key.strip() == name:
            module, _sep, attr = target.strip().partition(':')
            return getattr(importlib.import_module(module), attr)
    raise AssertionError('setup.cfg declares no %s in %s' % (name, group))


class LibDefaultsTestCase(test.TestCase):
    def test_sample_shows_the_body_limit_the_api_takes(self):
        # oslo-config-generator calls the oslo.config.opts.defaults entry
        # point of each namespace; the sample must show what the API
        # enforces, not oslo.middleware's own 112 KiB.
        from oslo_config import cfg
        from oslo_middleware import opts as middleware_opts
        from oslo_middleware import sizelimit

        from nova.api.openstack.compute import wsgi
        import nova.conf.opts

        self.addCleanup(nova.conf.opts.set_lib_defaults)
        # As a fresh generator process sees it: oslo's own default.
        cfg.set_defaults(sizelimit.OPTS, max_request_body_size=114688)
        _declared_entry_point('oslo.config.opts.defaults', 'nova.conf')()
        (_group, opts), = middleware_opts.list_opts_sizelimit()
        limit = next(opt for opt in opts
                     if opt.name == 'max_request_body_size')
        self.assertEqual(wsgi.MAX_BODY_BYTES, limit.default)
