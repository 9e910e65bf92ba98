from nova.tests.unit.api import base
from nova.tests.unit.api import fakes


class ImagesTestCase(base.APITestCase):
    def test_index(self):
        images = self.json(self.request('GET', '/v2.1/images'))['images']
        self.assertIn({
            'id': fakes.IMAGE_ID, 'name': 'cirros',
            'links': [
                {'rel': 'self',
                 'href': 'http://localhost/v2.1/images/%s' % fakes.IMAGE_ID},
                {'rel': 'bookmark',
                 'href': 'http://localhost/images/%s' % fakes.IMAGE_ID}],
        }, images)
        self.assertEqual(2, len(images))

    def test_detail_and_show(self):
        shown = self.json(self.request(
            'GET', '/v2.1/images/%s' % fakes.IMAGE_ID))['image']
        self.assertEqual({
            'id': fakes.IMAGE_ID, 'name': 'cirros', 'status': 'ACTIVE',
            'progress': 100, 'minRam': 0, 'minDisk': 1,
            'metadata': {'hw_serial_port_count': '1'},
            'created': '2024-05-01T12:00:00Z',
            'updated': '2024-05-01T12:05:30Z',
            'OS-EXT-IMG-SIZE:size': 16338944,
            'links': [
                {'rel': 'self',
                 'href': 'http://localhost/v2.1/images/%s' % fakes.IMAGE_ID},
                {'rel': 'bookmark',
                 'href': 'http://localhost/images/%s' % fakes.IMAGE_ID}],
        }, shown)
        detail = self.json(self.request('GET', '/v2.1/images/detail'))
        self.assertIn(shown, detail['images'])

    def test_status_mapping(self):
        queued = self.json(self.request(
            'GET', '/v2.1/images/%s' % fakes.OTHER_IMAGE_ID))['image']
        self.assertEqual(('SAVING', 25), (queued['status'],
                                          queued['progress']))
        self.assertNotIn('OS-EXT-IMG-SIZE:size', queued)
        self.assertEqual(0, queued['minRam'])
        self.compute.images[fakes.OTHER_IMAGE_ID]['status'] = 'weird'
        odd = self.json(self.request(
            'GET', '/v2.1/images/%s' % fakes.OTHER_IMAGE_ID))['image']
        self.assertEqual('UNKNOWN', odd['status'])

    def test_unknown_image_is_404(self):
        self.assertFault(self.request('GET', '/v2.1/images/nope'), 404,
                         'itemNotFound', 'nope')
