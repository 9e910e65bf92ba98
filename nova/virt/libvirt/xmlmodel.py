"""Declare an XML element's attributes once; parse and format follow.

Nova's config classes write ``format_dom`` and ``parse_dom`` by hand, and
the two drift apart (upstream never parses char devices at all). Here each
class declares its fields, typed, in XML order::

    class LibvirtConfigGuestCharDeviceLog(LibvirtConfigObject):
        root_name = 'log'
        file = Attr('file')
        append = Attr('append', type=OnOff)

and both directions are derived from that. Three rules matter:

* Round trip: an object parsed from XML keeps the element it came from and
  formats by editing a copy of it, so whatever the class does not model
  (libvirt's ``<alias>``, ``<model>``, ``tls='no'``, a device we have no
  class for) comes back unchanged. That is what a migration XML rewrite or
  a parse of ``virsh dumpxml`` output needs.
* Order: a sub-element we create is inserted where the declaration order
  says, relative to the siblings already there; declaration order is
  libvirt's element order.
* Defaults (``default=``) fill in fields of objects built in code, never of
  parsed ones: a parsed ``<source>`` without ``mode`` means libvirt's
  default and must stay that way.

Config classes make no policy decisions; the driver does.
"""

import copy

from lxml import etree


class XMLModelError(ValueError):
    """XML that does not fit the declared model (names element and value)."""


# -- value types ------------------------------------------------------------

class Str:
    name = 'str'

    @staticmethod
    def check(value):
        return isinstance(value, str)

    @staticmethod
    def parse(text):
        return text

    @staticmethod
    def format(value):
        return value


class Int:
    name = 'int'

    @staticmethod
    def check(value):
        return isinstance(value, int) and not isinstance(value, bool)

    @staticmethod
    def parse(text):
        return int(text)

    @staticmethod
    def format(value):
        return str(value)


class _Switch:
    """A bool written as a pair of words ("on"/"off", "yes"/"no")."""

    def __init__(self, true, false):
        self.words = {True: true, False: false}
        self.name = 'bool (%s/%s)' % (true, false)

    @staticmethod
    def check(value):
        return isinstance(value, bool)

    def parse(self, text):
        for value, word in self.words.items():
            if text == word:
                return value
        raise ValueError('expected %r or %r' % (self.words[True],
                                                self.words[False]))

    def format(self, value):
        return self.words[value]


OnOff = _Switch('on', 'off')
YesNo = _Switch('yes', 'no')


# -- fields -----------------------------------------------------------------

class _Field:
    """A descriptor for one modelled piece of an element.

    ``at`` is the tuple of sub-element tags, from the object's root
    element, where the piece lives: ``Attr('host', at=('source',))`` is
    ``<source host="..."/>``.
    """

    def __init__(self, at=(), default=None):
        self.at = tuple(at)
        self._default = default

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj._values.get(self.name)
        if value is None and not obj.parsed:
            value = self.default_for(obj)
        return value

    def __set__(self, obj, value):
        if value is not None:
            self.check(obj, value)
        obj._values[self.name] = value

    def default_for(self, obj):
        if callable(self._default):
            return self._default(obj)
        return self._default

    def check(self, obj, value):
        raise NotImplementedError

    def tags(self):
        """Tags this field contributes, as (parent path, tag) pairs."""
        return [(self.at[:i], tag) for i, tag in enumerate(self.at)]

    def _type_error(self, obj, value, expected):
        return TypeError('%s.%s must be %s, not %r' % (
            type(obj).__name__, self.name, expected, value))


class _Scalar(_Field):
    def __init__(self, at=(), type=Str, default=None):
        super().__init__(at=at, default=default)
        self.type = type

    def check(self, obj, value):
        if not self.type.check(value):
            raise self._type_error(obj, value, self.type.name)

    def _parse(self, elem, text, where):
        try:
            return self.type.parse(text)
        except ValueError as e:
            raise XMLModelError('<%s> %s=%r is not a valid %s: %s' % (
                elem.tag, where, text, self.type.name, e))


