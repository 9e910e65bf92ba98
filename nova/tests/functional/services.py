"""Run the real services (nova-all) against the real hypervisor.

``NovaServices`` writes a nova.conf into a temporary folder, registers the
tiny guest image with nova-manage, starts ``nova-all`` in a subprocess and
waits until the API answers. Used by the functional tests, the main job
and the API benchmark.
"""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import libvirt

from nova import test

IMAGE_ID = '6b3f1a52-0c8e-4a8f-9a3e-2f0d7c1e5b11'
USER_TOKEN = 'demo:demo'
SETUP_GLANCE = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                            'tools', 'setup-glance.sh')
CLOUDS_YAML = '/etc/nova-keystone/clouds.yaml'
# python-openstackclient, beside this interpreter (test-requirements.txt).
OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')


def openstack(cloud, *args):
    """``openstack --os-cloud CLOUD ARGS -f json`` as an operator types
    it; its parsed output (None when it prints nothing)."""
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=CLOUDS_YAML)
    proc = subprocess.run([OPENSTACK, '--os-cloud', cloud] + list(args),
                          capture_output=True, text=True, env=env,
                          timeout=300)
    if proc.returncode != 0:
        raise ServicesFailed('openstack %s failed: %s' % (
            ' '.join(args), proc.stderr[-2000:]))
    return json.loads(proc.stdout) if proc.stdout.strip() else None


