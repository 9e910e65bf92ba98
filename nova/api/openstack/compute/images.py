"""/images: the read-only image proxy Nova had before microversion 2.36.

Listing takes the proxy's filters as Nova passes them to Glance:
``name`` (exact), ``status`` (as shown: ACTIVE, ...), ``minRam`` and
``minDisk``, then ``marker`` (an image listed; 400 when none is) and
``limit`` (a whole number).

``DELETE /images/{id}`` (204) deletes the image in Glance as the caller,
as Nova's proxy: 404 for an image the caller does not see, 403 when
Glance refuses (another project's, protected), 409 as Glance answers.
Its metadata is image_metadata.py's."""

import webob.exc

from nova.api.openstack.compute.views import images as views
from nova.api.openstack.compute import wsgi
from nova import exception

# Of a bad query value, at most this much is quoted back.
MAX_SHOWN = 40


def _int_param(params, name):
    value = params.get(name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 10:
        raise exception.ValidationError(
            field=name, detail='must be a whole number, not %r'
                               % value[:MAX_SHOWN])
    return int(value)


def _filtered(req, images, show):
    params = wsgi.query_params(req)
    min_ram = _int_param(params, 'minRam')
    min_disk = _int_param(params, 'minDisk')
    limit = _int_param(params, 'limit')
    shown = [(image, show(req, image)) for image in images]
    if params.get('name') is not None:
        shown = [(i, s) for i, s in shown if i.get('name') == params['name']]
    if params.get('status') is not None:
        wanted = params['status'].upper()
        shown = [(i, s) for i, s in shown
                 if views._status_and_progress(i)[0] == wanted]
    if min_ram is not None:
        shown = [(i, s) for i, s in shown
                 if (i.get('min_ram') or 0) >= min_ram]
    if min_disk is not None:
        shown = [(i, s) for i, s in shown
                 if (i.get('min_disk') or 0) >= min_disk]
    marker = params.get('marker')
    if marker is not None:
        ids = [i['id'] for i, _s in shown]
        if marker not in ids:
            raise webob.exc.HTTPBadRequest(
                explanation='marker [%s] not found' % marker[:MAX_SHOWN])
        shown = shown[ids.index(marker) + 1:]
    if limit is not None:
        shown = shown[:limit]
    return [s for _i, s in shown]


class ImagesController(wsgi.Controller):
    def _images(self, req):
        return self.compute_api.image_list(wsgi.get_context(req))

    @wsgi.expected_errors(400)
    def index(self, req):
        return {'images': _filtered(req, self._images(req), views.basic)}

    @wsgi.expected_errors(400)
    def detail(self, req):
        return {'images': _filtered(req, self._images(req), views.detail)}

    @wsgi.expected_errors(404)
    def show(self, req, id):
        image = self.compute_api.image_get(wsgi.get_context(req), id)
        return {'image': views.detail(req, image)}

    @wsgi.response(204)
    @wsgi.expected_errors((403, 404, 409))
    def delete(self, req, id):
        self.compute_api.image_delete(wsgi.get_context(req), id)
