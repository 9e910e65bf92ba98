"""What every benchmark under tools/bench/ shares.

Reporting (figures on stdout, progress on stderr, first the command that
reproduces them), the repository's set-up scripts, and the few clients a
benchmark drives nova with as a user would: nova-all with its own config,
the compute API, a guest's tcp serial port and the proxy's live console.
No test module is imported (nova.tests changes with the tests); importing
this module puts the repository first on sys.path, so ``nova`` is the
tree's.

Benchmarks must not disturb a functional test run on the same libvirtd.
"""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
SETUP_HOST = os.path.join(REPO, 'tools', 'setup-host.sh')
BUILD_IMAGE = os.path.join(REPO, 'tools', 'build-guest-image.sh')
TWO_HOSTS = os.path.join(REPO, 'tools', 'two-hosts.sh')
URI = 'qemu:///system'
IMAGE_ID = '6b3f1a52-0c8e-4a8f-9a3e-2f0d7c1e5b11'
PROMPT = b'nova-guest# '


class BenchFailed(Exception):
    pass


def progress(msg, *args):
    print('bench: ' + (msg % args if args else msg), file=sys.stderr,
          flush=True)


def out(line=''):
    print(line, flush=True)


def run_tool(*argv):
    """stdout of a tools/ script; BenchFailed with its stderr otherwise."""
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchFailed('%s failed (exit %d):\n%s' % (
            shlex.join(argv), proc.returncode, proc.stderr[-3000:]))
    return proc.stdout


def reproduce_command():
    parts = ['cd', shlex.quote(os.getcwd()), '&&']
    if 'PYTHONPATH' in os.environ:
        parts.append('PYTHONPATH=' + shlex.quote(os.environ['PYTHONPATH']))
    parts.append(shlex.join([sys.executable] + sys.argv))
    return ' '.join(parts)


def functional_tests_running():
    """Pids of a functional test run on this machine, if any."""
    proc = subprocess.run(['pgrep', '-f', 'nova/tests/functional'],
                          capture_output=True, text=True)
    return proc.stdout.split()


def cpu_seconds(pid, system_only=False):
    """User + system CPU seconds of a process (all its threads) so far;
    with ``system_only``, the system (kernel) part alone."""
    with open('/proc/%d/stat' % pid) as f:
        stat = f.read()
    # After the command name (in parentheses) comes field 3: utime (14)
    # and stime (15) are 11 and 12 from there.
    fields = stat[stat.rindex(')') + 2:].split()
    ticks = int(fields[12]) + (0 if system_only else int(fields[11]))
    return ticks / os.sysconf('SC_CLK_TCK')


def pids_of(name):
    """Pids of the processes whose command name is ``name``."""
    proc = subprocess.run(['pgrep', '-x', name], capture_output=True,
                          text=True)
    return [int(p) for p in proc.stdout.split()]


def guest_image():
    """(kernel, initrd, kernel command line) of the tiny test guest."""
    kernel, initrd = run_tool(BUILD_IMAGE).split()
    with open(os.path.join(os.path.dirname(kernel), 'cmdline')) as f:
        return kernel, initrd, f.read().strip()


def prepare_host():
    """(virt type, kernel, initrd, cmdline, how the host was found)."""
    if os.geteuid() != 0:
        raise BenchFailed('run as root: nova-all drives the real libvirtd, '
                          'virtlogd and QEMU')
    status = subprocess.run([SETUP_HOST, '--status'], capture_output=True,
                            text=True)
    match = re.search(r'^virt_type \(cached\): (kvm|qemu)$', status.stdout,
                      re.M)
    if status.returncode == 0 and match:
        # Running daemons: setting up again would rewrite virtlogd.conf
        # (to its defaults), which a functional test running meanwhile
        # may have changed on purpose.
        return match.group(1), *guest_image(), ('daemons already running, '
                                                'left as they are')
    progress('setting the host up (tools/setup-host.sh)')
    virt_type = run_tool(SETUP_HOST, '--print-virt-type').strip()
    return virt_type, *guest_image(), 'set up by tools/setup-host.sh'


