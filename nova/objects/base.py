"""Versioned objects as Nova has them (oslo.versionedobjects).

Every object that crosses RPC is a :class:`NovaObject`: its fields are
typed, it carries a ``VERSION``, and it is serialized by
:class:`NovaObjectSerializer` alone (wrapped by
``nova.rpc.RequestContextSerializer`` for the context). There is no
hand conversion to and from dicts anywhere.

Bump an object's ``VERSION`` (minor for an added field, major for a
removed or retyped one) whenever its ``fields`` change, and teach
``obj_make_compatible`` to drop what an older reader does not know.
"""

import copy

from oslo_utils import versionutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields as ovo_fields


# Defaults of these types are shared, not copied: they cannot change.
_IMMUTABLE = (type(None), bool, int, float, str, bytes)


class NovaObjectRegistry(ovo_base.VersionedObjectRegistry):
    """The registry of Nova's objects; each registered class is also
    reachable as ``nova.objects.<Name>`` (its newest version)."""

    def registration_hook(self, cls, index):
        import nova.objects
        current = getattr(nova.objects, cls.obj_name(), None)
        if current is None or (
                versionutils.convert_version_to_tuple(cls.VERSION) >=
                versionutils.convert_version_to_tuple(current.VERSION)):
            setattr(nova.objects, cls.obj_name(), cls)


class NovaObject(ovo_base.VersionedObject):
    """Base of Nova's objects.

    Constructed with keywords, one per field (and by position for the
    fields named in ``POSITIONAL``). A field not given
    takes its default (as a dataclass would), so an object is never
    half-built; a keyword that is no field is a TypeError. Two objects
    are equal when they are of one class and their fields are.
    """

    OBJ_SERIAL_NAMESPACE = 'nova_object'
    OBJ_PROJECT_NAMESPACE = 'nova'

    # Fields that may also be given by position, in this order.
    POSITIONAL = ()

    def __init__(self, *args, **kwargs):
        if len(args) > len(self.POSITIONAL):
            raise TypeError('%s takes at most %d positional arguments' % (
                self.obj_name(), len(self.POSITIONAL)))
        for name, value in zip(self.POSITIONAL, args):
            if name in kwargs:
                raise TypeError('%s got %s twice' % (self.obj_name(), name))
            kwargs[name] = value
        unknown = set(kwargs) - set(self.fields)
        if unknown:
            raise TypeError('%s got unexpected keyword(s) %s' % (
                self.obj_name(), ', '.join(sorted(unknown))))
        super().__init__(**kwargs)
        self._set_defaults(kwargs)

    # {field name: callable}: the default of a field that is made anew
    # for each object (an object field's), where ``fields`` cannot say.
    DEFAULT_FACTORIES = {}

    def _set_defaults(self, given):
        """Every field not in ``given`` that has a default gets it.

        What ``obj_set_defaults`` does, for less: a default of an
        immutable type is not deep-copied, and nothing is checked twice
        (every RPC message builds and rebuilds objects: an Instance took
        more of an in-process console call than the rest of it).
        """
        for name, field in self.fields.items():
            if name in given:
                continue
            factory = self.DEFAULT_FACTORIES.get(name)
            if factory is not None:
                setattr(self, name, factory())
                continue
            default = field.default
            if default is ovo_fields.UnspecifiedDefault:
                continue
            if type(default) not in _IMMUTABLE:
                default = copy.deepcopy(default)
            setattr(self, name, default)

    @classmethod
    def _obj_from_primitive(cls, context, objver, primitive):
        """The object of ``primitive``'s fields, then the defaults of
        those it lacks; what oslo.versionedobjects gives (its
        ``cls()`` first, then the fields), without building defaults
        (a new uuid, a Flavor) that the primitive's values replace."""
        self = cls.__new__(cls)
        ovo_base.VersionedObject.__init__(self, context)
        self.VERSION = objver
        data = cls._obj_primitive_field(primitive, 'data')
        changes = cls._obj_primitive_field(primitive, 'changes', [])
        for name, field in self.fields.items():
            if name in data:
                setattr(self, name,
                        field.from_primitive(self, name, data[name]))
        self._set_defaults(data)
        self._changed_fields = {x for x in changes if x in self.fields}
        return self

    def obj_what_changed(self):
        """The fields changed, as oslo.versionedobjects says (a field
        whose object changed counts), each field's value read once
        (serializing an object asks this of it and of each of its
        objects twice)."""
        changes = {name for name in self._changed_fields
                   if name in self.fields}
        for name in self.fields:
            if name in changes:
                continue
            value = getattr(self, ovo_base._get_attrname(name), None)
            if (isinstance(value, ovo_base.VersionedObject) and
                    value.obj_what_changed()):
                changes.add(name)
        return changes

    def _field_values(self):
        return {name: getattr(self, name) for name in self.fields
                if self.obj_attr_is_set(name)}

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._field_values() == other._field_values()

    __hash__ = None  # mutable


class NovaObjectSerializer(ovo_base.VersionedObjectSerializer):
    """NovaObjects to primitives and back, inside any list, tuple or
    dict; anything else passes as it is."""

    OBJ_BASE_CLASS = NovaObject
