#!/usr/bin/env python3
"""Benchmark nova-serialproxy against a direct tcp connection (not a test).

Run from the repository (root is not needed, nothing but loopback is
used):

    python tools/bench/bench_serialproxy.py [--before main]

A tcp echo server stands in for a guest's serial port (a real one runs at
~100 KiB/s and would measure the guest). nova-serialproxy
(``websocketproxy.make_server`` with a stand-in token store and console
API) runs in a process of its own in front of it, once with this tree's
code ("after") and, with ``--before REF``, once with the code of a git
ref (``git archive REF`` unpacked into a scratch directory: "before"),
both in the same run. Every figure is printed next to its baseline from
the same run:

1. Throughput: --volume-mib MiB (64) echoed back, sent in --frame-kib
   (64) KiB binary frames, against the same volume over a direct tcp
   connection to the same echo server. Also "client alone": the same
   websocket client straight to the echo server (its masked frames come
   back as they are), which is what the client can do with no proxy at
   all: as long as it is well above the proxy's figure, the client is
   not what limits the proxy's. Proxy CPU seconds per MiB (from
   /proc/<pid>/stat) and the ratio after/before; and the CPU-bound
   ceilings those figures set: the whole path (client, echo server,
   proxy) cannot pass more than cores / (its CPU per MiB) MiB/s, nor a
   session served by one thread more than 1 / (the proxy's CPU per MiB).
2. Keystroke round trip: one byte out and back, --rtt-count (5000)
   times, one at a time, in passes taking turns between the paths;
   median and p99, how far each pass's median is above the direct one's
   (median over passes, in us), and proxy CPU per round trip.
3. Concurrent chatty sessions: --sessions sessions at once, each sending
   a 64-byte line and waiting for its echo, for --chatty-seconds; round
   trips per second in all and the p99 round trip, against the same over
   direct tcp connections.

The client is built not to be the bottleneck: each frame is masked once
(one random key, chosen per run) and sent as prepared bytes, replies are
read 1 MiB at a time into a preallocated buffer and compared with what
was sent (memcmp).

No figure is asserted (the machine is shared: only ratios count; the
load average is printed at the start and the end). Figures on stdout,
progress on stderr; the helper processes are stopped in every case.
Exit 0 on success, 1 with a message on failure.
"""

import argparse
import datetime
import os
import secrets
import select
import selectors
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

from benchlib import BenchFailed
from benchlib import cpu_seconds
from benchlib import out
from benchlib import progress
from benchlib import REPO
from benchlib import reproduce_command

HOST = '127.0.0.1'
KiB = 1024
MiB = 1024 * KiB
TIMEOUT = 30            # any one socket operation, and child start-up
READ = MiB              # client reads
SESSIONS = 64          # most sessions at once (one token each)
PASSES = 5             # round trip and chatty passes per path
LINE = b'SEQ 000000 ' + b'x' * 52 + b'\n'   # 64 bytes, a chatty line


# -- helper processes ---------------------------------------------------------
#
# This file run with --child KIND serves one helper in its own process: it
# prints "READY <port> [<token>]", serves until its stdin reaches EOF,
# then stops.

def _wait_for_eof():
    try:
        sys.stdin.read()
    except (OSError, ValueError):
        pass


def child_echo():
    """tcp echo: large reads, sendall; a thread per connection."""
    lsock = socket.create_server((HOST, 0))

    def handle(conn):
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buf = bytearray(256 * KiB)
            view = memoryview(buf)
            try:
                while True:
                    n = conn.recv_into(buf)
                    if not n:
                        return
                    conn.sendall(view[:n])
            except OSError:
                pass

    def accept_loop():
        while True:
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,),
                             daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    print('READY %d' % lsock.getsockname()[1], flush=True)
    _wait_for_eof()
    return 0


class _AlwaysCurrentPort:
    """The console API's one call a plain session makes."""

    def __init__(self, port):
        self.port = port

    def validate_console_port(self, ctx, instance_uuid, host, port,
                              console_type):
        return host == HOST and int(port) == self.port


