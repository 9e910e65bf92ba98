"""Field types of Nova's objects beyond oslo.versionedobjects' own.

oslo's fields coerce (``'3'`` becomes 3, ``42`` becomes ``'42'``). Data
from another host is untrusted, so :class:`StrictField` does not: a
value of the wrong type is refused with the error its object names,
both when an object is built and when one arrives over RPC (the
serializer sets every field, and so checks it, before any code sees it).
"""

from oslo_versionedobjects import fields as ovo_fields

# Re-exported, so object modules import their fields from one place.
BooleanField = ovo_fields.BooleanField
IntegerField = ovo_fields.IntegerField
ListOfStringsField = ovo_fields.ListOfStringsField
ObjectField = ovo_fields.ObjectField
StringField = ovo_fields.StringField


class _JSONDict(ovo_fields.FieldType):
    """A dict with str keys whose values pass as JSON has them (image
    properties and flavor extra specs hold strings, numbers and booleans
    that their readers check)."""

    def coerce(self, obj, attr, value):
        if not isinstance(value, dict) or not all(
                isinstance(k, str) for k in value):
            raise ValueError('%s.%s: a dict with str keys, not %r' % (
                obj.obj_name(), attr, type(value).__name__))
        return dict(value)

    def to_primitive(self, obj, attr, value):
        return dict(value)

    def from_primitive(self, obj, attr, value):
        return dict(value)


class JSONDictField(ovo_fields.AutoTypedField):
    AUTO_TYPE = _JSONDict()


class StrictField(ovo_fields.Field):
    """A field that takes a value only if ``check(value)`` is true, and
    otherwise raises ``error(attr, value)``; None when ``nullable``.

    The default is used only when the field is not given at all (not
    when it is given as None, unlike oslo's fields).
    """

    def __init__(self, check, error, nullable=True,
                 default=ovo_fields.UnspecifiedDefault):
        super().__init__(ovo_fields.FieldType(), nullable=nullable,
                         default=default)
        self._check = check
        self._error = error

    def coerce(self, obj, attr, value):
        if value is None and self.nullable:
            return None
        if not self._check(value):
            raise self._error(attr, value)
        return value

    def from_primitive(self, obj, attr, value):
        # No shortcut for None: coerce decides (a non-nullable field
        # must not be left unset by a peer that sends null).
        return value


def is_int(value):
    """An int, and not a bool (True is an int in Python)."""
    return isinstance(value, int) and not isinstance(value, bool)
