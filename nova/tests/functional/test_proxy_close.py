"""nova-serialproxy's close, read by websocket-client as users read it.

recv_data() answers the proxy's close frame with its own (RFC 6455 7.1):
with a keystroke of the user's still unread by the proxy, the proxy used
to reset the connection under it (BrokenPipeError instead of the 1008).
"""

import struct

import websocket

from nova.console import websocketproxy
from nova.tests.functional import test_api

ROUNDS = 5


class ProxyCloseTestCase(test_api.APITestCase):
    def test_recv_data_reads_the_refusal_after_a_keystroke(self):
        url = 'ws://127.0.0.1:%d/?token=%s' % (
            self.services.proxy_port, 'A' * 43)
        expected = (websocket.ABNF.OPCODE_CLOSE, struct.pack('!H', 1008) +
                    websocketproxy.REFUSED_TOKEN.encode())
        for _ in range(ROUNDS):
            ws = websocket.create_connection(url, timeout=15)
            self.addCleanup(ws.close)
            # The minimal client of doc/source/user/api.rst: Enter, then
            # whatever comes back.
            ws.send_binary(b'\r')
            self.assertEqual(expected, ws.recv_data())
