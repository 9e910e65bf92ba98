"""/images: the read-only image proxy Nova had before microversion 2.36."""

from nova.api.openstack.compute.views import images as views
from nova.api.openstack.compute import wsgi


class ImagesController(wsgi.Controller):
    def _images(self, req):
        return self.compute_api.image_list(wsgi.get_context(req))

    @wsgi.expected_errors(())
    def index(self, req):
        return {'images': [views.basic(req, i) for i in self._images(req)]}

    @wsgi.expected_errors(())
    def detail(self, req):
        return {'images': [views.detail(req, i) for i in self._images(req)]}

    @wsgi.expected_errors(404)
    def show(self, req, id):
        image = self.compute_api.image_get(wsgi.get_context(req), id)
        return {'image': views.detail(req, image)}
