import socket
import threading

from nova.console import serial
from nova import exception
from nova import test

HOST = '127.0.0.1'


class SerialPortsTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.start = test.free_port_block(3)
        self.flags(port_range='%d:%d' % (self.start, self.start + 2),
                   group='serial_console')

    def test_acquire_gives_distinct_ports_in_range(self):
        ports = [serial.acquire_port(HOST) for _ in range(3)]
        self.assertEqual(3, len(set(ports)))
        for port in ports:
            self.assertTrue(self.start <= port <= self.start + 2)

    def test_exhausted_range_names_range_and_host(self):
        for _ in range(3):
            serial.acquire_port(HOST)
        e = self.assertRaises(exception.SocketPortRangeExhaustedException,
                              serial.acquire_port, HOST)
        self.assertIn('%d:%d' % (self.start, self.start + 2), str(e))
        self.assertIn(HOST, str(e))

    def test_release_makes_port_available_again(self):
        ports = [serial.acquire_port(HOST) for _ in range(3)]
        serial.release_port(HOST, ports[1])
        self.assertEqual(ports[1], serial.acquire_port(HOST))

    def test_release_of_free_port_is_harmless(self):
        serial.release_port(HOST, self.start)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_skips_port_another_process_listens_on(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind((HOST, self.start))
        busy.listen(1)
        self.assertNotEqual(self.start, serial.acquire_port(HOST))

    def test_address_of_another_host_is_not_bind_tested(self):
        # 192.0.2.0/24 is never local: bind() gives EADDRNOTAVAIL.
        self.assertEqual(self.start, serial.acquire_port('192.0.2.1'))
        self.assertEqual(self.start + 1, serial.acquire_port('192.0.2.1'))

    def test_hosts_are_separate(self):
        serial.reserve_port('192.0.2.1', self.start)
        self.assertEqual(self.start, serial.acquire_port(HOST))

    def test_reserve_blocks_acquire_and_reports_duplicates(self):
        self.assertTrue(serial.reserve_port(HOST, self.start))
        self.assertFalse(serial.reserve_port(HOST, self.start))
        self.assertNotEqual(self.start, serial.acquire_port(HOST))

    def test_concurrent_acquire_never_hands_out_a_port_twice(self):
        self.start = test.free_port_block(60)
        self.flags(port_range='%d:%d' % (self.start, self.start + 59),
                   group='serial_console')
        got, errors = [], []

        def worker():
            try:
                for _ in range(5):
                    got.append(serial.acquire_port(HOST))
            except exception.SocketPortRangeExhaustedException as e:
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        self.assertEqual(40, len(got))
        self.assertEqual(40, len(set(got)))


class PortRangeOptionTestCase(test.TestCase):
    def test_bad_ranges_are_refused_naming_the_value(self):
        for bad in ('10000', '20000:10000', 'a:b', '0:10', '1:70000', ''):
            e = self.assertRaises(ValueError, self.flags, port_range=bad,
                                  group='serial_console')
            self.assertIn(repr(bad), str(e))

    def test_good_range(self):
        self.flags(port_range='10000:10010', group='serial_console')
        self.assertEqual((10000, 10010),
                         serial.CONF.serial_console.port_range)
