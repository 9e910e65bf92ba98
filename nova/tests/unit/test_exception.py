"""nova.exception: no message carries its class's label twice."""

import re
import sys

from oslo_messaging._drivers import common as driver_common
import testtools

from nova import exception
from nova import rpc


_FIELD_RE = re.compile(r'%\((\w+)\)([a-z])')


def _labelled_classes():
    """(class, label, its first field) of every NovaException whose
    msg_fmt starts with a label (ending ": " or ". ") then a field."""
    found = []
    pending = [exception.NovaException]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        prefix, sep, rest = cls.msg_fmt.partition('%(')
        if sep and prefix.endswith((': ', '. ')):
            found.append((cls, prefix, rest.partition(')')[0]))
    return found


def _make(cls, first, value):
    """``cls`` with ``first`` = value and every other field filled."""
    kwargs = {name: 3 if kind == 'd' else 'x'
              for name, kind in _FIELD_RE.findall(cls.msg_fmt)}
    kwargs[first] = value
    return cls(**kwargs)


class OwnLabelOnceTestCase(testtools.TestCase):
    def test_migration_pre_check_error_wrapping_its_own_kind(self):
        inner = exception.MigrationPreCheckError(reason='local disk')
        outer = exception.MigrationPreCheckError(reason=inner.message)
        self.assertEqual('Migration pre-check error: local disk',
                         outer.message)
        self.assertEqual(outer.message, str(outer))

    def test_every_labelled_class(self):
        classes = _labelled_classes()
        self.assertIn(exception.MigrationPreCheckError,
                      [cls for cls, _, _ in classes])
        for cls, label, first in classes:
            with self.subTest(cls=cls.__name__):
                inner = _make(cls, first, 'why')
                self.assertTrue(inner.message.startswith(label))
                # Twice and thrice wrapped: the label once.
                outer = _make(cls, first, _make(cls, first,
                                                inner.message).message)
                self.assertEqual(inner.message, outer.message)

    def test_across_rpc(self):
        # What a compute host's pre-check error looks like at the API,
        # and then wrapped there.
        try:
            raise exception.MigrationPreCheckError(reason='local disk')
        except exception.MigrationPreCheckError:
            wire = driver_common.serialize_remote_exception(sys.exc_info())
        back = driver_common.deserialize_remote_exception(
            wire, rpc.ALLOWED_EXMODS)
        wrapped = exception.MigrationPreCheckError(reason=back.message)
        self.assertEqual('Migration pre-check error: local disk',
                         wrapped.message)

    def test_a_word_is_no_label(self):
        # "Instance " starts the message but is no label: an id that
        # starts with it is quoted whole.
        e = exception.InstanceNotFound(instance_id='Instance 1')
        self.assertEqual('Instance Instance 1 could not be found.',
                         e.message)

    def test_an_explicit_message_is_kept(self):
        text = 'Migration pre-check error: Migration pre-check error: x'
        self.assertEqual(text,
                         exception.MigrationPreCheckError(text).message)
