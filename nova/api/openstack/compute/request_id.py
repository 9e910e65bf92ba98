"""Give every request an id, returned in the response headers.

The id ends up in the RequestContext, in the log lines of the request and
in the message of an unexpected error, so an operator can match a user's
report to the log.
"""

import uuid

from nova.api.openstack.compute import wsgi

HEADERS = ('x-openstack-request-id', 'x-compute-request-id')


def new_request_id():
    return 'req-%s' % uuid.uuid4()


def add_headers(response, environ):
    request_id = environ.get(wsgi.REQUEST_ID_KEY)
    if request_id is None:
        return
    for name in HEADERS:
        response.headers[name] = request_id


class RequestIdMiddleware(wsgi.Middleware):
    def process(self, req):
        req.environ[wsgi.REQUEST_ID_KEY] = new_request_id()
        response = req.get_response(self.application)
        add_headers(response, req.environ)
        return response
