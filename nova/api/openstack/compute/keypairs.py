"""/os-keypairs: a user's key pairs (Nova's bodies and statuses).

By microversion: 2.2 adds ``type`` (``ssh`` or ``x509``) to every body,
create answers 201 instead of 200 and delete 204 instead of 202; 2.10
lets an admin act on another user's pairs (``user_id`` in the create
body, ``?user_id=`` on list, show and delete; the policy decides, with
that user as the target). Other query parameters are ignored, as Nova's.
"""

from nova.api.openstack.compute import microversion
from nova.api.openstack.compute.schemas import keypairs as schema
from nova.api.openstack.compute import validation
from nova.api.openstack.compute.views import links
from nova.api.openstack.compute import wsgi
from nova.policies import keypairs as policies

TYPE_VERSION = microversion.APIVersion(2, 2)
USER_ID_VERSION = microversion.APIVersion(2, 10)


def _typed(req, body, pair):
    if microversion.is_supported(req, TYPE_VERSION):
        body['type'] = pair['type']
    return body


def _user(req, rule, user_id=None):
    """The user whose pairs are meant, once ``rule`` allows it."""
    ctx = wsgi.get_context(req)
    if user_id is None or not microversion.is_supported(
            req, USER_ID_VERSION):
        user_id = ctx.user_id
    ctx.can(rule, target={'user_id': user_id})
    return user_id


class KeypairsController(wsgi.Controller):
    @wsgi.expected_errors(())
    def index(self, req):
        user_id = _user(req, policies.INDEX,
                        wsgi.query_params(req).get('user_id'))
        pairs = self.compute_api.keypair_list(wsgi.get_context(req),
                                              user_id)
        return {'keypairs': [{'keypair': _typed(req, {
            'name': p['name'], 'public_key': p['public_key'],
            'fingerprint': p['fingerprint']}, p)} for p in pairs]}

    @wsgi.expected_errors(404)
    def show(self, req, id):
        user_id = _user(req, policies.SHOW,
                        wsgi.query_params(req).get('user_id'))
        pair = self.compute_api.keypair_get(wsgi.get_context(req), user_id,
                                            id)
        return {'keypair': _typed(req, {
            'name': pair['name'], 'public_key': pair['public_key'],
            'fingerprint': pair['fingerprint'],
            'user_id': pair['user_id'],
            'created_at': links.isotime(pair['created_at']),
            # Nova's soft-delete fields: a pair shown is never deleted.
            'deleted': False, 'deleted_at': None, 'updated_at': None,
            'id': pair['id']}, pair)}

    @wsgi.expected_errors((400, 403, 409))
    @validation.schema(schema.create, '2.1', '2.1')
    @validation.schema(schema.create_v22, '2.2', '2.9')
    @validation.schema(schema.create_v210, '2.10')
    def create(self, req, body):
        request = body['keypair']
        user_id = _user(req, policies.CREATE, request.get('user_id'))
        pair = self.compute_api.keypair_create(
            wsgi.get_context(req), user_id, request['name'],
            key_type=request.get('type', 'ssh'),
            public_key=request.get('public_key'))
        keypair = {'name': pair['name'], 'public_key': pair['public_key'],
                   'fingerprint': pair['fingerprint'],
                   'user_id': pair['user_id']}
        if 'private_key' in pair:
            keypair['private_key'] = pair['private_key']
        code = 201 if microversion.is_supported(req, TYPE_VERSION) else 200
        return wsgi.ResponseObject({'keypair': _typed(req, keypair, pair)},
                                   code=code)

    @wsgi.expected_errors(404)
    def delete(self, req, id):
        user_id = _user(req, policies.DELETE,
                        wsgi.query_params(req).get('user_id'))
        self.compute_api.keypair_delete(wsgi.get_context(req), user_id, id)
        code = 204 if microversion.is_supported(req, TYPE_VERSION) else 202
        return wsgi.ResponseObject(None, code=code)
