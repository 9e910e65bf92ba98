"""Controller methods with several versions, as Nova's VersionedMethod.

``wsgi.Controller.api_version`` turns each definition of a method into a
VersionedMethod; the Controller metaclass merges the definitions of one
name (disjoint ranges of microversions) and collects the server actions
(``wsgi.action``) into ``wsgi_actions``.
"""

import functools

import microversion_parse
import webob.exc

# An open upper bound, above any (major, minor).
_OPEN = (float('inf'),)


def parse_version(text):
    """A decorator's version argument ('2.19') as a comparable tuple."""
    return None if text is None else (
        microversion_parse.parse_version_string(text))


def version_in(version, min_version, max_version):
    """Whether ``version`` is in [min, max]; a None bound is open."""
    return ((min_version is None or min_version <= version) and
            (max_version is None or version <= max_version))


class VersionedMethod:
    """The versions of one controller method, each for a range of
    microversions (``Controller.api_version``); a request at a version
    none serves gets 404, as in Nova."""

    def __init__(self, name):
        self.name = name
        # (min, max, func, explanation): tuples, max None for open.
        self.versions = []

    def add(self, min_version, max_version, func, explanation=None):
        for other_min, other_max, _func, _text in self.versions:
            if (min_version <= (other_max or _OPEN) and
                    other_min <= (max_version or _OPEN)):
                raise TypeError('%s: the versions from %s and from %s '
                                'overlap' % (self.name, str(min_version),
                                             str(other_min)))
        self.versions.append((min_version, max_version, func,
                              explanation))

    def merge(self, other):
        for version in other.versions:
            self.add(*version)
        return self

    def actions(self):
        return {getattr(func, 'wsgi_action', None)
                for _min, _max, func, _text in self.versions} - {None}

    def select(self, version):
        """The function serving ``version``; HTTPNotFound if none."""
        for min_version, max_version, func, _text in self.versions:
            if version_in(version, min_version, max_version):
                return func
        texts = [text for _min, _max, _func, text in self.versions if text]
        raise webob.exc.HTTPNotFound(explanation=(
            texts[0] if texts else 'API version %s is not supported on '
                                   'this method.' % str(version)))

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return BoundVersionedMethod(self, instance)


class BoundVersionedMethod:
    def __init__(self, method, instance):
        self.method = method
        self.instance = instance

    def resolve(self, version):
        """The bound function serving ``version``; 404 if none."""
        return functools.partial(self.method.select(version), self.instance)


class _ControllerNamespace(dict):
    """A class body where a second versioned definition of a name adds
    its range to the first rather than replacing it."""

    def __setitem__(self, key, value):
        current = self.get(key)
        if isinstance(value, VersionedMethod) and isinstance(
                current, VersionedMethod):
            value = current.merge(value)
        super().__setitem__(key, value)


class ControllerMetaclass(type):
    @classmethod
    def __prepare__(mcs, name, bases, **kwargs):
        return _ControllerNamespace()

    def __new__(mcs, name, bases, namespace, **kwargs):
        actions = {}
        for base in bases:
            actions.update(getattr(base, 'wsgi_actions', {}))
        for key, value in namespace.items():
            if isinstance(value, VersionedMethod):
                names = value.actions()
            else:
                names = {getattr(value, 'wsgi_action', None)} - {None}
            for action_name in names:
                actions[action_name] = key
        namespace = dict(namespace, wsgi_actions=actions)
        return super().__new__(mcs, name, bases, namespace, **kwargs)
