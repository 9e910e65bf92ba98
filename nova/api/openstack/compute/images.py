"""/images: the read-only image proxy Nova had before microversion 2.36."""

from nova.api.openstack.compute.views import images as views
from nova.api.openstack.compute import wsgi


class ImagesController:
    def __init__(self, compute_api):
        self.compute_api = compute_api

    def _images(self, req):
        return self.compute_api.image_list(wsgi.get_context(req))

    def index(self, req):
        return wsgi.json_response(
            {'images': [views.basic(req, i) for i in self._images(req)]})

    def detail(self, req):
        return wsgi.json_response(
            {'images': [views.detail(req, i) for i in self._images(req)]})

    def show(self, req, id):
        image = self.compute_api.image_get(wsgi.get_context(req), id)
        return wsgi.json_response({'image': views.detail(req, image)})
