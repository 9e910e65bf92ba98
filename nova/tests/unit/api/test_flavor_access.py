"""os-flavor-access over the real compute API and database (issue 13:
tempest's FlavorsAccessTestJSON and FlavorsAccessNegativeTestJSON got
404 for every call of it).

Nova's shape: private flavors made with ``os-flavor-access:is_public``
false, an admin-only access list and actions with Nova's 404/409s, and
a private flavor seen, booted and resized to only by admins and the
projects given access."""

from nova.db import api as db
from nova.tests.unit.api import test_server_records
from nova.tests.unit.compute import test_api

ADMIN = 'admin'
ALICE = 'alice:pa'
BOB = 'bob:pb'


class FlavorAccessTestCase(test_server_records.RESTMixin,
                           test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.app = self._app()
        self.flavor = self._flavor('private', is_public='False')

    def _flavor(self, name, is_public, flavor_id=None):
        body = {'name': name, 'ram': 64, 'vcpus': 1, 'disk': 1,
                'os-flavor-access:is_public': is_public,
                'id': flavor_id or name}
        return self.check(200, self.call('POST', '/flavors',
                                         {'flavor': body}, token=ADMIN)
                          )['flavor']['id']

    def _access(self, verb, project, flavor=None, token=ADMIN):
        return self.call('POST', '/flavors/%s/action' % (
            flavor or self.flavor), {verb: {'tenant': project}},
            token=token)

    def _listed(self, token, query=''):
        return {f['id'] for f in self.check(200, self.call(
            'GET', '/flavors/detail' + query, token=token))['flavors']}

    def _message(self, status, response):
        [(_name, fault)] = self.check(status, response).items()
        return fault['message']

    def test_private_flavor_with_an_empty_list(self):
        shown = self.check(200, self.call('GET', '/flavors/private',
                                          token=ADMIN))['flavor']
        self.assertIs(False, shown['os-flavor-access:is_public'])
        self.assertEqual({'flavor_access': []}, self.check(200, self.call(
            'GET', '/flavors/private/os-flavor-access', token=ADMIN)))

    def test_add_remove_and_what_the_project_sees(self):
        self.assertNotIn('private', self._listed(ALICE))
        self.check(404, self.call('GET', '/flavors/private', token=ALICE))
        entry = {'flavor_id': 'private', 'tenant_id': 'pa'}
        self.assertEqual({'flavor_access': [entry]}, self.check(
            200, self._access('addTenantAccess', 'pa')))
        self.assertEqual({'flavor_access': [entry]}, self.check(200, self.call(
            'GET', '/flavors/private/os-flavor-access', token=ADMIN)))
        self.assertIn('private', self._listed(ALICE))
        self.assertIn('private', {f['id'] for f in self.check(
            200, self.call('GET', '/flavors', token=ALICE))['flavors']})
        self.check(200, self.call('GET', '/flavors/private', token=ALICE))
        # Another project still does not see it.
        self.assertNotIn('private', self._listed(BOB))
        self.check(404, self.call('GET', '/flavors/private', token=BOB))
        self.assertEqual({'flavor_access': []}, self.check(
            200, self._access('removeTenantAccess', 'pa')))
        self.assertNotIn('private', self._listed(ALICE))
        self.check(404, self.call('GET', '/flavors/private', token=ALICE))

    def test_public_flavor_has_no_list_and_takes_no_access(self):
        self._flavor('public', is_public=True)
        self.assertIn('Access list not available for public flavors',
                      self._message(404, self.call(
                          'GET', '/flavors/public/os-flavor-access',
                          token=ADMIN)))
        self.assertIn('Can not add access to a public flavor',
                      self._message(409, self._access(
                          'addTenantAccess', 'pa', flavor='public')))
        # As Nova: nothing to remove on a public flavor.
        self._message(404, self._access('removeTenantAccess', 'pa',
                                        flavor='public'))

    def test_duplicate_is_409_missing_is_404(self):
        self.check(200, self._access('addTenantAccess', 'pa'))
        self.assertIn('already exists', self._message(
            409, self._access('addTenantAccess', 'pa')))
        self.assertIn('Flavor access not found for private / pb',
                      self._message(404, self._access(
                          'removeTenantAccess', 'pb')))
        for verb in ('addTenantAccess', 'removeTenantAccess'):
            self.assertIn('Flavor nope', self._message(
                404, self._access(verb, 'pa', flavor='nope')))
        self.check(404, self.call('GET', '/flavors/nope/os-flavor-access',
                                  token=ADMIN))

    def test_admin_only_with_novas_rule_names(self):
        self.assertIn('os_compute_api:os-flavor-access', self._message(
            403, self.call('GET', '/flavors/private/os-flavor-access',
                           token=ALICE)))
        self.assertIn('os_compute_api:os-flavor-access:add_tenant_access',
                      self._message(403, self._access(
                          'addTenantAccess', 'pa', token=ALICE)))
        self.check(200, self._access('addTenantAccess', 'pa'))
        self.assertIn(
            'os_compute_api:os-flavor-access:remove_tenant_access',
            self._message(403, self._access('removeTenantAccess', 'pa',
                                            token=ALICE)))
        self.assertEqual(['pa'], db.flavor_projects('private'))

    def test_bad_bodies_are_400(self):
        for body in ({'addTenantAccess': {}},
                     {'addTenantAccess': {'tenant': ''}},
                     {'addTenantAccess': {'tenant': 'x' * 256}},
                     {'addTenantAccess': {'tenant': 'pa', 'x': 1}},
                     {'removeTenantAccess': None},
                     {'addTenantAccess': {'tenant': 1}}):
            self.check(400, self.call('POST', '/flavors/private/action',
                                      body, token=ADMIN))
        self.assertIn('no such action', self._message(400, self.call(
            'POST', '/flavors/private/action', {'nope': {}}, token=ADMIN)))
        self.assertEqual([], db.flavor_projects('private'))

    def test_is_public_query_for_admins(self):
        self._flavor('public', is_public=True)
        self.assertEqual({'private'}, self._listed(ADMIN, '?is_public=false'))
        everything = self._listed(ADMIN, '?is_public=none')
        self.assertTrue({'private', 'public'} <= everything)
        self.assertNotIn('private', self._listed(ADMIN))
        # A non-admin's ?is_public is ignored, as Nova: public ones only.
        self.assertNotIn('private', self._listed(ALICE, '?is_public=none'))
        self.assertNotIn('private', self._listed(ALICE, '?is_public=false'))
        self.assertNotIn('private', self._listed(ALICE, '?is_public=maybe'))
        self.check(400, self.call('GET', '/flavors?is_public=maybe',
                                  token=ADMIN))

    def test_boot_and_resize_need_access(self):
        boot = {'server': {'name': 'vm', 'imageRef': 'img-1',
                           'flavorRef': 'private'}}
        self.check(400, self.call('POST', '/servers', boot, token=ALICE))
        uuid = self._active(ctx=test_api.ALICE)
        resize = {'resize': {'flavorRef': 'private'}}
        self.check(400, self.call('POST', '/servers/%s/action' % uuid,
                                  resize, token=ALICE, version='2.30'))
        self.check(200, self._access('addTenantAccess', 'pa'))
        self.check(202, self.call('POST', '/servers', boot, token=ALICE))
        self._wait()

    def test_deleting_the_flavor_drops_its_list(self):
        self.check(200, self._access('addTenantAccess', 'pa'))
        self.check(202, self.call('DELETE', '/flavors/private',
                                  token=ADMIN))
        self.assertEqual([], db.flavor_projects('private'))
        # A new flavor of that id starts with no access.
        self._flavor('private', is_public=False)
        self.assertNotIn('private', self._listed(ALICE))