# -- a guest's tcp serial port ------------------------------------------------

class SerialTimeout(Exception):
    """The expected output did not come; ``received`` has what did."""

    def __init__(self, pattern, received, timeout):
        self.received = received
        super().__init__('no %r on the serial console within %.0f s; last '
                         'output: %r' % (pattern, timeout, received[-400:]))


class SerialClient:
    """A guest's raw tcp serial port, as nova-serialproxy reaches it."""

    def __init__(self, host, port, connect_timeout=10):
        self.received = b''
        self._sock = socket.create_connection((host, port),
                                              timeout=connect_timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._sock.close()

    def send_line(self, line):
        self._sock.sendall(line.encode() + b'\r')   # as a terminal ends it

    def read_until(self, pattern, timeout=30):
        """The match of ``pattern`` (bytes regex) in what comes next."""
        regex = re.compile(pattern)
        start = len(self.received)
        deadline = time.monotonic() + timeout
        while not (match := regex.search(self.received, start)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise SerialTimeout(regex.pattern, self.received, timeout)
            self._sock.settimeout(min(left, 1.0))
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise ConnectionError('the serial port closed; last output: '
                                      '%r' % self.received[-400:])
            self.received += chunk
        return match

    def run(self, command, timeout=30):
        """Type ``command``; its output (the end marker is typed split so
        that the echo cannot match it)."""
        marker = 'END-%d' % time.monotonic_ns()
        self.send_line("%s; echo '%s''%s'" % (command, marker[:4],
                                              marker[4:]))
        match = self.read_until(re.compile(
            re.escape(command.encode()) + rb'[^\n]*\n(.*?)' +
            re.escape(marker.encode()), re.S), timeout)
        return match.group(1).replace(b'\r\n', b'\n')


# -- nova-all and its API -----------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def free_port_block(count):
    """The first of ``count`` consecutive ports free on 127.0.0.1 now."""
    for start in range(20000, 30000, count):
        try:
            for port in range(start, start + count):
                with socket.socket() as sock:
                    sock.bind(('127.0.0.1', port))
        except OSError:
            continue
        return start
    raise BenchFailed('no %d consecutive free ports' % count)


class NovaAll:
    """nova-all on 127.0.0.1 with a config, database and folder of its own
    (``workdir``), the test guest image registered."""

    def __init__(self, kernel, initrd, cmdline, virt_type, serial_ports=40):
        self.workdir = tempfile.mkdtemp(prefix='nova-bench-')
        self.api_port, self.proxy_port = free_port(), free_port()
        self.conf_file = os.path.join(self.workdir, 'nova.conf')
        self.log_file = os.path.join(self.workdir, 'nova-all.log')
        self.endpoint = 'http://127.0.0.1:%d/v2.1' % self.api_port
        self.image = (kernel, initrd, cmdline)
        self.process = None
        first = free_port_block(serial_ports)
        with open(self.conf_file, 'w') as f:
            f.write('\n'.join([
                '[DEFAULT]',
                'instances_path = %s/instances' % self.workdir,
                'osapi_compute_listen = 127.0.0.1',
                'osapi_compute_listen_port = %d' % self.api_port,
                'log_file = %s' % self.log_file,
                '[libvirt]',
                'virt_type = %s' % virt_type,
                'connection_uri = %s' % URI,
                '[serial_console]',
                'enabled = True',
                'port_range = %d:%d' % (first, first + serial_ports - 1),
                'proxyclient_address = 127.0.0.1',
                'serialproxy_host = 127.0.0.1',
                'serialproxy_port = %d' % self.proxy_port,
                'base_url = ws://127.0.0.1:%d/' % self.proxy_port,
                '[database]',
                'connection = sqlite:///%s/nova.sqlite' % self.workdir,
                '']))

    def _command(self, name, *args):
        return [sys.executable, '-m', 'nova.cmd.%s' % name, '--config-file',
                self.conf_file] + list(args)

    def _env(self):
        """This tree's nova for the services too, wherever we run from."""
        path = os.environ.get('PYTHONPATH')
        return dict(os.environ, PYTHONPATH=REPO + (':' + path if path else ''))

    def start(self, timeout=60):
        kernel, initrd, cmdline = self.image
        manage = subprocess.run(
            self._command('manage', 'image', 'create', 'nova-guest', '--id',
                          IMAGE_ID, '--kernel', kernel, '--ramdisk', initrd,
                          '--property', 'os_command_line=%s' % cmdline),
            env=self._env(), capture_output=True, text=True)
        if manage.returncode != 0:
            raise BenchFailed('nova-manage image create failed:\n%s'
                              % manage.stderr[-3000:])
        self.process = subprocess.Popen(self._command('all'), env=self._env(),
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchFailed('nova-all exited with %d:\n%s' % (
                    self.process.returncode, self.log_tail()))
            try:
                with urllib.request.urlopen(self.endpoint, timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        raise BenchFailed('nova-all did not answer on %s within %d s:\n%s'
                          % (self.endpoint, timeout, self.log_tail()))

    def log_tail(self, lines=40):
        try:
            with open(self.log_file) as f:
                return ''.join(f.readlines()[-lines:])
        except OSError:
            return '(no %s)' % self.log_file

    def request(self, method, path, body=None, token='demo:demo',
                version=None):
        """(status, parsed JSON or None) of one API call (``version``: a
        compute API microversion)."""
        req = urllib.request.Request(
            self.endpoint + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={'Content-Type': 'application/json',
                     'X-Auth-Token': token})
        if version:
            req.add_header('OpenStack-API-Version', 'compute %s' % version)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw, status = resp.read(), resp.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        return status, (json.loads(raw) if raw else None)

    def cleanup(self):
        """Servers (and so their guests) deleted, nova-all stopped, any
        guest left in the folder destroyed, the folder removed."""
        if self.process and self.process.poll() is None:
            status, body = self.request('GET', '/servers', token='admin:admin')
            for server in (body or {}).get('servers', []):
                self.request('DELETE', '/servers/%s' % server['id'],
                             token='admin:admin')
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.request(
                    'GET', '/servers', token='admin:admin')[1]['servers']:
                time.sleep(0.5)
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        import libvirt
        conn = libvirt.open(URI)
        try:
            for dom in conn.listAllDomains():
                if self.workdir + '/' in dom.XMLDesc(0):
                    if dom.isActive():
                        dom.destroy()
                    dom.undefine()
        finally:
            conn.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def api_call(services, method, path, body=None, expect=(200,), **kwargs):
    status, reply = services.request(method, path, body, **kwargs)
    if status not in expect:
        raise BenchFailed('%s %s: HTTP %d %s' % (method, path, status,
                                                 json.dumps(reply)[:500]))
    return reply


def console_output(services, server_id):
    reply = api_call(services, 'POST', '/servers/%s/action' % server_id,
                     {'os-getConsoleOutput': {'length': None}})
    return reply['output']


def boot_server(services, name='bench', timeout=150):
    """Boot a server of the test image; its id once ACTIVE with the
    guest's banner in its console output."""
    reply = api_call(services, 'POST', '/servers', {'server': {
        'name': name, 'imageRef': IMAGE_ID, 'flavorRef': '1'}},
        expect=(202,))
    server_id = reply['server']['id']
    progress('server %s accepted; waiting for ACTIVE', server_id)
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        server = api_call(services, 'GET', '/servers/%s' % server_id)
        server = server['server']
        if server['status'] == 'ERROR':
            raise BenchFailed('server %s went to ERROR: %s' % (
                server_id, server.get('fault')))
        if (server['status'] == 'ACTIVE' and
                not server.get('OS-EXT-STS:task_state')):
            break
        if time.monotonic() > deadline:
            raise BenchFailed('server %s not ACTIVE within %d s (%s)\n%s'
                              % (server_id, timeout, server['status'],
                                 services.log_tail()))
        time.sleep(0.25)
    active_s = time.monotonic() - t0
    banner = re.compile(r'NOVA-GUEST-BANNER [0-9a-f-]{36}')
    while not banner.search(text := console_output(services, server_id)):
        if time.monotonic() > deadline:
            raise BenchFailed('no banner in the console output of %s within '
                              '%d s; its end: %r' % (server_id, timeout,
                                                     text[-400:]))
        time.sleep(0.25)
    progress('server ACTIVE after %.1f s, banner after %.1f s', active_s,
             time.monotonic() - t0)
    return server_id


# -- the proxy's live console -------------------------------------------------

class LiveConsole:
    """One websocket session of nova-serialproxy, read by a thread of its
    own (a slow benchmark never makes the proxy drop it).

    ``data``: the console bytes of every binary frame; ``arrivals``: each
    binary frame's end offset in ``data`` with its monotonic arrival time;
    ``notices``: (offset in ``data``, nova_console object) of the text
    frames after the first (live, gap: doc/source/admin/serial-console.rst).
    """

    def __init__(self, url, history=None, name='console'):
        import websocket
        if history is not None:
            url += '%shistory=%d' % ('&' if '?' in url else '?', history)
        self.name = name
        self._ws = websocket.create_connection(url, timeout=30,
                                               subprotocols=['binary'])
        self._cond = threading.Condition()
        self.data = bytearray()
        self.arrivals = []
        self.notices = []
        self.hello = None
        self.closed = None
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name='live-console-%s' % name)
        self._reader.start()

    def _read(self):
        import websocket
        try:
            while True:
                try:
                    op, payload = self._ws.recv_data(control_frame=True)
                except websocket.WebSocketTimeoutException:
                    continue   # a quiet console
                with self._cond:
                    if op == websocket.ABNF.OPCODE_CLOSE:
                        return
                    if op == websocket.ABNF.OPCODE_BINARY:
                        self.data += payload
                        self.arrivals.append((len(self.data),
                                              time.monotonic()))
                    elif op == websocket.ABNF.OPCODE_TEXT:
                        message = json.loads(payload)['nova_console']
                        if self.hello is None:
                            self.hello = message
                        else:
                            self.notices.append((len(self.data), message))
                    self._cond.notify_all()
        except (websocket.WebSocketException, OSError) as e:
            self.closed = e
        finally:
            with self._cond:
                self.closed = self.closed or 'closed'
                self._cond.notify_all()

    def _wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (result := predicate()):
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise BenchFailed('%s: no %s within %d s (%s); the end '
                                      'of what came: %r' % (
                                          self.name, what, timeout,
                                          self.closed or 'open',
                                          bytes(self.data[-400:])))
                self._cond.wait(min(left, 1.0))
            return result

    def read_until(self, pattern, timeout=60, start=0):
        regex = re.compile(pattern)
        return self._wait(lambda: regex.search(self.data, start), timeout,
                          repr(regex.pattern))

    def wait_live(self, timeout=60):
        """The offset in ``data`` where the live output began."""
        return self._wait(lambda: [o for o, m in self.notices
                                   if m.get('live')], timeout,
                          'live notice')[0]

    def wait_prompt(self, timeout=60):
        start = len(self.snapshot())
        self.send(b'\r')
        self.read_until(re.escape(PROMPT), timeout, start)
        return self

    def gaps(self):
        with self._cond:
            return [o for o, m in self.notices if m.get('gap')]

    def snapshot(self):
        with self._cond:
            return bytes(self.data)

    def send(self, data):
        self._ws.send_binary(bytes(data))

    def close(self):
        import websocket
        try:
            self._ws.send_close()
        except (websocket.WebSocketException, OSError):
            pass
        self._reader.join(5)
        self._ws.shutdown()


def numbers(pattern, data):
    """The integers of the first group of ``pattern`` in ``data``."""
    return [int(n) for n in re.findall(pattern, bytes(data))]


# -- two drivers of this process ----------------------------------------------

def live_migrate_drivers(inst, source, dest, block_migration=None):
    """One live migration between two libvirt drivers, the calls in the
    order the conductor and the source compute make them; on a failed
    job the destination is rolled back and the error raised."""
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
