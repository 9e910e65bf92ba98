"""The compute API of a real nova-all under 2,000 idle, slow and
half-open connections.

The "attackers" connect from 16 loopback addresses (127.0.0.2 to
127.0.0.17, 125 connections each): some send nothing, some half a request
head and then one header line a second. Meanwhile an ordinary client on
127.0.0.1 must get its answers quickly, and nova-all must live.
"""

import collections
import resource
import shutil
import socket
import time
import urllib.request

from testtools import content

from nova.tests.functional import base
from nova.tests.functional import services

ADDRESSES = ['127.0.0.%d' % n for n in range(2, 18)]
PER_ADDRESS = 125  # over the default [api] max_connections_per_client
HEADER_TIMEOUT = 20
# Generous for a shared machine with 2 cores; the answers take well
# under a second when nothing else runs.
ANSWER_BOUND = 5
TRICKLE_SECONDS = 10


class Attackers:
    """Up to 2,000 client sockets; closed by close(), in any case."""

    def __init__(self, port):
        self.port = port
        self.socks = []  # (socket, whether it trickles header lines)
        self.refused = 0

    def open(self):
        for index in range(PER_ADDRESS):
            for address in ADDRESSES:
                sock = socket.socket()
                sock.settimeout(5)
                trickles = bool(index % 2)
                try:
                    sock.bind((address, 0))
                    sock.connect(('127.0.0.1', self.port))
                    if trickles:
                        sock.sendall(b'GET /v2.1/servers HTTP/1.1\r\n'
                                     b'Host: 127.0.0.1\r\n')
                except OSError:
                    sock.close()
                    self.refused += 1
                    continue
                sock.setblocking(False)
                self.socks.append((sock, trickles))

    def trickle(self):
        """One more header line on each half-sent head; drop the
        sockets the server closed. Returns how many are still open."""
        alive = []
        for sock, trickles in self.socks:
            if self._closed_by_server(sock):
                sock.close()
                continue
            try:
                if trickles:
                    sock.send(b'X-Slow: 1\r\n')
            except OSError:
                sock.close()
                continue
            alive.append((sock, trickles))
        self.socks = alive
        return len(alive)

    @staticmethod
    def _closed_by_server(sock):
        """Read what the server sent (a 408 or 503, or nothing) up to its
        end, if it closed."""
        while True:
            try:
                if sock.recv(4096) == b'':
                    return True
            except BlockingIOError:
                return False
            except OSError:
                return True

    def close(self):
        for sock, _trickles in self.socks:
            sock.close()
        self.socks = []


class ConnectionFloodTestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        self.services = services.NovaServices(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type,
            extra_conf={'api': {'request_header_timeout': HEADER_TIMEOUT}})
        # No guest is ever made here: stop and remove, without looking
        # for leftover guests among the other tests' ones.
        self.addCleanup(shutil.rmtree, self.services.workdir,
                        ignore_errors=True)
        self.addCleanup(self.services.stop)
        self.services.start()
        self.addOnException(lambda exc_info: self.addDetail(
            'nova-all-log', content.text_content(
                self.services.log_tail(300))))
        # The test's own ends of the connections.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 4096 <= hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE,
                            (soft, hard))

    def timed(self, path, token=None):
        start = time.monotonic()
        request = urllib.request.Request(
            'http://127.0.0.1:%d%s' % (self.services.api_port, path))
        if token:
            request.add_header('X-Auth-Token', token)
        with urllib.request.urlopen(request, timeout=30) as response:
            self.assertEqual(200, response.status)
            response.read()
        return time.monotonic() - start

    def test_ordinary_requests_answered_under_2000_slow_connections(self):
        attackers = Attackers(self.services.api_port)
        self.addCleanup(attackers.close)
        attackers.open()
        self.assertEqual(len(ADDRESSES) * PER_ADDRESS,
                         len(attackers.socks) + attackers.refused)
        # Until the head deadline, the caps bound what stays open:
        # 100 per address, 1,000 in all (the defaults). The server may
        # still be accepting the last ones.
        deadline = time.monotonic() + 8
        held = attackers.trickle()
        while held > 1000 and time.monotonic() < deadline:
            time.sleep(0.5)
            held = attackers.trickle()
        per_address = collections.Counter(
            sock.getsockname()[0] for sock, _trickles in attackers.socks)
        times = []
        deadline = time.monotonic() + TRICKLE_SECONDS
        while time.monotonic() < deadline:
            attackers.trickle()
            times.append(self.timed('/'))
            times.append(self.timed('/v2.1/servers', services.USER_TOKEN))
            time.sleep(max(0.0, 1 - times[-1] - times[-2]))
        self.addDetail('answer-seconds', content.text_content(
            'held %d; %s' % (held, ' '.join('%.3f' % t for t in times))))
        self.assertIsNone(self.services.process.poll(),
                          self.services.log_tail())
        self.assertLess(max(times), ANSWER_BOUND, times)
        self.assertLessEqual(held, 1000)
        self.assertGreater(held, 0)
        self.assertLessEqual(max(per_address.values()), 100, per_address)
        with open(self.services.log_file) as f:
            self.assertIn('API connections closed by their limits',
                          f.read())
        # The head deadline closes the rest, trickling or silent.
        deadline = time.monotonic() + HEADER_TIMEOUT + 10
        while attackers.trickle() and time.monotonic() < deadline:
            time.sleep(0.5)
        self.assertEqual(0, attackers.trickle())
        self.assertLess(self.timed('/'), ANSWER_BOUND)
