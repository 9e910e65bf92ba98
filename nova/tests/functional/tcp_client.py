"""A minimal client for a guest's raw tcp serial port.

What nova-serialproxy does for a websocket user, in a few lines: connect to
the port a driver's ``get_serial_console`` names, type, and read back. Used
by the demo and the functional tests.
"""

import re
import socket
import time


class SerialConsoleTimeout(Exception):
    """The expected output did not arrive; carries what did."""

    def __init__(self, pattern, received, timeout):
        self.received = received
        tail = received[-400:].decode('utf-8', 'replace')
        super().__init__('no %r on the serial console within %.0f s; '
                         'last output: %r' % (pattern, timeout, tail))


class SerialConsoleClient:
    def __init__(self, host, port, connect_timeout=10):
        self.received = b''
        self._sock = socket.create_connection((host, port),
                                              timeout=connect_timeout)

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_line(self, line):
        # A serial terminal ends a line with CR, as a person typing would.
        self._sock.sendall(line.encode() + b'\r')

    def read_until(self, pattern, timeout=30):
        """Read until ``pattern`` (bytes regex) matches new output.

        Returns the match; everything read stays in ``received``.
        """
        regex = pattern if hasattr(pattern, 'search') else re.compile(pattern)
        start = len(self.received)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.received, start)
            if match:
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SerialConsoleTimeout(pattern, self.received, timeout)
            self._sock.settimeout(min(remaining, 1.0))
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise ConnectionError(
                    'serial console closed the connection; last output: %r'
                    % self.received[-400:])
            self.received += chunk

    def run(self, command, timeout=30):
        """Type ``command`` and return its output, framed by markers."""
        marker = 'END-%d' % time.monotonic_ns()
        # The marker is split in the typed text so the echo cannot match.
        self.send_line("%s; echo '%s''%s'" % (command, marker[:4],
                                              marker[4:]))
        match = self.read_until(re.compile(
            re.escape(command.encode()) + rb'[^\n]*\n(.*?)' +
            re.escape(marker.encode()), re.S), timeout)
        return match.group(1).replace(b'\r\n', b'\n')
