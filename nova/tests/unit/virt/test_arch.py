from unittest import mock

from nova import exception
from nova import test
from nova.virt import arch


class CanonicalizeTestCase(test.TestCase):
    def test_canonical_names_stay(self):
        for name in arch.ALL:
            self.assertEqual(name, arch.canonicalize(name))

    def test_other_spellings(self):
        for name, canonical in (('AMD64', 'x86_64'), (' S390X ', 's390x'),
                                ('i386', 'i686'), ('arm64', 'aarch64'),
                                ('ppc64el', 'ppc64le')):
            self.assertEqual(canonical, arch.canonicalize(name))

    def test_unknown_names_are_refused_by_name(self):
        for name in ('', 'z80', 's390x; rm -rf /', 'x86-64'):
            e = self.assertRaises(exception.InvalidArchitectureName,
                                  arch.canonicalize, name)
            self.assertIn(repr(name), str(e))
            self.assertIn('hw_architecture', str(e))

    def test_non_strings_are_refused(self):
        for value in (None, 64, ['s390x']):
            self.assertRaises(exception.InvalidArchitectureName,
                              arch.canonicalize, value)


class FromHostTestCase(test.TestCase):
    def _host(self, machine):
        with mock.patch('os.uname') as uname:
            uname.return_value.machine = machine
            return arch.from_host()

    def test_canonical(self):
        self.assertEqual('x86_64', self._host('x86_64'))
        self.assertEqual('s390x', self._host('s390x'))
        self.assertEqual('i686', self._host('i586'))

    def test_unknown_host_name_is_kept(self):
        # A host is never refused for what its kernel calls itself.
        self.assertEqual('armv8l', self._host('armv8l'))
