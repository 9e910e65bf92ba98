"""Two compute hosts over RabbitMQ on this machine.

Host A (this machine's libvirtd) runs nova-all: the API, the proxy, the
conductor and its compute service. Host B (tools/two-hosts.sh: its own
network namespace and libvirtd) runs nova-compute inside its namespace,
reaching the broker at host A's address, as a second machine would.
Both use a RabbitMQ vhost of this test process's own (rabbitmq_vhost), so
that another run on this machine, with hosts of the same names, never
takes their calls. Host A's services keep their state in MariaDB, as a
multi-host deployment does: each cloud in a database of its own
(mariadb_database), dropped when the test process exits.
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from keystoneauth1.identity import v3
from keystoneauth1 import session
import yaml

from nova.tests.functional import base
from nova.tests.functional import mariadb_database
from nova.tests.functional import rabbitmq_vhost
from nova.tests.functional import services

TWO_HOSTS = os.path.join(base.REPO, 'tools', 'two-hosts.sh')
RABBITMQ = os.path.join(base.REPO, 'tools', 'setup-rabbitmq.sh')

# Short enough for the fault tests to see a host go down quickly.
REPORT_INTERVAL = 1
SERVICE_DOWN_TIME = 6
RPC_RESPONSE_TIMEOUT = 10


def two_hosts():
    """tools/two-hosts.sh up, and its ``env`` as a dict."""
    base.run_tool(TWO_HOSTS, 'up')
    env = {}
    for line in base.run_tool(TWO_HOSTS, 'env').splitlines():
        key, sep, value = line.partition('=')
        if sep:
            env[key] = shlex.split(value)[0] if value else ''
    return env


class Rig:
    """The two hosts and the broker, set up once per test process."""

    env = None

    @classmethod
    def ensure(cls, stack=None):
        """``stack``: the tiny guest to put in Glance (None: no Glance,
        for the rig's own unit tests)."""
        if cls.env is None:
            env = two_hosts()
            if stack is not None:
                # Glance for both hosts: on loopback and host A's address.
                base.run_tool(services.SETUP_GLANCE, '--keystone-ready',
                              '--listen', env['HOSTA_ADDR'])
                env['IMAGE_ID'] = services.GlanceImages.ensure(
                    stack.kernel, stack.initrd, stack.cmdline)['guest']
            # A vhost of this process's own: another run's host-a and
            # host-b must not take our calls (deleted at exit).
            env['RABBITMQ_VHOST'] = rabbitmq_vhost.create(
                '--listen', env['HOSTA_ADDR'])
            env['TRANSPORT_URL_A'] = transport_url(env, '127.0.0.1')
            env['TRANSPORT_URL_B'] = transport_url(env, env['HOSTA_ADDR'])
            cls.env = env
        return cls.env

    @staticmethod
    def restart_broker():
        base.run_tool(RABBITMQ, '--restart')


def transport_url(env, addr):
    """The URL that reaches the broker at ``addr``, in the rig's vhost."""
    return rabbitmq_vhost.with_vhost(
        base.run_tool(RABBITMQ, '--print-transport-url', addr).strip(),
        env['RABBITMQ_VHOST'])


def glance_conf_a():
    """Host A's [glance]: credentials at Keystone (loopback). The rig's
    API runs noauth2, so every Glance call is made with these: they must
    see the images, and Glance's default policy shows images to readers
    and admins only (user nova has role service alone): the admin's."""
    with open(services.CLOUDS_YAML) as f:
        clouds = yaml.safe_load(f)['clouds']
    return services.glance_conf(clouds['nova-admin'])


def glance_conf_b(env):
    """Host B's [glance]: Glance at host A's address, with a token of
    nova's service user. Keystone listens on host A's loopback only, so
    the test hands B a token (keystoneauth's admin_token plugin) instead
    of a password it could not use; a deployment's compute hosts reach
    Keystone and use auth_type = password as host A does."""
    conf = glance_conf_a()
    auth = v3.Password(
        auth_url=conf['auth_url'], username=conf['username'],
        password=conf['password'], user_domain_name=conf['user_domain_name'],
        project_name=conf['project_name'],
        project_domain_name=conf['project_domain_name'])
    token = session.Session(auth=auth).get_token()
    endpoint = 'http://%s:9292' % env['HOSTA_ADDR']
    return {'enabled': True, 'auth_type': 'admin_token',
            'endpoint': endpoint, 'endpoint_override': endpoint,
            'token': token}


def common_conf(env):
    return {'DEFAULT': {'report_interval': REPORT_INTERVAL,
                        'service_down_time': SERVICE_DOWN_TIME,
                        'rpc_response_timeout': RPC_RESPONSE_TIMEOUT,
                        'long_rpc_timeout': 300}}


def remotefs_conf(env, host):
    """[libvirt] options of host ``host`` ('a' or 'b') for the remote file
    system: ssh to the other host's sshd with this host's key, the rig's
    known_hosts, both hosts' instances folders allowed (they differ)."""
    return {'remote_filesystem_ssh_port': int(env['SSH_PORT']),
            'remote_filesystem_ssh_user': env['SSH_USER'],
            'remote_filesystem_ssh_identity_file':
                env['HOST%s_SSH_IDENTITY' % host.upper()],
            'remote_filesystem_ssh_known_hosts_file': env['SSH_KNOWN_HOSTS'],
            'remote_filesystem_allowed_paths':
                env['REMOTEFS_ALLOWED_PATHS']}


def host_a_services(stack, env, port_start, extra_conf=None):
    """``extra_conf``: {group: {option: value}} set on top."""
    extra = common_conf(env)
    extra['DEFAULT'].update(host='host-a',
                            instances_path=env['HOSTA_INSTANCES'],
                            transport_url=env['TRANSPORT_URL_A'])
    extra['libvirt'] = {
        'connection_uri': env['HOSTA_URI'],
        'live_migration_inbound_addr': env['HOSTA_ADDR'],
        'live_migration_connect_uri': env['HOSTB_TO_HOSTA_URI']}
    extra['libvirt'].update(remotefs_conf(env, 'a'))
    extra['serial_console'] = {'proxyclient_address': env['HOSTA_ADDR']}
    extra['database'] = {'connection': mariadb_database.create()}
    extra['glance'] = glance_conf_a()
    for group, options in (extra_conf or {}).items():
        extra.setdefault(group, {}).update(options)
    return services.NovaServices(
        stack.kernel, stack.initrd, stack.cmdline, stack.virt_type,
        serial_ports=(port_start, port_start + 19), extra_conf=extra)


class ComputeProcess:
    """nova-compute of host B, in B's network namespace."""

    def __init__(self, stack, env, port_start, old=False, libvirt=None,
                 module=None):
        """``libvirt``: [libvirt] options set on top of the rig's;
        ``module``: the nova-compute to run (default: nova.cmd.compute,
        or old_compute when ``old``)."""
        self.env = env
        self.old = old
        self.module = module
        self.workdir = tempfile.mkdtemp(prefix='nova-compute-b-')
        self.conf_file = os.path.join(self.workdir, 'nova.conf')
        self.log_file = os.path.join(self.workdir, 'nova-compute.log')
        self.stderr_file = os.path.join(self.workdir, 'stderr.log')
        extra = common_conf(env)
        extra['DEFAULT'].update(
            host='host-b', instances_path=env['HOSTB_INSTANCES'],
            transport_url=env['TRANSPORT_URL_B'], log_file=self.log_file,
            debug=True)
        extra['libvirt'] = {
            'virt_type': stack.virt_type,
            'connection_uri': env['HOSTB_URI'],
            'live_migration_inbound_addr': env['HOSTB_ADDR'],
            'live_migration_connect_uri': env['HOSTB_URI'],
            'virtlogd_conf': os.path.join(env['HOSTB_ROOT'], 'etc',
                                          'libvirt', 'virtlogd.conf')}
        extra['libvirt'].update(remotefs_conf(env, 'b'))
        extra['libvirt'].update(libvirt or {})
        extra['glance'] = glance_conf_b(env)
        extra['serial_console'] = {
            'enabled': True, 'proxyclient_address': env['HOSTB_ADDR'],
            'port_range': '%d:%d' % (port_start, port_start + 19)}
        with open(self.conf_file, 'w') as f:
            f.write(services.conf_text('', extra))
        self.process = None

    def start(self):
        module = self.module or (
            'nova.tests.functional.old_compute' if self.old else
            'nova.cmd.compute')
        with open(self.stderr_file, 'ab') as stderr:
            self.process = subprocess.Popen(
                ['ip', 'netns', 'exec', self.env['HOSTB_NETNS'],
                 sys.executable, '-m', module, '--config-file',
                 self.conf_file],
                cwd=base.REPO, stdout=subprocess.DEVNULL, stderr=stderr)
        return self

    def stop(self, sig=signal.SIGTERM):
        services.stop_process(self.process, sig)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines=40):
        return (services.file_tail(self.log_file, lines) +
                services.file_tail(self.stderr_file, lines))


def wait_for(predicate, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError('%s: not within %d s' % (what, timeout))


def live_migrate_drivers(inst, source, dest, block_migration=None):
    """One live migration between two drivers of this process, with the
    driver calls in the order the conductor and the source compute make
    them (nova.conductor.live_migrate, ComputeManager.live_migration):
    on a failed job the destination is rolled back and MigrationError is
    raised, the guest still on ``source``. Sets ``inst.host``."""
    data = dest.check_can_live_migrate_destination(None, inst)
    data.block_migration = block_migration
    data = source.check_can_live_migrate_source(None, inst, data)
    data = dest.pre_live_migration(None, inst, data)
    try:
        source.live_migration(None, inst, data.connect_uri, data)
    except Exception:
        dest.rollback_live_migration_at_destination(None, inst, data)
        raise
    dest.post_live_migration_at_destination(None, inst, data)
    source.post_live_migration(None, inst, data)
    inst.host = dest.host_name
    return data
