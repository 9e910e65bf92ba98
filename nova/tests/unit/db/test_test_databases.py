"""The names of the functional tests' MariaDB databases: whose they
are, and which are stale (their test process is gone)."""

from nova import test
from nova.tests.functional import mariadb_database as mdb


class NamesTestCase(test.TestCase):
    def test_name_is_the_process_and_unique(self):
        a, b = mdb.new_name(pid=42), mdb.new_name(pid=42)
        self.assertNotEqual(a, b)
        self.assertEqual((42, 42), (mdb.owner(a), mdb.owner(b)))
        self.assertRegex(a, r'^[A-Za-z0-9_]{1,64}$')  # the script's rule

    def test_only_our_names_of_dead_processes_are_stale(self):
        dead, alive = mdb.new_name(pid=7), mdb.new_name(pid=8)
        names = [dead, alive, 'nova', 'mysql', 'nova_test_x_y',
                 dead + '_extra']
        self.assertEqual([dead], mdb.stale(names, alive=lambda p: p == 8))
