"""Who is calling: a RequestContext for every request of the versioned API.

``[api] auth_strategy``:

- ``noauth2`` (tests, one host): ``X-Auth-Token: user:project`` names the
  caller (``user`` alone means project = user); user ``admin`` has the
  role ``admin``, any other user ``member`` and ``reader`` (as keystone's
  implied roles), unless ``X-Roles: a,b`` names the roles (to try a
  policy file's custom roles). Nothing is checked, so never expose it.
- ``keystone``: keystonemiddleware's auth_token, configured from
  ``[keystone_authtoken]``, validates the token and passes the identity on
  in X-User-Id, X-Project-Id and X-Roles (it removes any such header the
  client sent). The ``admin`` role makes an admin.
"""

import ipaddress
import re
import socket

from keystonemiddleware import auth_token
import webob.exc

from nova.api.openstack.compute import fault
from nova.api.openstack.compute import wsgi
from nova import context
from nova import exception

# oslo.middleware's request_id.GLOBAL_REQ_ID.
GLOBAL_REQUEST_ID_KEY = 'openstack.global_request_id'
ADMIN_ROLE = 'admin'
ADMIN_USER = 'admin'
NOAUTH_ROLES = ('member', 'reader')
_CONTROL_CHARACTERS = re.compile('[\x00-\x1f\x7f-\x9f]')


def _unauthorized(message):
    return webob.exc.HTTPUnauthorized(explanation=message)


def _identity_header(req, name):
    """The stripped text of header ``name``, '' when absent or None-like.

    keystonemiddleware's auth_token copies every attribute of the token
    into a header, None included: the project of an unscoped, domain- or
    system-scoped token arrives as None (or, through anything that turned
    the environ into text, as 'None'). Keystone's ids are never 'None'.
    """
    value = req.headers.get(name)
    if value is None:
        return ''
    value = str(value).strip()
    return '' if value == 'None' else value


def _roles(req):
    return tuple(role.strip()
                 for role in _identity_header(req, 'X-Roles').split(',')
                 if role.strip())


def _new_context(req, user_id, project_id, roles):
    kwargs = {}
    # Without the request id middleware the context makes up its own.
    if req.environ.get(wsgi.REQUEST_ID_KEY):
        kwargs['request_id'] = req.environ[wsgi.REQUEST_ID_KEY]
    # A caller's own valid X-OpenStack-Request-Id (oslo.middleware's
    # RequestId checked it), logged and sent over RPC beside ours.
    kwargs['global_request_id'] = req.environ.get(GLOBAL_REQUEST_ID_KEY)
    return context.RequestContext(
        user_id=user_id, project_id=project_id,
        is_admin=None, roles=tuple(roles), **kwargs)


def context_from_noauth_token(req):
    token = req.headers.get('X-Auth-Token', '').strip()
    if not token:
        raise _unauthorized('Authentication required: send the header '
                            'X-Auth-Token: USER:PROJECT.')
    user_id, _sep, project_id = token.partition(':')
    user_id = user_id.strip()
    project_id = project_id.strip() or user_id
    if not user_id:
        raise _unauthorized('X-Auth-Token must be USER:PROJECT or USER; '
                            'the user is empty.')
    # The names go into every log line of the request (keystone's ids
    # are hex).
    if _CONTROL_CHARACTERS.search(user_id + project_id):
        raise _unauthorized('X-Auth-Token holds a control character; '
                            'USER and PROJECT must be printable.')
    roles = (ADMIN_ROLE,) if user_id == ADMIN_USER else NOAUTH_ROLES
    if 'X-Roles' in req.headers:
        roles = _roles(req)
    return _new_context(req, user_id, project_id, roles)


def _scope_of(req):
    """Says what a token without a project is scoped to, for the 403."""
    system = _identity_header(req, 'OpenStack-System-Scope')
    if system:
        return 'a system-scoped token (system %s)' % system
    domain = _identity_header(req, 'X-Domain-Id')
    if domain:
        return 'a domain-scoped token (domain %s)' % domain
    return 'an unscoped token'


def context_from_keystone_headers(req):
    """A RequestContext from auth_token's headers.

    :raises webob.exc.HTTPUnauthorized: the token was not confirmed or
        names no user.
    :raises webob.exc.HTTPForbidden: the token is not scoped to a project
        (unscoped, domain- or system-scoped).
    """
    if _identity_header(req, 'X-Identity-Status') != 'Confirmed':
        raise _unauthorized('The request you have made requires '
                            'authentication.')
    user_id = _identity_header(req, 'X-User-Id')
    project_id = _identity_header(req, 'X-Project-Id')
    if not user_id:
        raise _unauthorized('The token names no user.')
    if not project_id:
        raise webob.exc.HTTPForbidden(
            explanation='The compute API needs a project-scoped token; '
                        'this is %s. Ask Keystone for a token scoped to '
                        'a project (e.g. OS_PROJECT_NAME).' % _scope_of(req))
    ctx = _new_context(req, user_id, project_id, _roles(req))
    # For the calls nova makes on the caller's behalf (Glance).
    ctx.auth_token = req.headers.get('X-Auth-Token') or None
    return ctx


class NoAuthMiddleware(wsgi.Middleware):
    def process(self, req):
        req.environ[wsgi.CONTEXT_KEY] = context_from_noauth_token(req)
        return req.get_response(self.application)


class KeystoneContextMiddleware(wsgi.Middleware):
    """Runs after keystonemiddleware's auth_token."""

    def process(self, req):
        req.environ[wsgi.CONTEXT_KEY] = context_from_keystone_headers(req)
        return req.get_response(self.application)


def keystone_pipeline(application, conf):
    make_filter = auth_token.filter_factory({}, oslo_config_config=conf)
    # auth_token is a webob.dec.wsgify application: it would render a
    # webob error raised below it as HTML. Faults are made below it.
    return make_filter(
        fault.FaultWrapper(KeystoneContextMiddleware(application)))


def wrap(application, conf):
    """``application`` behind the ``[api] auth_strategy`` of ``conf``."""
    strategy = conf.api.auth_strategy
    if strategy == 'keystone':
        return keystone_pipeline(application, conf)
    if strategy == 'noauth2':
        return NoAuthMiddleware(application)
    raise ValueError('unknown [api] auth_strategy %r' % strategy)


# -- ver: noauth2 only where no one else can connect.

def _loopback_only(host):
    """None when every address ``host`` names is a loopback address,
    else why not (for NoAuthOffLoopback)."""
    if not host:
        return 'every address of this machine'
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as e:
        return 'a name that does not resolve (%s)' % e
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split('%', 1)[0])
        if address.is_unspecified:
            return 'every address of this machine'
        if not address.is_loopback:
            return 'not a loopback address (%s)' % address
    return None


def check_listen(conf, host):
    """Refuse noauth2 unless the API listens on loopback only.

    :raises nova.exception.NoAuthOffLoopback: ``[api] auth_strategy`` is
        noauth2 and ``host`` (the listen address) is not loopback only:
        every address it resolves to must be in 127.0.0.0/8 or ::1.
    """
    if conf.api.auth_strategy != 'noauth2':
        return
    why = _loopback_only(host)
    if why is not None:
        raise exception.NoAuthOffLoopback(host=host or "''", why=why)
