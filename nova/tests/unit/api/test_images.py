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


class ImageFiltersTestCase(base.APITestCase):
    """Nova's proxy filters and pages (tempest's ListImageFiltersTestJSON:
    name and limit were ignored)."""

    def ids(self, query, path='/v2.1/images'):
        return [i['id'] for i in self.json(self.request(
            'GET', path + '?' + query))['images']]

    def test_name_status_min_disk(self):
        self.assertEqual([fakes.IMAGE_ID], self.ids('name=cirros'))
        self.assertEqual([], self.ids('name=cirr'))
        self.assertEqual([fakes.IMAGE_ID], self.ids('status=active'))
        self.assertEqual([fakes.OTHER_IMAGE_ID],
                         self.ids('status=SAVING', '/v2.1/images/detail'))
        self.assertEqual([fakes.IMAGE_ID], self.ids('minDisk=1'))

    def test_limit_and_marker(self):
        every = self.ids('')
        self.assertEqual(2, len(every))
        self.assertEqual(every[:1], self.ids('limit=1'))
        self.assertEqual([], self.ids('limit=0', '/v2.1/images/detail'))
        self.assertEqual(every[1:], self.ids('marker=%s' % every[0]))
        for bad in ('limit=-1', 'limit=x', 'marker=nope', 'minRam=x'):
            self.assertStatus(400, self.request('GET',
                                                '/v2.1/images?' + bad))