class _Tokens:
    """The token store: each token to the echo server, as the serial
    port of an instance of its own (the proxy serves one session per
    instance's port)."""

    def __init__(self, infos):
        self.infos = infos

    def validate(self, presented):
        from nova import exception
        info = self.infos.get(presented)
        if info is None:
            raise exception.InvalidToken()
        return info


def child_proxy(tree, target_port, max_message):
    """nova-serialproxy from ``tree`` in front of the echo server."""
    sys.path.insert(0, tree)
    import nova.conf
    from nova.console import tokens
    from nova.console import websocketproxy
    if not websocketproxy.__file__.startswith(tree):
        raise SystemExit('nova imported from %s, not %s'
                         % (websocketproxy.__file__, tree))

    conf = nova.conf.CONF
    conf([], project='nova', prog='bench-serialproxy',
         default_config_files=[])
    conf.set_override('serialproxy_host', HOST, group='serial_console')
    conf.set_override('serialproxy_port', 0, group='serial_console')
    conf.set_override('base_url', 'ws://%s:6083/' % HOST,
                      group='serial_console')
    conf.set_override('max_message_bytes', max_message,
                      group='serial_console')
    expires = (datetime.datetime.now(datetime.timezone.utc) +
               datetime.timedelta(hours=1))
    infos = {secrets.token_urlsafe(tokens.TOKEN_BYTES): tokens.ConnectInfo(
        instance_uuid=str(uuid.uuid4()), console_type='serial', host=HOST,
        port=target_port, expires_at=expires) for _ in range(SESSIONS)}
    proxy = websocketproxy.make_server(
        conf, None, _Tokens(infos),
        consoles=_AlwaysCurrentPort(target_port))
    port = proxy.listen()[1]
    thread = threading.Thread(target=proxy.start_server, daemon=True)
    thread.start()
    print('READY %d %s' % (port, ' '.join(infos)), flush=True)
    _wait_for_eof()
    proxy.request_stop('benchmark over')
    thread.join(15)
    return 1 if thread.is_alive() else 0


class Child:
    """A helper process (this file with --child); stop() ends it."""

    def __init__(self, workdir, name, *args):
        self.name = name
        self.stderr_path = os.path.join(workdir, 'child-%s.err' % name)
        self._stderr = open(self.stderr_path, 'w')
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--child'] +
            list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr)
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + TIMEOUT
        line = b''
        while not line.endswith(b'\n'):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise BenchFailed('%s helper not ready: %s'
                                  % (name, self.stderr_tail()))
            if select.select([fd], [], [], 0.5)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    time.sleep(0.1)
                line += chunk
        words = line.decode('ascii', 'replace').split()
        self.port, self.extra = int(words[1]), words[2:]

    @property
    def pid(self):
        return self.proc.pid

    def stderr_tail(self, chars=2000):
        try:
            with open(self.stderr_path) as f:
                return f.read()[-chars:]
        except OSError:
            return ''

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                progress('%s helper did not stop: killing pid %d',
                         self.name, self.proc.pid)
                self.proc.kill()
                self.proc.wait(10)
        self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode


def child_main(argv):
    parser = argparse.ArgumentParser(prog='bench_serialproxy.py --child')
    parser.add_argument('kind', choices=('echo', 'proxy'))
    parser.add_argument('--tree')
    parser.add_argument('--target-port', type=int)
    parser.add_argument('--max-message', type=int)
    args = parser.parse_args(argv)
    if args.kind == 'echo':
        return child_echo()
    return child_proxy(args.tree, args.target_port, args.max_message)


# -- the client ---------------------------------------------------------------

