#!/usr/bin/env python3
"""Benchmark the compute API and nova-serialproxy (not a test).

Run as root from the repository:

    python tools/bench/bench_api.py

Prints:

1. ``os-getConsoleOutput`` under concurrent load: N client threads (32 by
   default), each with its own persistent HTTP connection, POST
   ``{"os-getConsoleOutput": {"length": null}}`` for a fixed time. Two
   targets, measured in the same run:

   * real: nova-all (``benchlib.NovaAll``, the real hypervisor) with one
     booted server whose console log holds over 100 KiB (the guest ran
     ``chatty 1600`` on its serial console), so every call does the
     database lookup, libvirt's XMLDesc, the XML parse and the log read;
   * baseline: the same WSGI application (``app.build_app``) served the
     same way (``nova.cmd.api.make_server``, the same thread count, the
     same configuration file) in a process of its own, with a compute API
     stand-in whose ``get_console_output`` returns a fixed string: the
     newest 100 KiB of that guest's real log, read once. Both answer with
     the same text, so the ratio is the cost of the real path.

   Every response must be a 200 whose output is ~100 KiB and holds the
   last chatty line; anything else counts as an error.

2. nova-serialproxy's throughput: a fixed volume (64 MiB) in binary
   websocket frames (64 KiB) through the proxy to a local tcp echo server
   and back, against the same volume over a direct tcp connection to the
   same echo server. The proxy is ``websocketproxy.make_server`` in a
   process of its own, with a stand-in compute API (the port is always
   current) and a stand-in ``nova.console.tokens.validate`` that maps one
   token to the echo server. The echo server (another process) stands in
   for a guest: a real serial port runs at ~100 KiB/s and would measure
   the guest.

Everything listens on 127.0.0.1. Figures go to stdout, progress to stderr.
The server is deleted, nova-all and the helper processes stopped and the
client threads joined in every case. Exit 0 on success, 1 with a message
on failure.

Shares libvirtd with whatever else runs on the host (the functional tests
may run meanwhile: the load here lasts seconds). When the daemons already
run it leaves virtlogd's settings alone; otherwise it sets the host up as
the functional tests do.
"""

import argparse
import datetime
import hashlib
import http.client
import json
import math
import os
import re
import secrets
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import xml.etree.ElementTree as ElementTree

from benchlib import BenchFailed
from benchlib import boot_server
from benchlib import console_output
from benchlib import cpu_seconds
from benchlib import functional_tests_running
from benchlib import IMAGE_ID
from benchlib import NovaAll
from benchlib import out
from benchlib import pids_of
from benchlib import prepare_host
from benchlib import progress
from benchlib import PROMPT
from benchlib import reproduce_command
from benchlib import SerialClient
from benchlib import URI

HOST = '127.0.0.1'

KiB = 1024
MiB = 1024 * KiB

CHATTY_LINES = 1600         # 65 bytes each in the log: 104000 bytes
LAST_LINE = 'SEQ %06d ' % CHATTY_LINES
LOG_BYTES = 100 * KiB       # what the driver returns at most
# The output is the log's newest 100 KiB as text, without the \r of each
# line: a little under 100 KiB of characters.
MIN_OUTPUT_CHARS = 95 * KiB
MAX_OUTPUT_CHARS = 100 * KiB

CHATTY_TIMEOUT = 90
REQUEST_TIMEOUT = 30        # one HTTP request, one socket operation
CHILD_START_TIMEOUT = 30
CHILD_STOP_TIMEOUT = 20
PROXY_STOP_GRACE = 5        # websocketproxy.STOP_GRACE

CONSOLE_OUTPUT_BODY = json.dumps(
    {'os-getConsoleOutput': {'length': None}}).encode()


