"""Tempest's quota and limits tests, stock, against nova-all, Keystone
and Glance (the fixture of test_tempest; run under the tempest lock:
it binds the catalog's 127.0.0.1:8774).

Issue 13: QuotasAdminTestJSON, QuotaClassesAdminTestJSON,
QuotasAdminNegativeTest and QuotasTestJSON failed (os-quota-sets and
os-quota-class-sets were 404, nothing was enforced). Tempest skips the
2.36 and 2.57 classes (this API serves up to 2.30) and the security
group quota tests (no network service).
"""

import unittest

from nova.tests.functional import test_tempest

QUOTA_GROUPS = (r'tempest\.api\.compute\.(admin\.test_quotas|'
                r'admin\.test_quotas_negative|test_quotas|limits)\.')


class QuotaTempestTestCase(test_tempest.TempestTestCase):
    def test_quota_and_limits_groups_pass_stock(self):
        proc, counts = self.run_tempest(QUOTA_GROUPS)
        self.assertEqual(EXPECTED, counts, proc.stdout[-6000:])
        self.assertEqual(0, proc.returncode, proc.stderr[-2000:])


# Tests passed, failed, skipped by tempest 47: the 5 skipped are
# QuotasAdminTestV236, QuotasAdminTestV257, QuotaClassesAdmin257Test
# (microversions above 2.30) and the two security group quota tests.
EXPECTED = (14, 0, 5)


def load_tests(loader, tests, pattern):
    # Only this module's tests: test_tempest runs the inherited ones.
    return unittest.TestSuite(
        QuotaTempestTestCase(name) for name in sorted(
            vars(QuotaTempestTestCase)) if name.startswith('test_'))
