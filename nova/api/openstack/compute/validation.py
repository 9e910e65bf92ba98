"""Check request bodies against their JSON schema.

Draft 4, as Nova: ``integer`` is an int and never a bool or a float. A
body that does not match gets a 400 naming the field, e.g. ``Invalid input
for field/attribute server.name: '' is too short``. A pattern that does
not match is explained by the ``description`` of its schema.

Handlers declare their schemas with ``schema``, one per range of
microversions, as Nova's ``validation.schema``.
"""

import functools

import jsonschema
import jsonschema.exceptions

from nova.api.openstack.compute import versioned_method
from nova.api.openstack.compute import wsgi
from nova import exception

MAX_DETAIL_CHARS = 300


def _dotted(path):
    return '.'.join(str(part) for part in path)


def _field_name(error):
    path = list(error.absolute_path)
    instance = error.instance
    if error.validator == 'required' and isinstance(instance, dict):
        missing = [name for name in error.validator_value
                   if name not in instance]
        path += missing[:1]
    elif (error.validator == 'additionalProperties'
          and isinstance(instance, dict)):
        known = error.schema.get('properties', {})
        extra = sorted(str(name) for name in instance if name not in known)
        path += extra[:1]
    return _dotted(path) or 'request body'


def _detail(error):
    message = error.message
    description = error.schema.get('description')
    if description and (error.validator == 'pattern' or (
            error.validator == 'additionalProperties' and
            'patternProperties' in error.schema)):
        # Say what is expected rather than quote a regular expression.
        message = '%r is invalid: %s' % (error.instance, description)
    if len(message) > MAX_DETAIL_CHARS:
        message = message[:MAX_DETAIL_CHARS] + '...'
    return message


def validate(body, schema):
    validator = jsonschema.Draft4Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        raise exception.ValidationError(field=_field_name(error),
                                        detail=_detail(error))


def schema(request_body_schema, min_version=None, max_version=None):
    """Validate the handler's ``body`` against ``request_body_schema``
    when the request's microversion is in [min_version, max_version]
    (strings like '2.19'; None is open). Stack one per range."""
    min_version = versioned_method.parse_version(min_version)
    max_version = versioned_method.parse_version(max_version)

    def decorator(func):
        @functools.wraps(func)
        def wrapped(self, req, *args, **kwargs):
            if versioned_method.version_in(wsgi.get_version(req),
                                           min_version, max_version):
                validate(kwargs['body'], request_body_schema)
            return func(self, req, *args, **kwargs)
        return wrapped
    return decorator