class Attr(_Scalar):
    """An XML attribute, on the root element or on a sub-element."""

    def __init__(self, attr, at=(), type=Str, default=None):
        super().__init__(at=at, type=type, default=default)
        self.attr = attr

    def read(self, obj, root):
        elem = _find(root, self.at)
        text = None if elem is None else elem.get(self.attr)
        value = None if text is None else self._parse(elem, text, self.attr)
        obj._values[self.name] = value

    def write(self, obj, root):
        value = self.__get__(obj)
        if value is None:
            elem = _find(root, self.at)
            if elem is not None and self.attr in elem.attrib:
                del elem.attrib[self.attr]
                _prune(root, self.at)
            return
        elem = _find_or_create(root, self.at, type(obj))
        elem.set(self.attr, self.type.format(value))


class Text(_Scalar):
    """The text of a sub-element, e.g. ``<name>guest</name>``."""

    def __init__(self, at, type=Str, default=None):
        if not at:
            raise ValueError('Text fields need a sub-element path')
        super().__init__(at=at, type=type, default=default)

    def read(self, obj, root):
        elem = _find(root, self.at)
        text = None if elem is None else elem.text
        value = None if text is None else self._parse(elem, text, 'text')
        obj._values[self.name] = value

    def write(self, obj, root):
        value = self.__get__(obj)
        if value is None:
            elem = _find(root, self.at)
            if elem is not None and elem.text is not None:
                elem.text = None
                _prune(root, self.at)
            return
        _find_or_create(root, self.at, type(obj)).text = (
            self.type.format(value))


class Child(_Field):
    """One sub-element modelled by its own config class, or None."""

    def __init__(self, cls, at=()):
        super().__init__(at=at)
        self.cls = cls

    def tags(self):
        return super().tags() + [(self.at, self.cls.root_name)]

    def check(self, obj, value):
        if not isinstance(value, self.cls):
            raise self._type_error(obj, value, self.cls.__name__)

    def read(self, obj, root):
        parent = _find(root, self.at)
        elem = None if parent is None else parent.find(self.cls.root_name)
        value = None
        if elem is not None:
            value = self.cls()
            value.parse_dom(elem)
        obj._values[self.name] = value

    def write(self, obj, root):
        value = self.__get__(obj)
        parent = _find(root, self.at)
        old = None if parent is None else parent.find(self.cls.root_name)
        if value is None:
            if old is not None:
                parent.remove(old)
                _prune(root, self.at)
            return
        new = value.format_dom()
        if old is not None:
            old.getparent().replace(old, new)
        else:
            parent = _find_or_create(root, self.at, type(obj))
            _insert_ordered(parent, new, type(obj), self.at)


class Children(_Field):
    """Every sub-element of a container, as a list of config objects.

    ``classes`` maps a tag (and optionally a ``type`` attribute) to a
    class; anything else is kept as a :class:`LibvirtConfigRawElement`, so
    a parse/format round trip never drops a device we do not model.
    """

    def __init__(self, at, classes):
        if not at:
            raise ValueError('Children fields need a container path')
        super().__init__(at=at, default=list)
        self.classes = classes

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        if obj._values.get(self.name) is None:
            obj._values[self.name] = []
        return obj._values[self.name]

    def check(self, obj, value):
        if not isinstance(value, list):
            raise self._type_error(obj, value, 'a list')

    def read(self, obj, root):
        items = []
        container = _find(root, self.at)
        for elem in ([] if container is None else container):
            if not isinstance(elem.tag, str):
                continue  # comments, processing instructions
            cls = self.classes.get(elem.tag, LibvirtConfigRawElement)
            item = cls()
            item.parse_dom(elem)
            items.append(item)
        obj._values[self.name] = items

    def write(self, obj, root):
        items = self.__get__(obj)
        container = _find(root, self.at)
        if container is None:
            if not items:
                return
            container = _find_or_create(root, self.at, type(obj))
        for elem in list(container):
            container.remove(elem)
        for item in items:
            if not isinstance(item, LibvirtConfigObject):
                raise TypeError('%s.%s holds %r, not a config object' % (
                    type(obj).__name__, self.name, item))
            container.append(item.format_dom())


# -- tree helpers -----------------------------------------------------------

def _find(root, path):
    elem = root
    for tag in path:
        elem = elem.find(tag)
        if elem is None:
            return None
    return elem