class CpuMeter:
    """CPU seconds that named processes use between start() and stop()."""

    def __init__(self, pids):
        self.pids = {name: list(p) for name, p in pids.items()}
        self.start_values = {}
        self.used = {}

    def _read(self, pids):
        total = 0.0
        for pid in pids:
            try:
                total += cpu_seconds(pid)
            except (OSError, ValueError, IndexError):
                pass    # gone meanwhile: count what we could read
        return total

    def start(self):
        self.start_values = {name: self._read(pids)
                             for name, pids in self.pids.items()}

    def stop(self):
        self.used = {name: self._read(pids) - self.start_values[name]
                     for name, pids in self.pids.items()}
        return self.used


# -- helper processes ---------------------------------------------------------
#
# This file run with --child NAME serves one of the helpers below in its
# own process: it prints "READY <port> [<token>]" on stdout, serves until
# its stdin reaches EOF (the parent closed it, or died), then stops.


def _wait_for_eof():
    try:
        sys.stdin.read()
    except (OSError, ValueError):
        pass


def child_echo():
    """A tcp echo server: what a guest's serial port would be."""
    stop = threading.Event()
    lsock = socket.create_server((HOST, 0))
    lsock.settimeout(0.2)
    handlers = []

    def handle(conn):
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(REQUEST_TIMEOUT)
            while not stop.is_set():
                data = conn.recv(256 * KiB)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    def accept_loop():
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            thread = threading.Thread(target=handle, args=(conn,),
                                      daemon=True)
            handlers.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    print('READY %d' % lsock.getsockname()[1], flush=True)
    _wait_for_eof()
    stop.set()
    acceptor.join(5)
    lsock.close()
    for thread in handlers:
        thread.join(REQUEST_TIMEOUT + 5)
    return 0


class _AlwaysCurrentPort:
    """The compute API's one call the proxy makes: the port is current."""

    def __init__(self, port):
        self.port = port

    def validate_console_port(self, ctx, instance_uuid, host, port,
                              console_type):
        return host == HOST and int(port) == self.port


def child_proxy(target_port):
    """nova-serialproxy (make_server) in front of the echo server."""
    import nova.conf
    from nova.console import tokens
    from nova.console import websocketproxy
    from nova import exception

    conf = nova.conf.CONF
    conf([], project='nova', prog='bench-api-proxy',
         default_config_files=[])
    conf.set_override('serialproxy_host', HOST, group='serial_console')
    conf.set_override('serialproxy_port', 0, group='serial_console')
    conf.set_override('base_url', 'ws://%s:6083/' % HOST,
                      group='serial_console')

    token = secrets.token_urlsafe(tokens.TOKEN_BYTES)
    info = tokens.ConnectInfo(
        instance_uuid=str(uuid.uuid4()), console_type='serial', host=HOST,
        port=target_port,
        expires_at=(datetime.datetime.now(datetime.timezone.utc) +
                    datetime.timedelta(hours=1)))

    class OneToken:
        """The token store the proxy is given: one token."""

        @staticmethod
        def validate(presented):
            if presented != token:
                raise exception.InvalidToken()
            return info

    proxy = websocketproxy.make_server(
        conf, None, OneToken(), consoles=_AlwaysCurrentPort(target_port))
    port = proxy.listen()[1]
    thread = threading.Thread(target=proxy.start_server, daemon=True)
    thread.start()
    print('READY %d %s' % (port, token), flush=True)
    _wait_for_eof()
    proxy.request_stop('benchmark over')
    thread.join(PROXY_STOP_GRACE * 2 + 5)
    return 1 if thread.is_alive() else 0


class _FixedConsoleAPI:
    """The compute API calls of the console output route, from memory."""

    def __init__(self, data, project_id):
        self.data = data
        self.project_id = project_id

    def get(self, ctx, server_id):
        return {
            'uuid': server_id, 'name': 'bench-baseline', 'vm_state': 'active',
            'task_state': None, 'project_id': self.project_id,
            'user_id': self.project_id, 'flavor_id': '1',
            'image_id': None, 'host': 'baseline', 'fault': None,
            'created_at': None, 'updated_at': None}

    def get_console_server(self, ctx, server_id):
        # The read os-getConsoleOutput authorizes the call with.
        return dict(self.get(ctx, server_id), service=None)

    def get_console_output(self, ctx, server_id, tail_length=None,
                           server=None):
        # The same signature as nova.compute.api.API's: a stand-in that
        # lacked tail_length answered every request with HTTP 500.
        return self.data