def ws_header(opcode, size, mask):
    """A client frame's header (fin set) with ``mask`` (4 bytes)."""
    first = bytes([0x80 | opcode])
    if size < 126:
        return first + bytes([0x80 | size]) + mask
    if size < 65536:
        return first + bytes([0x80 | 126]) + size.to_bytes(2, 'big') + mask
    return first + bytes([0x80 | 127]) + size.to_bytes(8, 'big') + mask


def masked(payload, mask):
    """``payload`` masked with ``mask`` (C speed: one big-int xor)."""
    repeat = (mask * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, 'little') ^
            int.from_bytes(repeat, 'little')).to_bytes(len(payload),
                                                       'little')


def client_frame(payload, mask):
    return (ws_header(0x2, len(payload), mask) + masked(payload, mask))


class Stream:
    """Payload bytes of what a socket returns, checked against what was
    sent.

    ``framed``: the peer sends websocket server frames (the proxy), whose
    headers are skipped; else raw bytes (direct tcp, or the client's own
    frames back from the echo server).
    """

    def __init__(self, sock, expected, framed):
        self.sock = sock
        self.expected = expected + expected
        self.period = len(expected)
        self.framed = framed
        self.buf = bytearray(READ)
        self.view = memoryview(self.buf)
        self.got = 0            # payload bytes checked so far
        self.left = 0           # payload bytes left in the current frame
        self.header = bytearray()

    def _check(self, chunk):
        while chunk:
            at = self.got % self.period
            n = min(len(chunk), self.period)
            # bytes == bytes is a memcmp; memoryview == memoryview
            # compares item by item, 60 times slower.
            if bytes(chunk[:n]) != self.expected[at:at + n]:
                raise BenchFailed('echo differs at byte %d' % self.got)
            self.got += n
            chunk = chunk[n:]

    def _header_done(self):
        h = self.header
        if len(h) < 2:
            return False
        size, need = h[1] & 0x7f, 2
        if size == 126:
            need = 4
        elif size == 127:
            need = 10
        if len(h) < need:
            return False
        opcode = h[0] & 0x0f
        if opcode == 0x8:
            raise BenchFailed('the proxy closed the websocket')
        if opcode != 0x2 or h[1] & 0x80:
            raise BenchFailed('unexpected frame header %r' % bytes(h))
        self.left = (size if need == 2 else
                     int.from_bytes(h[2:need], 'big'))
        del self.header[:need]
        return True

    def read(self):
        """Read once; returns payload bytes checked so far."""
        n = self.sock.recv_into(self.buf)
        if not n:
            raise BenchFailed('connection closed after %d bytes' % self.got)
        if not self.framed:
            self._check(self.view[:n])
            return self.got
        pos = 0
        while pos < n:
            if self.left:
                take = min(self.left, n - pos)
                self._check(self.view[pos:pos + take])
                self.left -= take
                pos += take
                continue
            # Headers are 2 to 10 bytes: byte by byte is cheap enough.
            while pos < n and not self.left:
                self.header.append(self.buf[pos])
                pos += 1
                if self._header_done():
                    break
        return self.got


def open_ws(port, token):
    """A websocket to the proxy (raw socket after the handshake)."""
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(('GET /?token=%s HTTP/1.1\r\nHost: %s:%d\r\n'
                  'Upgrade: websocket\r\nConnection: Upgrade\r\n'
                  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
                  'Sec-WebSocket-Version: 13\r\n'
                  'Sec-WebSocket-Protocol: binary\r\n\r\n'
                  % (token, HOST, port)).encode())
    head = b''
    while b'\r\n\r\n' not in head:
        chunk = sock.recv(1)    # byte by byte: leave frames in the socket
        if not chunk:
            raise BenchFailed('the proxy closed during the handshake')
        head += chunk
    if not head.startswith(b'HTTP/1.1 101'):
        raise BenchFailed('handshake refused: %r' % head[:200])
    return sock


