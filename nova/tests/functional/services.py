"""Run the real services (nova-all) against the real hypervisor.

``NovaServices`` writes a nova.conf into a temporary folder, registers the
tiny guest image with nova-manage, starts ``nova-all`` in a subprocess and
waits until the API answers. Used by the functional tests, the main job
and the API benchmark.
"""

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
                # Another test run on this host deleted it meanwhile.
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
        manage = subprocess.run(
            self._command('manage', 'image', 'create', 'nova-guest',
                          '--id', IMAGE_ID, '--kernel', self.kernel,
                          '--ramdisk', self.initrd, '--property',
                          'os_command_line=%s' % self.cmdline),
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
