"""Glance's image API v2, as the compute API and the compute hosts use it.

keystoneauth1 alone carries the calls (a session and an adapter for
service type ``image``, configured in ``[glance]``): nova needs three
requests (show, list, download), and keystoneauth already gives the
catalog look-up, retries, TLS options and token handling that
python-glanceclient would wrap again, so no extra client library.

Whose token: the caller's own when the request context has one (with
``[api] auth_strategy = keystone``), so a user sees their own images and
nothing more, as with Nova; otherwise the service credentials of
``[glance]`` (keystoneauth's auth options: ``auth_type = password`` and
so on). A context without a token and a ``[glance]`` without credentials
is an error that names both. A caller's token that Glance refuses
(expired, revoked) is an error too, never a reason to ask again as nova:
Glance decides what the caller may read. (Nova sends a service token
beside the user's so Glance may accept an expired one; this project does
not yet, so an action deferred past its token's expiry fails with that
error and is asked again with a new token.)
"""

import urllib.parse

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import token_endpoint
from oslo_log import log as logging

from nova import exception

LOG = logging.getLogger(__name__)
GROUP = 'glance'

# Keys of Glance's image body that are not image properties.
CORE_KEYS = frozenset((
    'id', 'name', 'status', 'disk_format', 'container_format', 'min_ram',
    'min_disk', 'size', 'virtual_size', 'checksum', 'os_hash_algo',
    'os_hash_value', 'created_at', 'updated_at', 'visibility', 'owner',
    'protected', 'tags', 'file', 'self', 'schema', 'os_hidden', 'locations',
    'direct_url', 'stores'))
# An image id goes into a URL path: Glance's ids are uuids; refuse
# anything that could change the path (``../``, ``?``, ``#``).
_ID_CHARS = frozenset('0123456789abcdefABCDEF-')
PAGE_SIZE = 200
MAX_PAGES = 50


def image_dict(body):
    """Glance's image body as the dict of ``nova.compute.flavors``: the
    core keys, ``properties`` holding every other key (``kernel_id``,
    ``ramdisk_id``, ``hw_serial_port_count``, ...)."""
    if not isinstance(body, dict) or not isinstance(body.get('id'), str):
        raise exception.GlanceConnectionFailed(
            reason='an image body without an id')
    image = {key: body.get(key) for key in CORE_KEYS}
    image['properties'] = {key: value for key, value in body.items()
                           if key not in CORE_KEYS}
    for key in ('min_ram', 'min_disk'):
        image[key] = image[key] or 0
    return image


def check_image_id(image_id):
    """``image_id`` when it can name a Glance image; else ImageNotFound."""
    if (not isinstance(image_id, str) or not image_id or
            len(image_id) > 36 or not set(image_id) <= _ID_CHARS):
        raise exception.ImageNotFound(image_id=image_id)
    return image_id


def _said(error):
    """What Glance said in an error answer, short."""
    text = getattr(error, 'details', None) or str(error)
    return str(text)[:300]


def _pointer(key):
    """``key`` as a JSON pointer (RFC 6901) of a JSON patch."""
    return '/' + key.replace('~', '~0').replace('/', '~1')


