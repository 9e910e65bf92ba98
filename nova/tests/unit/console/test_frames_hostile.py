"""SessionSocket with hostile frame sequences: each ends in a close or
a wait for more, never in an error of the proxy's own."""

import socket

from nova import test
from nova.tests.unit.console.test_proxy_copy_loop import client_frame
from nova.tests.unit.console.test_proxy_copy_loop import server_socket

MASK = b'abcd'


class HostileFramesTestCase(test.TestCase):
    def _session(self, wire):
        theirs, ours = socket.socketpair()
        self.addCleanup(theirs.close)
        self.addCleanup(ours.close)
        ours.setblocking(False)
        theirs.sendall(wire)
        return server_socket(ours)

    def test_ping_after_a_close_with_a_bad_reason(self):
        # websockify answers the close (1002: its reason is not UTF-8),
        # which closes the socket; the ping read with it in one recv()
        # must not be answered on the closed socket.
        ws = self._session(client_frame(0x8, b'\x03\xe8\xff\xfe', MASK) +
                           client_frame(0x9, b'ping', MASK))
        for _ in range(3):
            self.assertIsNone(ws.recvmsg())
        # The close handshake is done: the socket is closed.
        self.assertIsNone(ws.socket)