def child_baseline(conf_file, data_file, log_file, threads):
    """The compute API's WSGI app, served like nova-api, on a stand-in."""
    from oslo_log import log as logging

    import nova.conf
    from nova.api.openstack.compute import app
    from nova.cmd import api as api_cmd

    conf = nova.conf.CONF
    logging.register_options(conf)
    # nova-all's own configuration file (same logging, same auth), with
    # a log file of its own.
    conf(['--config-file', conf_file], project='nova',
         prog='bench-api-baseline')
    conf.set_override('log_file', log_file)
    logging.setup(conf, 'nova')
    with open(data_file, 'rb') as f:
        data = f.read()
    compute_api = _FixedConsoleAPI(data, project_id='demo')
    server = api_cmd.make_server(app.build_app(compute_api, conf), HOST, 0,
                                 threads=threads)
    return _serve_until_eof(server)


def _serve_until_eof(server):
    """Run ``server`` in a thread, say READY with its port, and stop it
    when the parent closes stdin: both children's lifetime. 1 when it
    did not stop within 15 s."""
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    print('READY %d' % server.port, flush=True)
    _wait_for_eof()
    server.stop()
    thread.join(15)
    return 1 if thread.is_alive() else 0


def child_bare(data_file, threads):
    """The floor of an HTTP answer: the same 100 KiB as the baseline's
    JSON, encoded per request, on the same server (nova-api's waitress,
    as many threads), with no middleware, routing, authentication,
    policy or validation at all."""
    from nova.api.openstack.compute import console_output
    from nova.cmd import api as api_cmd

    with open(data_file, 'rb') as f:
        # The text the API answers for these bytes, made once.
        text = console_output.output_text(f.read(),
                                          console_output.ALL_LINES)

    def application(environ, start_response):
        length = int(environ.get('CONTENT_LENGTH') or 0)
        json.loads(environ['wsgi.input'].read(length) or b'null')
        body = json.dumps({'output': text}).encode('ascii')
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Content-Length', str(len(body)))])
        return [body]

    server = api_cmd.make_server(application, HOST, 0, threads=threads)
    return _serve_until_eof(server)


def child_main(argv):
    parser = argparse.ArgumentParser(prog='bench_api.py --child')
    parser.add_argument('kind', choices=('echo', 'proxy', 'baseline',
                                         'bare'))
    parser.add_argument('--target-port', type=int)
    parser.add_argument('--conf-file')
    parser.add_argument('--data-file')
    parser.add_argument('--log-file')
    parser.add_argument('--threads', type=int)
    args = parser.parse_args(argv)
    if args.kind == 'echo':
        return child_echo()
    if args.kind == 'proxy':
        return child_proxy(args.target_port)
    if args.kind == 'bare':
        return child_bare(args.data_file, args.threads)
    return child_baseline(args.conf_file, args.data_file, args.log_file,
                          args.threads)


