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

from oslo_utils import versionutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields as ovo_fields


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
        for name, field in self.fields.items():
            if (name not in kwargs and
                    field.default is not ovo_fields.UnspecifiedDefault):
                self.obj_set_defaults(name)

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