def open_tcp(port):
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def transfer(sock, wire, payload, frames, framed):
    """Send ``wire`` ``frames`` times from a thread; read back
    ``frames * len(payload)`` checked bytes here. Seconds taken."""
    failure = []

    def sender():
        try:
            for _ in range(frames):
                sock.sendall(wire)
        except OSError as e:
            failure.append(e)

    stream = Stream(sock, payload, framed)
    volume = frames * len(payload)
    thread = threading.Thread(target=sender, daemon=True)
    t0 = time.perf_counter()
    thread.start()
    try:
        while stream.got < volume:
            stream.read()
        elapsed = time.perf_counter() - t0
    finally:
        close(sock)
        thread.join(TIMEOUT)
    if failure:
        raise BenchFailed('sending failed: %s' % failure[0])
    return elapsed


class Meter:
    """CPU seconds of named processes over a ``with`` block."""

    def __init__(self, pids):
        self.pids = pids

    def _read(self):
        # "<name> sys": the kernel's part of that process's time.
        return {name: cpu_seconds(pid, system_only=name.endswith(' sys'))
                for name, pid in self.pids.items()}

    def __enter__(self):
        self.start = self._read()
        return self

    def __exit__(self, *exc):
        end = self._read()
        self.used = {name: end[name] - self.start[name] for name in end}


# -- the measurements ---------------------------------------------------------

def throughput(args, echo, proxies):
    """{path: [(seconds, {process: cpu s}), ...]} over rounds."""
    payload = os.urandom(args.frame_kib * KiB)
    mask = secrets.token_bytes(4)
    frame = client_frame(payload, mask)
    frames = args.volume_mib * MiB // len(payload)
    me = os.getpid()
    paths = [('direct tcp', lambda: (open_tcp(echo.port), payload, False),
              {'client': me, 'echo': echo.pid}),
             ('client alone', lambda: (open_tcp(echo.port), frame, False),
              {'client': me, 'echo': echo.pid})]
    for name, proxy in proxies:
        paths.append((name, lambda p=proxy: (open_ws(p.port, p.extra[0]),
                                             frame, True),
                      {'client': me, 'echo': echo.pid, 'proxy': proxy.pid,
                       'proxy sys': proxy.pid}))
    results = {name: [] for name, _, _ in paths}
    for number in range(args.rounds + 1):   # round 0 warms up
        for name, opener, pids in paths:
            sock, wire, framed = opener()
            expected = wire if name == 'client alone' else payload
            count = frames if number else 4
            with Meter(pids) as meter:
                seconds = transfer(sock, wire, expected, count, framed)
            if number:
                results[name].append((seconds, meter.used))
                progress('round %d: %s %.2f s', number, name, seconds)
    return results


def report_throughput(args, results, proxies):
    out('== 1. throughput: %d MiB echoed back in %d KiB binary frames, '
        '%d rounds taking turns between the paths ==' % (
            args.volume_mib, args.frame_kib, args.rounds))
    out('MiB/s: median of volume / (first byte sent -> last byte back, '
        'checked); x direct: median over rounds of the ratio to the '
        'direct transfer of the same round; CPU: seconds per MiB over all '
        'rounds (all threads of the process; 10 ms ticks)')
    mib = args.volume_mib
    direct = [s for s, _ in results['direct tcp']]
    out('%-13s %8s %9s %12s %12s %11s %11s' % (
        'path', 'MiB/s', 'x direct', 'proxy s/MiB', 'client s/MiB',
        'echo s/MiB', 'all s/MiB'))
    per_mib, system = {}, {}
    for name in results:
        rate = statistics.median(mib / s for s, _ in results[name])
        ratio = statistics.median(d / s for d, (s, _) in
                                  zip(direct, results[name]))
        cpu = {k: sum(c.get(k, 0.0) for _, c in results[name]) /
               (mib * len(results[name]))
               for k in ('proxy', 'client', 'echo')}
        per_mib[name] = cpu['proxy']
        system[name] = sum(c.get('proxy sys', 0.0) for _, c in
                           results[name]) / (mib * len(results[name]))
        out('%-13s %8.1f %9.3f %12s %12.4f %11.4f %11.4f' % (
            name, rate, ratio,
            '%.4f' % cpu['proxy'] if 'proxy' in results[name][0][1]
            else '-', cpu['client'], cpu['echo'], sum(cpu.values())))
    for name, _ in proxies:
        if per_mib[name]:
            out('%s: proxy CPU per MiB %.4f s, of which the kernel '
                '(copies through 4 sockets) %.4f s and Python %.4f s'
                % (name, per_mib[name], system[name],
                   per_mib[name] - system[name]))
    names = [name for name, _ in proxies]
    if 'before' in names and 'after' in names and per_mib['after']:
        out('proxy CPU per MiB: after = before / %.2f'
            % (per_mib['before'] / per_mib['after']))
    report_ceilings(results, mib, proxies)
    out()