class Child:
    """A helper process (this file with --child); stop() ends it."""

    def __init__(self, workdir, kind, *args):
        self.kind = kind
        self.stderr_path = os.path.join(workdir, 'child-%s.err' % kind)
        self._stderr = open(self.stderr_path, 'w')
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--child', kind] +
            list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr)
        self.port = None
        self.extra = []

    @property
    def pid(self):
        return self.proc.pid

    def stderr_tail(self, chars=2000):
        try:
            with open(self.stderr_path) as f:
                return f.read()[-chars:]
        except OSError:
            return ''

    def wait_ready(self, timeout=CHILD_START_TIMEOUT):
        # Straight from the pipe: a buffered reader could hold the line
        # while select() waits on the empty pipe.
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        line = b''
        while not line.endswith(b'\n'):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                raise BenchFailed('%s helper not ready (exit %s): %s' % (
                    self.kind, self.proc.poll(), self.stderr_tail()))
            if select.select([fd], [], [], min(remaining, 0.5))[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    time.sleep(0.1)     # EOF: poll() tells at the next turn
                line += chunk
        line = line.decode('ascii', 'replace')
        words = line.split()
        if not words or words[0] != 'READY':
            raise BenchFailed('%s helper said %r' % (self.kind, line))
        self.port = int(words[1])
        self.extra = words[2:]
        return self

    def stop(self):
        """Close its stdin; kill it when it does not end in time."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(CHILD_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                progress('%s helper did not stop, killing pid %d',
                         self.kind, self.proc.pid)
                self.proc.kill()
                self.proc.wait(10)
        self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode


# -- host and server ----------------------------------------------------------

def guest_serial_port(server_id):
    """(host, port, log file) of the guest's first tcp serial port, from
    the domain's live XML."""
    import libvirt
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    conn = libvirt.openReadOnly(URI)
    try:
        xml = conn.lookupByName('instance-%s' % server_id).XMLDesc(0)
    finally:
        conn.close()
    for serial in ElementTree.fromstring(xml).findall('./devices/serial'):
        source = serial.find('source')
        if serial.get('type') == 'tcp' and source is not None:
            log = serial.find('log')
            return (source.get('host'), int(source.get('service')),
                    log.get('file') if log is not None else None)
    raise BenchFailed('the domain of %s has no tcp serial port:\n%s'
                      % (server_id, xml))


def fill_console_log(services, server_id):
    """Run chatty on the guest's serial console until the log has it all.

    Returns (log file, bytes on the serial console, seconds).
    """
    host, port, log_file = guest_serial_port(server_id)
    if not log_file:
        raise BenchFailed('the serial port of %s has no <log>: this host '
                          'does not use virtlogd' % server_id)
    progress('serial console %s:%d: chatty %d', host, port, CHATTY_LINES)
    t0 = time.monotonic()
    with SerialClient(host, port) as client:
        client.send_line('')
        client.read_until(re.compile(re.escape(PROMPT)), CHATTY_TIMEOUT)
        client.received = b''
        t0 = time.monotonic()
        client.send_line('chatty %d' % CHATTY_LINES)
        # One pattern: the prompt may come in the same read as the line.
        client.read_until(re.compile(re.escape(LAST_LINE.encode()) +
                                     rb'.*?' + re.escape(PROMPT), re.S),
                          CHATTY_TIMEOUT)
        typed_s = time.monotonic() - t0
        got = len(client.received)
    deadline = time.monotonic() + 30
    while True:
        text = console_output(services, server_id)
        last = text.rfind(LAST_LINE)
        if last >= 0 and text.find(PROMPT.decode(), last) > 0:
            break
        if time.monotonic() > deadline:
            raise BenchFailed('the console output does not end with chatty '
                              '%d and a prompt; its end: %r'
                              % (CHATTY_LINES, text[-300:]))
        time.sleep(0.2)
    return log_file, got, typed_s


# -- 1: console output under load ---------------------------------------------

def http_get(port, path):
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request('GET', path, headers={'X-Auth-Token': 'demo:demo'})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b'null')
    finally:
        conn.close()


def http_post_console_output(port, server_id):
    """(status, body bytes) of one os-getConsoleOutput on ``port``."""
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request('POST', '/v2.1/servers/%s/action' % server_id,
                     CONSOLE_OUTPUT_BODY,
                     {'Content-Type': 'application/json',
                      'X-Auth-Token': 'demo:demo'})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class LoadResult:
    def __init__(self):
        self.latencies = []
        self.ok = 0
        self.errors = 0
        self.error_samples = []
        self.response_bytes = []
        self.elapsed = 0.0
        self.cpu = {}

    @property
    def rate(self):
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, p):
        if not self.latencies:
            return float('nan')
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100.0 * len(ordered)))
        return ordered[rank - 1]