class GlanceImages:
    """The tiny guest in Glance (tools/setup-glance.sh), uploaded once per
    test process with ``openstack image create`` as the admin, public,
    and deleted when the process ends: ``kernel`` (aki), ``ramdisk``
    (ari) and ``guest`` (ami: kernel_id, ramdisk_id, os_command_line)."""

    ids = None

    @classmethod
    def ensure(cls, kernel, initrd, cmdline):
        if cls.ids is None:
            # (setup-host.sh, run first by every functional test, set
            # Keystone up.)
            proc = subprocess.run([SETUP_GLANCE, '--keystone-ready'],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise ServicesFailed('tools/setup-glance.sh failed: %s' %
                                     proc.stderr[-3000:])
            ids = {}
            tag = 'func-%d' % os.getpid()
            ids['kernel'] = cls.create('%s-kernel' % tag, kernel, 'aki')
            ids['ramdisk'] = cls.create('%s-ramdisk' % tag, initrd, 'ari')
            ids['guest'] = cls.create(
                '%s-guest' % tag, os.devnull, 'ami',
                kernel_id=ids['kernel'], ramdisk_id=ids['ramdisk'],
                os_command_line=cmdline)
            cls.ids = ids
        return cls.ids

    @classmethod
    def create(cls, name, path, disk_format, container_format=None,
               **properties):
        """A public image from file ``path``; its id (deleted at exit)."""
        container = container_format or (
            disk_format if disk_format in ('aki', 'ari', 'ami') else 'bare')
        args = ['image', 'create', '--public', '--disk-format',
                disk_format, '--container-format', container, '--file',
                path, '-f', 'json']
        for item in properties.items():
            args += ['--property', '%s=%s' % item]
        image_id = openstack('nova-admin', *(args + [name]))['id']
        atexit.register(cls.delete, image_id)
        return image_id

    @staticmethod
    def delete(image_id):
        try:
            openstack('nova-admin', 'image', 'delete', image_id)
        except (ServicesFailed, OSError, subprocess.TimeoutExpired):
            pass


def glance_conf(cloud):
    """The [glance] options of nova with Glance: ``cloud`` (a clouds.yaml
    entry's ``auth``) as nova's service credentials."""
    auth = cloud['auth']
    return {'enabled': True, 'auth_type': 'password',
            'auth_url': auth['auth_url'], 'username': auth['username'],
            'password': auth['password'],
            'user_domain_name': auth['user_domain_name'],
            'project_name': auth['project_name'],
            'project_domain_name': auth['project_domain_name'],
            'region_name': 'RegionOne'}


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class ServicesFailed(Exception):
    pass


def stop_process(process, sig=signal.SIGTERM):
    """Send ``sig`` to a running ``process``; kill it after 30 s."""
    if process and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def file_tail(path, lines=40):
    try:
        with open(path) as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return '(no %s)' % path


def destroy_guests_in(uri, folder, names=()):
    """Guests whose files are in ``folder``, or named in ``names``: what
    a failed test left (a guest with neither disk nor log names no file:
    one on an N host)."""
    conn = libvirt.open(uri)
    try:
        for dom in conn.listAllDomains():
            try:
                if (dom.name() not in names and
                        folder + '/' not in dom.XMLDesc(0)):
                    continue
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
            except libvirt.libvirtError as e:
                # Gone since the listing (another test's clean-up).
                if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
    finally:
        conn.close()


def conf_text(base, extra):
    """nova.conf text ``base`` with ``extra`` ({group: {opt: value}})
    set: later lines of a group win in oslo.config."""
    lines = [base]
    for group, options in extra.items():
        lines.append('[%s]' % group)
        lines.extend('%s = %s' % item for item in options.items())
    return '\n'.join(lines) + '\n'


class NovaServices:
    """nova-all on 127.0.0.1, with its own config, database and folder."""

    def __init__(self, kernel, initrd, cmdline, virt_type,
                 serial_ports=(None, None), token_ttl=600, workdir=None,
                 extra_conf=None):
        """``extra_conf``: {group: {option: value}} set on top."""
        self.extra_conf = extra_conf or {}
        self.workdir = workdir or tempfile.mkdtemp(prefix='nova-services-')
        self.api_port = free_port()
        self.proxy_port = free_port()
        start, end = serial_ports
        if start is None:
            start = test.free_port_block(40)
            end = start + 39
        self.conf_file = os.path.join(self.workdir, 'nova.conf')
        self.log_file = os.path.join(self.workdir, 'nova-all.log')
        with open(self.conf_file, 'w') as f:
            f.write(self._conf_text(virt_type, start, end, token_ttl))
        self.kernel, self.initrd, self.cmdline = kernel, initrd, cmdline
        self.process = None

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d/v2.1' % self.api_port

    def _conf_text(self, virt_type, start, end, token_ttl):
        return conf_text(self._base_conf(virt_type, start, end, token_ttl),
                         self.extra_conf)

    def _base_conf(self, virt_type, start, end, token_ttl):
        return '\n'.join([
            '[DEFAULT]',
            'instances_path = %s/instances' % self.workdir,
            'osapi_compute_listen = 127.0.0.1',
            'osapi_compute_listen_port = %d' % self.api_port,
            'log_file = %s' % self.log_file,
            'debug = True',
            '[libvirt]',
            'virt_type = %s' % virt_type,
            'connection_uri = qemu:///system',
            # The test guest ignores ACPI: a soft reboot falls back soon.
            'wait_soft_reboot_seconds = 3',
            '[serial_console]',
            'enabled = True',
            'port_range = %d:%d' % (start, end),
            'proxyclient_address = 127.0.0.1',
            'serialproxy_host = 127.0.0.1',
            'serialproxy_port = %d' % self.proxy_port,
            'base_url = ws://127.0.0.1:%d/' % self.proxy_port,
            '[database]',
            'connection = sqlite:///%s/nova.sqlite' % self.workdir,
            '[consoleauth]',
            'token_ttl = %d' % token_ttl,
            ''])

    def _command(self, name, *args):
        return [sys.executable, '-m', 'nova.cmd.%s' % name,
                '--config-file', self.conf_file] + list(args)

    def start(self, timeout=60):
        """Start nova-all (again, after stop(): state is kept in its DB)."""
        if self.process is None:
            self._register_image()
        self.process = subprocess.Popen(
            self._command('all'), stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServicesFailed('nova-all exited with %d: %s\n%s' % (
                    self.process.returncode, self.process.stderr.read(),
                    self.log_tail()))
            try:
                with urllib.request.urlopen(self.endpoint, timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise ServicesFailed('nova-all did not answer on %s within %d s:\n%s'
                             % (self.endpoint, timeout, self.log_tail()))

    def _register_image(self):
        self.register_image('nova-guest', IMAGE_ID, self.kernel, self.initrd,
                            {'os_command_line': self.cmdline})

    def register_image(self, name, image_id, kernel, initrd, properties):
        """Register another kernel image with nova-manage (``properties``:
        {name: value}, e.g. hw_architecture)."""
        argv = ['image', 'create', name, '--id', image_id, '--kernel',
                kernel, '--ramdisk', initrd]
        for item in properties.items():
            argv += ['--property', '%s=%s' % item]
        manage = subprocess.run(self._command('manage', *argv),
                                capture_output=True, text=True)
        if manage.returncode != 0:
            raise ServicesFailed('nova-manage image create failed: %s'
                                 % manage.stderr)

    def log_tail(self, lines=40):
        return file_tail(self.log_file, lines)

    def request(self, method, path, body=None, token=USER_TOKEN,
                version=None):
        """(status, parsed JSON or None) of one API call."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint + path, data=data,
                                     method=method)
        req.add_header('Content-Type', 'application/json')
        if token:
            req.add_header('X-Auth-Token', token)
        if version:
            req.add_header('OpenStack-API-Version', 'compute %s' % version)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        return status, (json.loads(raw) if raw else None)

    def stop(self):
        stop_process(self.process)

    def delete_all_servers(self, timeout=60):
        """Delete every server (admin view) and wait until they are gone."""
        status, body = self.request('GET', '/servers', token='admin:admin')
        if status != 200:
            return
        for server in body['servers']:
            self.request('DELETE', '/servers/%s' % server['id'],
                         token='admin:admin')
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.request('GET', '/servers',
                                        token='admin:admin')
            if status != 200 or not body['servers']:
                return
            time.sleep(0.5)

    def cleanup(self):
        """Leave nothing behind: servers (and so guests), process, files."""
        if self.process and self.process.poll() is None:
            self.delete_all_servers()
        self.stop()
        self._destroy_leftover_guests()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _destroy_leftover_guests(self):
        """Guests whose files are in our folder: a failed delete's rest."""
        destroy_guests_in('qemu:///system', self.workdir)
