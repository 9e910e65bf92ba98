import threading
from unittest import mock

import libvirt

from nova import exception
from nova import test
from nova.virt.libvirt import host as libvirt_host


def _libvirt_error(code, domain, message='boom'):
    err = libvirt.libvirtError(message)
    err.err = (code, domain, message, libvirt.VIR_ERR_ERROR, '', '', '',
               -1, -1)
    return err


class VersionTestCase(test.TestCase):
    def test_tuple_and_int(self):
        self.assertEqual((1, 3, 3), libvirt_host.version_to_tuple(1003003))
        self.assertEqual(2006000, libvirt_host.version_to_int((2, 6)))
        self.assertEqual(9000000, libvirt_host.version_to_int((9, 0, 0)))


class HasMinVersionTestCase(test.TestCase):
    """Against libvirt's own test driver: libvirt 9.x, hypervisor TEST."""

    def setUp(self):
        super().setUp()
        self.host = libvirt_host.Host('test:///default')
        self.addCleanup(self.host.close)

    def test_libvirt_version(self):
        self.assertTrue(self.host.has_min_version(lv_ver=(1, 3, 3)))
        self.assertFalse(self.host.has_min_version(lv_ver=(999, 0, 0)))

    def test_hypervisor_type_must_match(self):
        self.assertEqual('TEST', self.host.get_connection().getType())
        self.assertFalse(self.host.has_min_version((1, 3, 3), (0, 0, 1),
                                                   'QEMU'))
        self.assertTrue(self.host.has_min_version((1, 3, 3), (0, 0, 1),
                                                  'TEST'))

    def test_hypervisor_version(self):
        hv = self.host.get_hv_version()
        self.assertTrue(self.host.has_min_version(hv_ver=hv))
        self.assertFalse(self.host.has_min_version(
            hv_ver=(hv[0], hv[1], hv[2] + 1)))

    def test_no_arguments(self):
        self.assertTrue(self.host.has_min_version())


class ConnectionTestCase(test.TestCase):
    def test_lazy(self):
        with mock.patch.object(libvirt, 'open') as opener:
            host = libvirt_host.Host('test:///default')
            opener.assert_not_called()
            self.assertIs(opener.return_value, host.get_connection())
            self.assertIs(opener.return_value, host.get_connection())
            opener.assert_called_once_with('test:///default')

    def test_live_connection_is_handed_out_without_the_lock(self):
        # Issue 14: every driver call queued on the lock to check it.
        conn = mock.Mock()
        conn.isAlive.return_value = 1
        with mock.patch.object(libvirt, 'open', return_value=conn):
            host = libvirt_host.Host('qemu:///system')
            host.get_connection()
            got = []
            with host._lock:
                thread = threading.Thread(
                    target=lambda: got.append(host.get_connection()))
                thread.start()
                thread.join(5)
                while_held = list(got)
            thread.join(5)
        self.assertEqual([conn], while_held)

    def test_reconnects_after_real_connection_is_closed(self):
        host = libvirt_host.Host('test:///default')
        self.addCleanup(host.close)
        first = host.get_connection()
        first.close()  # as if libvirtd went away under us
        second = host.get_connection()
        self.assertIsNot(first, second)
        self.assertGreater(second.getLibVersion(), 0)

    def test_reconnects_when_peer_went_away(self):
        broken, fresh = mock.Mock(), mock.Mock()
        broken.isAlive.return_value = 0  # libvirtd closed the socket
        with mock.patch.object(libvirt, 'open', side_effect=[broken, fresh]):
            host = libvirt_host.Host('qemu:///system')
            host.get_connection()
            self.assertIs(fresh, host.get_connection())
        broken.close.assert_called_once_with()

    def test_reconnects_after_rpc_error(self):
        broken, fresh = mock.Mock(), mock.Mock()
        broken.isAlive.side_effect = _libvirt_error(
            libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_FROM_RPC,
            'Cannot write data: Broken pipe')
        with mock.patch.object(libvirt, 'open', side_effect=[broken, fresh]):
            host = libvirt_host.Host('qemu:///system')
            host.get_connection()
            self.assertIs(fresh, host.get_connection())

    def test_other_errors_are_not_swallowed(self):
        conn = mock.Mock()
        conn.isAlive.side_effect = _libvirt_error(
            libvirt.VIR_ERR_OPERATION_DENIED, libvirt.VIR_FROM_QEMU)
        with mock.patch.object(libvirt, 'open', return_value=conn):
            host = libvirt_host.Host('qemu:///system')
            host.get_connection()
            self.assertRaises(libvirt.libvirtError, host.get_connection)

    def test_unreachable_hypervisor_is_a_clear_error(self):
        host = libvirt_host.Host('qemu+unix:///system?socket=/nonexistent')
        e = self.assertRaises(exception.HypervisorUnavailable,
                              host.get_connection)
        self.assertIn('/nonexistent', str(e))