def report_ceilings(results, mib, proxies):
    """What CPU alone allows, from the CPU per MiB just measured: a path
    whose processes need C s/MiB in all cannot pass more than
    cores / C MiB/s however its work is spread, and a session served by
    one thread needing P s/MiB not more than 1 / P. Against the direct
    connection's rate of the same run (which other load lowers too)."""
    cores = os.cpu_count()
    direct = statistics.median(mib / s for s, _ in results['direct tcp'])

    def per_mib(name, key=None):
        rounds = results[name]
        return sum(sum(c.values()) - c.get('proxy sys', 0.0) if key is None
                   else c.get(key, 0.0) for _, c in rounds) / (
                       mib * len(rounds))

    used = per_mib('direct tcp') * direct
    out('CPU-bound ceilings (%d cores; direct tcp %.0f MiB/s kept %.2f '
        'cores busy):' % (cores, direct, used))
    for name, _ in proxies:
        path, proxy = per_mib(name), per_mib(name, 'proxy')
        if not (path and proxy):
            continue
        out('%s: whole path %.4f s/MiB -> <= %.0f MiB/s = %.2f x direct; '
            'one session thread %.4f s/MiB -> <= %.0f MiB/s = %.2f x direct'
            % (name, path, cores / path, cores / path / direct, proxy,
               1 / proxy, 1 / proxy / direct))


def rtt(sock, wire, reply, count):
    """``count`` round trips of ``wire`` (its echo: ``reply``), one at a
    time; their seconds."""
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        sock.sendall(wire)
        got = b''
        while len(got) < len(reply):
            chunk = sock.recv(64)
            if not chunk:
                raise BenchFailed('the connection was closed')
            got += chunk
        times.append(time.perf_counter() - t0)
        if got != reply:
            raise BenchFailed('%r came back for %r' % (got, reply))
    return times


def us(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] * 1e6


def paths_for(echo, proxies):
    """(name, socket, client bytes, echo, proxy pid) per path, each
    connected."""
    mask = secrets.token_bytes(4)
    paths = [('direct tcp', open_tcp(echo.port), b'k', b'k', None)]
    for name, proxy in proxies:
        paths.append((name, open_ws(proxy.port, proxy.extra[0]),
                      client_frame(b'k', mask), b'\x82\x01k', proxy.pid))
    return paths