class API:
    """Glance for one configuration (``conf``: a ConfigOpts with the
    ``[glance]`` group)."""

    def __init__(self, conf):
        self._conf = conf
        self._service_auth = None
        self._service_session = None

    # -- sessions ------------------------------------------------------------

    def _service(self):
        """(session, auth) of the service credentials; auth is None when
        ``[glance]`` names no auth_type."""
        if self._service_session is None:
            auth = ks_loading.load_auth_from_conf_options(self._conf, GROUP)
            self._service_auth = auth
            self._service_session = (
                ks_loading.load_session_from_conf_options(
                    self._conf, GROUP, auth=auth))
        return self._service_session, self._service_auth

    def _adapter(self, ctx):
        session, service_auth = self._service()
        token = getattr(ctx, 'auth_token', None) if ctx else None
        auth = None
        if token:
            auth = token_endpoint.Token(self._endpoint(session, service_auth),
                                        token)
        elif service_auth is None:
            raise exception.GlanceConnectionFailed(
                reason='the request carries no user token and [glance] has '
                       'no service credentials (auth_type, auth_url, '
                       'username, ...)')
        return ks_loading.load_adapter_from_conf_options(
            self._conf, GROUP, session=session, auth=auth)

    def _endpoint(self, session, service_auth):
        group = self._conf[GROUP]
        if group.endpoint_override:
            return group.endpoint_override
        if service_auth is None:
            raise exception.GlanceConnectionFailed(
                reason='[glance] needs endpoint_override or service '
                       'credentials to find the image service')
        adapter = ks_loading.load_adapter_from_conf_options(
            self._conf, GROUP, session=session)
        try:
            endpoint = adapter.get_endpoint()
        except ks_exc.ClientException as e:
            raise exception.GlanceConnectionFailed(reason=str(e))
        if not endpoint:
            raise exception.GlanceConnectionFailed(
                reason='no image endpoint in the service catalog')
        return endpoint

    def _request(self, ctx, method, path, image_id=None, write=False,
                 **kwargs):
        try:
            return self._adapter(ctx).request(
                path, method, raise_exc=True, **kwargs)
        except ks_exc.Unauthorized:
            # Never nova's own identity instead: a caller who revoked
            # their token would then read, as nova, images Glance refuses
            # them (another project's kernel_id named by their image).
            raise exception.GlanceConnectionFailed(
                reason='Glance refused the token of the request (expired '
                       'or revoked); ask again with a new token')
        except ks_exc.NotFound:
            raise exception.ImageNotFound(image_id=image_id)
        except ks_exc.Forbidden:
            if write:
                # The caller sees the image but may not change it (not
                # theirs, protected, a reserved property): Glance's 403.
                raise exception.ImageNotAuthorized(image_id=image_id)
            # Glance answers 403 or 404 for another project's image.
            raise exception.ImageNotFound(image_id=image_id)
        except ks_exc.RequestEntityTooLarge as e:
            if not write:
                LOG.warning('Glance %s %s failed: %s', method, path, e)
                raise exception.GlanceConnectionFailed(reason=str(e)[:300])
            # Glance's own limit of properties per image, as Nova: 403.
            raise exception.ImageNotAuthorized(image_id=image_id)
        except ks_exc.BadRequest as e:
            if not write:
                LOG.warning('Glance %s %s failed: %s', method, path, e)
                raise exception.GlanceConnectionFailed(reason=str(e)[:300])
            raise exception.ImageBadRequest(image_id=image_id,
                                            response=_said(e))
        except ks_exc.Conflict as e:
            if not write:
                LOG.warning('Glance %s %s failed: %s', method, path, e)
                raise exception.GlanceConnectionFailed(reason=str(e)[:300])
            raise exception.ImageConflict(image_id=image_id,
                                          reason=_said(e))
        except ks_exc.ClientException as e:
            LOG.warning('Glance %s %s failed: %s', method, path, e)
            raise exception.GlanceConnectionFailed(reason=str(e)[:300])

    # -- calls ------------------------------------------------------------

    def get(self, ctx, image_id):
        """The image ``image_id`` as a dict (see :func:`image_dict`).

        :raises ImageNotFound: no such image for this caller.
        :raises GlanceConnectionFailed: Glance unreachable or in error.
        """
        check_image_id(image_id)
        resp = self._request(ctx, 'GET', '/v2/images/%s' % image_id,
                             image_id)
        try:
            return image_dict(resp.json())
        except ValueError:
            raise exception.GlanceConnectionFailed(
                reason='GET /v2/images/%s did not answer JSON' % image_id)

    def list(self, ctx):
        """Every image the caller sees, by name (Glance's pages followed,
        at most MAX_PAGES of PAGE_SIZE)."""
        images = []
        path = '/v2/images?limit=%d' % PAGE_SIZE
        for _ in range(MAX_PAGES):
            body = self._request(ctx, 'GET', path).json()
            images.extend(image_dict(i) for i in body.get('images') or ())
            following = body.get('next')
            if not following:
                break
            # Glance's "next" is a path with a marker; nothing else.
            parsed = urllib.parse.urlsplit(following)
            if parsed.scheme or parsed.netloc:
                break
            path = following
        return sorted(images, key=lambda i: (i.get('name') or '', i['id']))

    def download(self, ctx, image_id, write, chunk_size):
        """Stream the data of ``image_id`` to ``write(bytes)``.

        :raises ImageNotFound, GlanceConnectionFailed: as :meth:`get`;
        :raises ImageDownloadFailed: the transfer broke off.
        """
        check_image_id(image_id)
        resp = self._request(ctx, 'GET', '/v2/images/%s/file' % image_id,
                             image_id, stream=True)
        try:
            if resp.status_code == 204:
                raise exception.ImageDownloadFailed(
                    image_id=image_id, reason='the image has no data')
            for chunk in resp.iter_content(chunk_size):
                write(chunk)
        except (OSError, ks_exc.ClientException) as e:
            raise exception.ImageDownloadFailed(image_id=image_id,
                                                reason=str(e)[:300])
        except Exception as e:
            # requests' own errors (ChunkedEncodingError...) on a broken
            # transfer.
            if type(e).__module__.startswith(('requests', 'urllib3')):
                raise exception.ImageDownloadFailed(image_id=image_id,
                                                    reason=str(e)[:300])
            raise
        finally:
            resp.close()

    # -- shv: snapshots (a shelved server's disk) -----------------------------

    def create(self, ctx, name, properties=None, disk_format='qcow2',
               container_format='bare'):
        """A new image record (status ``queued``, no data yet), owned by
        the caller's project, private; returns its dict (image_dict).

        :param properties: str -> str image properties (Glance refuses
            other values).
        :raises GlanceConnectionFailed: Glance refused or is away.
        """
        body = {'name': name, 'disk_format': disk_format,
                'container_format': container_format,
                'visibility': 'private'}
        for key, value in (properties or {}).items():
            if key in CORE_KEYS or not isinstance(key, str):
                continue
            body[key] = value if isinstance(value, str) else str(value)
        resp = self._request(ctx, 'POST', '/v2/images', json=body)
        try:
            return image_dict(resp.json())
        except ValueError:
            raise exception.GlanceConnectionFailed(
                reason='POST /v2/images did not answer JSON')

    def upload(self, ctx, image_id, path):
        """Send the file ``path`` as the data of the queued ``image_id``
        (Glance computes its hash and size; the image becomes active).

        :raises ImageNotFound: the image is gone (deleted meanwhile).
        :raises GlanceConnectionFailed: Glance refused or the transfer
            broke off.
        """
        check_image_id(image_id)
        try:
            with open(path, 'rb') as data:
                self._request(
                    ctx, 'PUT', '/v2/images/%s/file' % image_id, image_id,
                    data=data,
                    headers={'Content-Type': 'application/octet-stream'})
        except OSError as e:
            raise exception.GlanceConnectionFailed(
                reason='upload of %s: %s' % (image_id, e.strerror or e))

    def delete(self, ctx, image_id):
        """Delete ``image_id``; one already gone is no error."""
        check_image_id(image_id)
        try:
            self._request(ctx, 'DELETE', '/v2/images/%s' % image_id,
                          image_id)
        except exception.ImageNotFound:
            LOG.info('Image %s was already deleted', image_id)

    # -- access: the /images proxy's writes, as the caller ----------------

    def update_properties(self, ctx, image_id, changes, remove=()):
        """Set the properties ``changes`` (str -> str) of ``image_id``
        and drop those named in ``remove``, in one JSON patch (Glance's
        PATCH /v2/images/{id}); the image after it (image_dict).

        :raises ImageNotFound: no such image for this caller.
        :raises ImageNotAuthorized: Glance refuses the caller (403).
        :raises ImageBadRequest: Glance refuses a property (400).
        :raises ImageConflict: not now (409, e.g. being deleted).
        """
        check_image_id(image_id)
        current = self.get(ctx, image_id)['properties']
        ops = []
        for key in sorted(remove):
            if key in current:
                ops.append({'op': 'remove', 'path': _pointer(key)})
        for key, value in sorted(changes.items()):
            ops.append({'op': 'replace' if key in current else 'add',
                        'path': _pointer(key), 'value': value})
        if not ops:
            return self.get(ctx, image_id)
        resp = self._request(
            ctx, 'PATCH', '/v2/images/%s' % image_id, image_id, write=True,
            json=ops, headers={
                'Content-Type':
                    'application/openstack-images-v2.1-json-patch'})
        try:
            return image_dict(resp.json())
        except ValueError:
            raise exception.GlanceConnectionFailed(
                reason='PATCH /v2/images/%s did not answer JSON' % image_id)

    def delete_image(self, ctx, image_id):
        """Delete ``image_id`` as the caller (the proxy's DELETE).

        :raises ImageNotFound: no such image for this caller.
        :raises ImageNotAuthorized: not theirs, or protected (403).
        :raises ImageConflict: Glance says not now (409).
        """
        check_image_id(image_id)
        self._request(ctx, 'DELETE', '/v2/images/%s' % image_id, image_id,
                      write=True)