def check_console_response(status, data):
    """None when the response is right, else what is wrong with it."""
    if status != 200:
        return 'HTTP %d: %r' % (status, data[:200])
    try:
        output = json.loads(data)['output']
    except (ValueError, KeyError, TypeError) as e:
        return 'not a console output body (%s): %r' % (e, data[:200])
    if not isinstance(output, str):
        return 'output is a %s' % type(output).__name__
    if not MIN_OUTPUT_CHARS <= len(output) <= MAX_OUTPUT_CHARS:
        return 'output of %d characters, not ~100 KiB' % len(output)
    if LAST_LINE not in output:
        return 'output without %r' % LAST_LINE
    return None


def http_load(port, path, clients, duration, cpu_meter):
    """``clients`` threads POST the console output action for
    ``duration`` seconds, each on its own keep-alive connection."""
    headers = {'Content-Type': 'application/json',
               'X-Auth-Token': 'demo:demo'}
    result = LoadResult()
    lock = threading.Lock()
    window = {}

    def begin():
        # Run by the last thread to reach the barrier, before any starts.
        cpu_meter.start()
        window['start'] = time.perf_counter()
        window['stop'] = window['start'] + duration

    barrier = threading.Barrier(clients, action=begin,
                                timeout=REQUEST_TIMEOUT * 2)

    def connect():
        return http.client.HTTPConnection(HOST, port,
                                          timeout=REQUEST_TIMEOUT)

    def one(conn):
        conn.request('POST', path, CONSOLE_OUTPUT_BODY, headers)
        resp = conn.getresponse()
        return resp.status, resp.read()

    def worker():
        conn = connect()
        latencies, sizes, problems = [], [], []
        ok = 0
        end = None
        try:
            try:    # warm-up: connect, first request; not counted
                one(conn)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = connect()
            barrier.wait()
            stop = window['stop']
            while True:
                t0 = time.perf_counter()
                if t0 >= stop:
                    break
                try:
                    status, data = one(conn)
                    problem = check_console_response(status, data)
                except (OSError, http.client.HTTPException) as e:
                    problem = '%s: %s' % (type(e).__name__, e)
                    data = b''
                    conn.close()
                    conn = connect()
                end = time.perf_counter()
                if problem:
                    problems.append(problem)
                else:
                    ok += 1
                    latencies.append(end - t0)
                    sizes.append(len(data))
        except threading.BrokenBarrierError:
            problems.append('the clients could not start together')
        finally:
            conn.close()
            with lock:
                result.ok += ok
                result.latencies.extend(latencies)
                result.response_bytes.extend(sizes)
                result.errors += len(problems)
                result.error_samples.extend(problems[:3])
                if end is not None:
                    window['end'] = max(window.get('end', end), end)

    threads = [threading.Thread(target=worker, name='client-%d' % i,
                                daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + duration + REQUEST_TIMEOUT * 3 + 10
    for thread in threads:
        thread.join(max(0.1, deadline - time.monotonic()))
    alive = [thread.name for thread in threads if thread.is_alive()]
    if alive:
        barrier.abort()
        raise BenchFailed('client threads still running: %s'
                          % ', '.join(alive))
    result.cpu = cpu_meter.stop()
    if 'start' not in window:
        raise BenchFailed('the load never started: %s'
                          % '; '.join(result.error_samples[:3]))
    result.elapsed = window.get('end', window['stop']) - window['start']
    return result


def report_load(results, clients, duration, threads):
    out('== 1. os-getConsoleOutput {"length": null}: %d client threads, '
        'persistent connections, %g s each ==' % (clients, duration))
    out('each response checked: 200, output %d..%d characters holding %r'
        % (MIN_OUTPUT_CHARS, MAX_OUTPUT_CHARS, LAST_LINE.strip()))
    out('servers: waitress via nova.cmd.api with %d threads; CPU columns: '
        'seconds used during the run (all threads)' % threads)
    out('%-10s %8s %7s %8s %8s %8s %8s %9s %8s %8s %9s' % (
        'target', 'ok', 'errors', 'req/s', 'p50 ms', 'p99 ms', 'max ms',
        'resp KiB', 'srv CPU', 'cli CPU', 'libvirtd'))
    for name, r in results:
        size = (statistics.median(r.response_bytes) / KiB
                if r.response_bytes else float('nan'))
        out('%-10s %8d %7d %8.1f %8.2f %8.2f %8.2f %9.1f %8.2f %8.2f %9.2f'
            % (name, r.ok, r.errors, r.rate, r.percentile(50) * 1e3,
               r.percentile(99) * 1e3, r.percentile(100) * 1e3, size,
               r.cpu.get('server', 0.0), r.cpu.get('client', 0.0),
               r.cpu.get('libvirtd', 0.0)))
    real, base = results[0][1], results[1][1]
    out('ratio real/baseline: req/s %.3f, p50 %.2fx, p99 %.2fx; server CPU '
        'per request %.2f ms real, %.2f ms baseline' % (
            real.rate / base.rate if base.rate else float('nan'),
            real.percentile(50) / base.percentile(50),
            real.percentile(99) / base.percentile(99),
            1e3 * real.cpu.get('server', 0.0) / max(real.ok, 1),
            1e3 * base.cpu.get('server', 0.0) / max(base.ok, 1)))
    for name, r in results:
        for sample in r.error_samples[:5]:
            out('  %s error: %s' % (name, sample))
    out()


# -- 2: websocket proxy throughput --------------------------------------------

def _transfer(send_one, recv_some, close, frames, block, expected):
    """Send ``frames`` x ``block`` from a thread, read the echo here.

    Returns seconds from the first send to the last byte back; checks
    the echo byte for byte (SHA-256).
    """
    volume = frames * len(block)
    sent = {}

    def sender():
        try:
            for _ in range(frames):
                send_one(block)
        except Exception as e:  # reported by the receiving side
            sent['error'] = e

    thread = threading.Thread(target=sender, name='sender', daemon=True)
    digest = hashlib.sha256()
    got = 0
    try:
        t0 = time.perf_counter()
        thread.start()
        while got < volume:
            data = recv_some()
            if not data:
                raise BenchFailed('connection closed after %d of %d bytes%s'
                                  % (got, volume, ' (sender: %s)' %
                                     sent['error'] if 'error' in sent
                                     else ''))
            digest.update(data)
            got += len(data)
        elapsed = time.perf_counter() - t0
    finally:
        close()     # unblocks the sender on failure
        thread.join(REQUEST_TIMEOUT)
    if thread.is_alive():
        raise BenchFailed('the sending thread did not end')
    if 'error' in sent:
        raise BenchFailed('sending failed: %s' % sent['error'])
    if got != volume or digest.digest() != expected:
        raise BenchFailed('the echo differs from what was sent (%d bytes '
                          'back for %d)' % (got, volume))
    return elapsed


def direct_tcp(port, frames, block, expected):
    sock = socket.create_connection((HOST, port), timeout=REQUEST_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close():
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    return _transfer(sock.sendall, lambda: sock.recv(256 * KiB), close,
                     frames, block, expected)


def via_proxy(url, frames, block, expected):
    import websocket
    ws = websocket.create_connection(url, timeout=REQUEST_TIMEOUT)

    def send(data):
        ws.send(data, opcode=websocket.ABNF.OPCODE_BINARY)

    def recv():
        try:
            data = ws.recv()
        except websocket.WebSocketConnectionClosedException:
            return b''
        if not data:
            return b''      # a close frame
        if isinstance(data, str):
            raise BenchFailed('the proxy sent a text frame: %r' % data[:100])
        return data

    def close():
        try:
            ws.close(timeout=2)
        except (OSError, websocket.WebSocketException):
            ws.shutdown()

    return _transfer(send, recv, close, frames, block, expected)


def proxy_throughput(workdir, volume_mib, frame_kib, rounds):
    frames = volume_mib * MiB // (frame_kib * KiB)
    block = os.urandom(frame_kib * KiB)
    digest = hashlib.sha256()
    for _ in range(frames):
        digest.update(block)
    expected = digest.digest()
    echo = proxy = None
    try:
        echo = Child(workdir, 'echo').wait_ready()
        proxy = Child(workdir, 'proxy', '--target-port',
                      str(echo.port)).wait_ready()
        url = 'ws://%s:%d/?token=%s' % (HOST, proxy.port, proxy.extra[0])
        progress('echo server on %d, nova-serialproxy on %d', echo.port,
                 proxy.port)
        meter = CpuMeter({'client': [os.getpid()], 'proxy': [proxy.pid],
                          'echo': [echo.pid]})
        # Warm-up: a first connection through each path.
        small = 16
        small_digest = hashlib.sha256(block * small).digest()
        direct_tcp(echo.port, small, block, small_digest)
        via_proxy(url, small, block, small_digest)
        rows = []
        for number in range(1, rounds + 1):
            meter.start()
            direct_s = direct_tcp(echo.port, frames, block, expected)
            direct_cpu = meter.stop()
            meter.start()
            proxy_s = via_proxy(url, frames, block, expected)
            proxy_cpu = meter.stop()
            progress('round %d: direct %.2f s, via proxy %.2f s', number,
                     direct_s, proxy_s)
            rows.append((direct_s, proxy_s, direct_cpu, proxy_cpu))
    finally:
        for child in (proxy, echo):
            if child is not None:
                code = child.stop()
                if code:
                    progress('%s helper exited with %s: %s', child.kind,
                             code, child.stderr_tail(500))
    out('== 2. nova-serialproxy throughput: %d MiB echoed back, sent in '
        '%d KiB binary frames ==' % (volume_mib, frame_kib))
    out('MiB/s = %d MiB / (first byte sent -> last echoed byte received); '
        'every byte crosses the path twice. Sender and receiver are two '
        'threads of this process; proxy and echo server are processes of '
        'their own. Echo checked byte for byte (SHA-256).' % volume_mib)
    out('%-6s %14s %14s %12s %13s %13s %12s' % (
        'round', 'direct MiB/s', 'proxy MiB/s', 'proxy/direct',
        'proxy CPU s', 'client CPU s', 'echo CPU s'))
    for number, (direct_s, proxy_s, _, cpu) in enumerate(rows, 1):
        out('%-6d %14.1f %14.1f %12.3f %13.2f %13.2f %12.2f' % (
            number, volume_mib / direct_s, volume_mib / proxy_s,
            direct_s / proxy_s, cpu['proxy'], cpu['client'], cpu['echo']))
    direct = statistics.median(volume_mib / r[0] for r in rows)
    proxied = statistics.median(volume_mib / r[1] for r in rows)
    out('median: direct tcp %.1f MiB/s, via nova-serialproxy %.1f MiB/s; '
        'ratio proxy/direct %.3f' % (direct, proxied, proxied / direct))
    out()


# -- main ---------------------------------------------------------------------

def console_output_bench(args, workdir):
    from nova.virt.libvirt import console_log

    virt_type, kernel, initrd, cmdline, how = prepare_host()
    others = functional_tests_running()
    out('host: %d CPU(s), kernel %s, virt type %s; libvirtd/virtlogd %s%s'
        % (os.cpu_count(), os.uname().release, virt_type, how,
           '; functional tests running meanwhile (pid %s)'
           % ', '.join(others) if others else ''))
    out()
    services = NovaAll(kernel, initrd, cmdline, virt_type)
    baseline = None
    try:
        progress('starting nova-all (%s)', services.workdir)
        services.start()
        server_id = boot_server(services)
        log_file, got, typed_s = fill_console_log(services, server_id)
        data = console_log.read_log_tail(log_file)
        reference = console_output(services, server_id)
        progress('chatty: %d bytes on the serial console in %.1f s; log '
                 '%s', got, typed_s, log_file)
        if len(data) != LOG_BYTES:
            raise BenchFailed('the log tail is %d bytes, not %d'
                              % (len(data), LOG_BYTES))
        data_file = os.path.join(workdir, 'baseline-output.bin')
        with open(data_file, 'wb') as f:
            f.write(data)
        baseline = Child(workdir, 'baseline', '--conf-file',
                         services.conf_file, '--data-file', data_file,
                         '--log-file', os.path.join(workdir, 'baseline.log'),
                         '--threads', str(args.server_threads)).wait_ready()
        status, body = http_get(baseline.port,
                                '/v2.1/servers/%s' % server_id)
        if status != 200 or body['server']['status'] != 'ACTIVE':
            raise BenchFailed('the baseline does not show an ACTIVE '
                              'server: HTTP %d %r' % (status, body))
        problem = check_console_response(200, json.dumps(
            {'output': reference}).encode())
        if problem:
            raise BenchFailed('the real console output is not what the '
                              'load checks for: %s' % problem)
        problem = check_console_response(*http_post_console_output(
            baseline.port, server_id))
        if problem:
            # A baseline that fails answers fast: its ratio would lie.
            raise BenchFailed('the baseline does not answer the console '
                              'output right: %s' % problem)
        path = '/v2.1/servers/%s/action' % server_id
        libvirtd = pids_of('libvirtd')
        results = []
        for name, port, pid in (
                ('real', services.api_port, services.process.pid),
                ('baseline', baseline.port, baseline.pid)):
            progress('%s: %d clients for %g s on port %d', name,
                     args.clients, args.duration, port)
            meter = CpuMeter({'server': [pid], 'client': [os.getpid()],
                              'libvirtd': libvirtd})
            results.append((name, http_load(port, path, args.clients,
                                            args.duration, meter)))
        out('real: nova-all (API + compute + serial proxy in one process) '
            'on port %d, server %s booted from image %s; its console log '
            'holds %d bytes of chatty %d (typed on the serial console in '
            '%.1f s), the output is %d characters'
            % (services.api_port, server_id, IMAGE_ID,
               CHATTY_LINES * 65, CHATTY_LINES, typed_s, len(reference)))
        out('baseline: the same app and config file on port %d, a compute '
            'API stand-in returning that log\'s newest %d bytes read once'
            % (baseline.port, len(data)))
        report_load(results, args.clients, args.duration,
                    args.server_threads)
    finally:
        if baseline is not None:
            baseline.stop()
        progress('deleting the server and stopping nova-all')
        services.cleanup()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--child']:
        return child_main(argv[1:])
    from nova.cmd import api as api_cmd
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clients', type=int, default=32,
                        help='concurrent client threads (default 32)')
    parser.add_argument('--duration', type=float, default=8.0,
                        help='seconds of load per target (default 8)')
    parser.add_argument('--volume-mib', type=int, default=64,
                        help='MiB per proxy transfer (default 64)')
    parser.add_argument('--frame-kib', type=int, default=64,
                        help='KiB per websocket frame (default 64)')
    parser.add_argument('--rounds', type=int, default=3,
                        help='proxy/direct transfers each (default 3)')
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 64 and 1 <= args.duration <= 30 and
            1 <= args.volume_mib <= 256 and 1 <= args.frame_kib <= 1024 and
            1 <= args.rounds <= 5):
        parser.error('keep it bounded: --clients 1..64, --duration 1..30, '
                     '--volume-mib 1..256, --frame-kib 1..1024, '
                     '--rounds 1..5')
    if args.volume_mib * MiB % (args.frame_kib * KiB):
        parser.error('--volume-mib must be a multiple of --frame-kib')
    args.server_threads = api_cmd.THREADS

    out('$ ' + reproduce_command())
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix='nova-bench-api-')
    failure = None
    try:
        console_output_bench(args, workdir)
        proxy_throughput(workdir, args.volume_mib, args.frame_kib,
                         args.rounds)
    except BenchFailed as e:
        failure = e
    except KeyboardInterrupt:
        failure = 'interrupted'
    except Exception as e:  # ServicesFailed, OSError, libvirt, websocket
        traceback.print_exc(file=sys.stderr)
        failure = '%s: %s' % (type(e).__name__, e)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failure is not None:
        print('bench: FAILED: %s' % failure, file=sys.stderr, flush=True)
        return 1
    out('total %.0f s' % (time.monotonic() - started))
    return 0


if __name__ == '__main__':
    sys.exit(main())