def keystrokes(args, echo, proxies):
    """Passes taking turns between the paths: a load from another user of
    the machine falls on each path alike. Each pass's median is compared
    with the direct one of the same pass."""
    paths = paths_for(echo, proxies)
    times = {path[0]: [] for path in paths}
    medians = {path[0]: [] for path in paths}
    cpu = {path[0]: 0.0 for path in paths}
    try:
        for number in range(PASSES + 1):
            for name, sock, wire, reply, pid in paths:
                with Meter({'proxy': pid or os.getpid()}) as meter:
                    got = rtt(sock, wire, reply, args.rtt_count // PASSES)
                if number:  # pass 0 warms up
                    times[name].extend(got)
                    medians[name].append(statistics.median(got))
                    cpu[name] += meter.used['proxy']
    finally:
        for path in paths:
            close(path[1])
    out('== 2. keystroke round trip: 1 byte out and back, %d times one at '
        'a time, in %d passes taking turns ==' % (args.rtt_count, PASSES))
    out('above direct: the median over passes of (the pass\'s median - '
        'the direct median of the same pass)')
    count = args.rtt_count // PASSES * PASSES
    for name, _, _, _, pid in paths:
        above = statistics.median(
            m - d for m, d in zip(medians[name], medians['direct tcp']))
        out('%-12s median %7.1f us, p99 %8.1f us; above direct: %+7.1f us'
            '%s' % (name, us(times[name], 0.5), us(times[name], 0.99),
                    above * 1e6, '' if pid is None else
                    '; proxy CPU %.1f us per round trip'
                    % (cpu[name] / count * 1e6)))
    out()


def chatty(sockets, wire, seconds, framed):
    """Each socket: send ``wire``, wait for its echo, again; for
    ``seconds``. [round trip seconds]."""
    sel = selectors.DefaultSelector()
    reply = 2 + len(LINE) if framed else len(LINE)
    state = {}
    for sock in sockets:
        sel.register(sock, selectors.EVENT_READ)
        state[sock] = [0, time.perf_counter()]
        sock.send(wire)
    times = []
    end = time.perf_counter() + seconds
    try:
        while sel.get_map():
            for key, _ in sel.select(TIMEOUT) or ():
                sock = key.fileobj
                data = sock.recv(65536)
                if not data:
                    raise BenchFailed('a chatty session was closed')
                got = state[sock]
                got[0] += len(data)
                if got[0] < reply:
                    continue
                if got[0] > reply:
                    raise BenchFailed('more came back than was sent: %d '
                                      'bytes for %d' % (got[0], reply))
                now = time.perf_counter()
                times.append(now - got[1])
                if now < end:
                    state[sock] = [0, now]
                    sock.send(wire)
                else:
                    sel.unregister(sock)
            if time.perf_counter() > end + TIMEOUT:
                raise BenchFailed('chatty sessions stuck')
        return times
    finally:
        sel.close()


def sessions(args, echo, proxies):
    mask = secrets.token_bytes(4)
    n = args.sessions
    paths = [('direct tcp', [open_tcp(echo.port) for _ in range(n)], LINE,
              False, None)]
    for name, proxy in proxies:
        paths.append((name, [open_ws(proxy.port, token)
                             for token in proxy.extra[:n]],
                      client_frame(LINE, mask), True, proxy.pid))
    times = {name: [] for name, _, _, _, _ in paths}
    cpu = {name: 0.0 for name, _, _, _, _ in paths}
    seconds = args.chatty_seconds / PASSES
    try:
        for sock in [s for path in paths for s in path[1]]:
            sock.setblocking(False)
        for _ in range(PASSES):
            for name, socks, wire, framed, pid in paths:
                with Meter({'proxy': pid or os.getpid()}) as meter:
                    times[name].extend(chatty(socks, wire, seconds, framed))
                cpu[name] += meter.used['proxy']
    finally:
        for _, socks, _, _, _ in paths:
            for sock in socks:
                close(sock)
    out('== 3. %d concurrent chatty sessions: a %d-byte line out, wait '
        'for its echo, again, for %g s in %d passes taking turns =='
        % (n, len(LINE), args.chatty_seconds, PASSES))
    base = len(times['direct tcp'])
    for name, _, _, _, pid in paths:
        count = len(times[name])
        out('%-12s %8.0f round trips/s (%.3f x direct), median %7.1f us, '
            'p99 %8.1f us%s' % (
                name, count / args.chatty_seconds, count / base,
                us(times[name], 0.5), us(times[name], 0.99),
                '' if pid is None else ', proxy CPU %.0f us per round '
                'trip' % (cpu[name] / count * 1e6)))
    out()


def load_average(when):
    """The host's load (other users' work disturbs every figure)."""
    return 'load average %s: %.2f %.2f %.2f (1, 5, 15 min)' % (
        (when,) + os.getloadavg())


def scratch_tree(ref, workdir):
    """``git archive ref`` unpacked under workdir; its path."""
    tree = os.path.join(workdir, 'before')
    os.mkdir(tree)
    archive = subprocess.Popen(['git', '-C', REPO, 'archive', ref],
                               stdout=subprocess.PIPE)
    subprocess.run(['tar', '-x', '-C', tree], stdin=archive.stdout,
                   check=True)
    if archive.wait():
        raise BenchFailed('git archive %s failed' % ref)
    commit = subprocess.run(['git', '-C', REPO, 'rev-parse', '--short',
                             ref], capture_output=True, text=True)
    return tree, commit.stdout.strip()


def run(args, workdir):
    children = []
    try:
        echo = Child(workdir, 'echo', 'echo')
        children.append(echo)
        trees = []
        if args.before:
            tree, commit = scratch_tree(args.before, workdir)
            trees.append(('before', tree, '%s (%s)' % (args.before, commit)))
        head = subprocess.run(['git', '-C', REPO, 'rev-parse', '--short',
                               'HEAD'], capture_output=True, text=True)
        trees.append(('after', REPO, 'this tree (HEAD %s%s)' % (
            head.stdout.strip(), subprocess.run(
                ['git', '-C', REPO, 'status', '--porcelain', 'nova'],
                capture_output=True, text=True).stdout and ', modified'
            or '')))
        proxies = []
        for name, tree, what in trees:
            proxy = Child(workdir, name, 'proxy', '--tree', tree,
                          '--target-port', str(echo.port),
                          '--max-message', str(args.frame_kib * KiB))
            children.append(proxy)
            proxies.append((name, proxy))
            out('%s: nova-serialproxy of %s, pid %d' % (name, what,
                                                        proxy.pid))
        out('host: %d CPU(s), shared: only ratios count' % os.cpu_count())
        out(load_average('at the start'))
        out()
        report_throughput(args, throughput(args, echo, proxies), proxies)
        keystrokes(args, echo, proxies)
        sessions(args, echo, proxies)
        out(load_average('at the end'))
    finally:
        for child in reversed(children):
            code = child.stop()
            if code:
                progress('%s helper exited with %s: %s', child.name, code,
                         child.stderr_tail(500))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--child']:
        return child_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--before', metavar='REF',
                        help='also measure the proxy of this git ref '
                        '(e.g. main)')
    parser.add_argument('--volume-mib', type=int, default=64)
    parser.add_argument('--frame-kib', type=int, default=64)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--rtt-count', type=int, default=5000)
    parser.add_argument('--sessions', type=int, default=8)
    parser.add_argument('--chatty-seconds', type=float, default=3.0)
    args = parser.parse_args(argv)
    if not (1 <= args.volume_mib <= 256 and 1 <= args.frame_kib <= 1024 and
            1 <= args.rounds <= 9 and 10 <= args.rtt_count <= 20000 and
            1 <= args.sessions <= 64 and 0.5 <= args.chatty_seconds <= 30):
        parser.error('keep it bounded: --volume-mib 1..256, --frame-kib '
                     '1..1024, --rounds 1..9, --rtt-count 10..20000, '
                     '--sessions 1..64, --chatty-seconds 0.5..30')
    if args.volume_mib * MiB % (args.frame_kib * KiB):
        parser.error('--volume-mib must be a multiple of --frame-kib')
    out('$ ' + reproduce_command())
    workdir = tempfile.mkdtemp(prefix='nova-bench-serialproxy-')
    failure = None
    try:
        run(args, workdir)
    except BenchFailed as e:
        failure = e
    except KeyboardInterrupt:
        failure = 'interrupted'
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        failure = '%s: %s' % (type(e).__name__, e)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failure is not None:
        print('bench: FAILED: %s' % failure, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
