"""Request bodies: media types, malformed JSON, size."""

import json

from nova.api.openstack.compute import wsgi
from nova.tests.unit.api import base
from nova.tests.unit.api import fakes

GOOD_BODY = json.dumps({'server': {
    'name': 'a', 'imageRef': fakes.IMAGE_ID, 'flavorRef': '1'}}).encode()


class BodyParsingTestCase(base.APITestCase):
    def post(self, raw, content_type='application/json'):
        return self.request('POST', '/v2.1/servers', raw=raw,
                            content_type=content_type)

    def test_json_media_types(self):
        for content_type in ('application/json',
                             'application/json; charset=UTF-8',
                             'application/vnd.openstack.compute+json',
                             'text/plain', None):
            self.assertStatus(202, self.post(GOOD_BODY, content_type))

    def test_other_media_type_is_415(self):
        for content_type in ('application/xml', 'multipart/form-data',
                             'application/x-www-form-urlencoded'):
            response = self.post(GOOD_BODY, content_type)
            self.assertFault(response, 415, 'badMediaType', content_type,
                             'application/json')
        self.assertEqual([], self.compute.calls)

    def test_malformed_json_is_400(self):
        for raw in (b'{', b'{"server": }', b"{'server': 1}", b'nul',
                    b'{"a": NaN}', b'{"a": Infinity}', b'[1, 2,]'):
            self.assertFault(self.post(raw), 400, 'badRequest',
                             'Malformed request body')

    def test_empty_body_is_400(self):
        for raw in (b'', b'  \n'):
            self.assertFault(self.post(raw), 400, 'badRequest', 'empty')

    def test_not_utf8_is_400(self):
        raw = '{"server": {"name": "é"}}'.encode('latin-1')
        self.assertFault(self.post(raw), 400, 'badRequest', 'UTF-8')

    def test_deep_nesting_is_400(self):
        raw = b'[' * 100000 + b']' * 100000
        self.assertFault(self.post(raw), 400, 'badRequest',
                         'Malformed request body')

    def test_not_an_object_is_400_naming_the_body(self):
        for raw in (b'[]', b'"server"', b'1', b'null', b'true'):
            self.assertFault(self.post(raw), 400, 'badRequest',
                             'request body')

    def test_too_large_is_413(self):
        raw = b'{"x": "%s"}' % (b'a' * wsgi.MAX_BODY_BYTES)
        self.assertFault(self.post(raw), 413, 'overLimit', 'larger')

    def test_responses_are_ascii_json(self):
        self.compute.add_server(name='ünï ✓')
        response = self.request('GET', '/v2.1/servers')
        self.assertEqual('application/json', response.content_type)
        response.body.decode('ascii')
        self.assertEqual('ünï ✓', self.json(response)['servers'][0]['name'])