def _find_or_create(root, path, cls):
    elem = root
    for i, tag in enumerate(path):
        child = elem.find(tag)
        if child is None:
            child = etree.Element(tag)
            _insert_ordered(elem, child, cls, path[:i])
        elem = child
    return elem


def _insert_ordered(parent, new, cls, parent_path):
    """Insert ``new`` before the first sibling declared after its tag."""
    order = cls._tag_order.get(parent_path, ())
    if new.tag not in order:
        parent.append(new)
        return
    rank = order.index(new.tag)
    for sibling in parent:
        if sibling.tag in order and order.index(sibling.tag) > rank:
            sibling.addprevious(new)
            return
    parent.append(new)


def _is_empty(elem):
    return not elem.attrib and len(elem) == 0 and not (elem.text or '').strip()


def _prune(root, path):
    """Drop elements on ``path`` that our own removal left empty."""
    for depth in range(len(path), 0, -1):
        elem = _find(root, path[:depth])
        if elem is None or not _is_empty(elem):
            return
        elem.getparent().remove(elem)


def _strip_blank_text(root):
    for elem in root.iter():
        if elem.text is not None and not elem.text.strip() and len(elem):
            elem.text = None
        if elem.tail is not None and not elem.tail.strip():
            elem.tail = None


# -- the base class ---------------------------------------------------------

class LibvirtConfigObject:
    """Base of every config class: holds values, parses, formats."""

    root_name = None
    _fields = ()
    _tag_order = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fields = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, _Field):
                    fields.pop(name, None)
                    fields[name] = value
        cls._fields = tuple(fields.values())
        order = {}
        for field in cls._fields:
            for parent_path, tag in field.tags():
                tags = order.setdefault(parent_path, [])
                if tag not in tags:
                    tags.append(tag)
        cls._tag_order = {k: tuple(v) for k, v in order.items()}

    def __init__(self, **kwargs):
        self._values = {}
        self._origin = None
        names = {field.name for field in self._fields}
        for name, value in kwargs.items():
            if name not in names:
                raise TypeError('%s has no field %r' % (
                    type(self).__name__, name))
            setattr(self, name, value)

    @property
    def parsed(self):
        """True when this object came from XML (defaults do not apply)."""
        return self._origin is not None

    def parse_dom(self, xmldoc):
        if xmldoc.tag != self.root_name and self.root_name is not None:
            raise XMLModelError('expected <%s>, got <%s>' % (
                self.root_name, xmldoc.tag))
        self._origin = copy.deepcopy(xmldoc)
        self._origin.tail = None
        for field in self._fields:
            field.read(self, xmldoc)

    def parse_str(self, xmlstr):
        parser = etree.XMLParser(remove_blank_text=True)
        if isinstance(xmlstr, str):
            xmlstr = xmlstr.encode('utf-8')
        try:
            root = etree.fromstring(xmlstr, parser)
        except etree.XMLSyntaxError as e:
            raise XMLModelError('not well-formed XML: %s' % e)
        self.parse_dom(root)

    @classmethod
    def from_xml(cls, xmlstr):
        obj = cls()
        obj.parse_str(xmlstr)
        return obj

    def format_dom(self):
        if self._origin is not None:
            root = copy.deepcopy(self._origin)
        else:
            root = etree.Element(self.root_name)
        for field in self._fields:
            field.write(self, root)
        return root

    def to_xml(self, pretty_print=True):
        root = self.format_dom()
        _strip_blank_text(root)
        return etree.tostring(root, encoding='unicode',
                              pretty_print=pretty_print)

    def __repr__(self):
        values = ', '.join('%s=%r' % (f.name, getattr(self, f.name))
                           for f in self._fields
                           if getattr(self, f.name) not in (None, []))
        return '%s(%s)' % (type(self).__name__, values)


class LibvirtConfigRawElement(LibvirtConfigObject):
    """An element we do not model, carried through unchanged."""

    def __init__(self, element=None):
        super().__init__()
        if element is not None:
            self.parse_dom(element)

    @property
    def root_name(self):
        return None if self._origin is None else self._origin.tag

    def format_dom(self):
        return copy.deepcopy(self._origin)
