"""A shelved instance's console log on its way through the conductor.

The offloading compute host reads the guest's log chain (oldest file
first) and sends it to the conductor as a ``ShelvedConsoleLog``; the
conductor keeps it in the database while the instance has no host and
sends the same object to the host that unshelves it, which writes it
back (nova.virt.libvirt.shelve_log).

The bytes travel zlib-compressed and base64-encoded in ``data`` (RPC
carries JSON text; a console log full of escape sequences would grow six
times as latin-1 JSON, and compresses well). Whoever sent it is not
trusted: ``files`` must be the log's own names (``console.log`` or
``console.log.N``), ``sizes`` add up to at most MAX_LOG_BYTES, and
:meth:`ShelvedConsoleLog.contents` never inflates past that sum.
"""

import base64
import binascii
import re
import zlib

from nova.objects import base
from nova.objects import fields

CONSOLE_LOG_NAME = 'console.log'
_NAME = re.compile(r'\Aconsole\.log(\.(0|[1-9][0-9]{0,3}))?\Z')
# Above any virtlogd retention an operator would configure (its default
# is 2 MiB x 4 files); a message past it is refused, whoever sent it.
MAX_LOG_BYTES = 256 * 1024 * 1024


class BadConsoleLog(ValueError):
    """The object does not hold a console log as this module writes."""


def _is_names(value):
    return (isinstance(value, list) and
            all(isinstance(n, str) and _NAME.match(n) for n in value) and
            len(set(value)) == len(value))


def _is_sizes(value):
    return (isinstance(value, list) and
            all(fields.is_int(n) and n >= 0 for n in value) and
            sum(value) <= MAX_LOG_BYTES)


def _bad(attr, value):
    return ValueError('ShelvedConsoleLog.%s: not a console log %s (%r)' % (
        attr, 'file list' if attr == 'files' else 'size list',
        str(value)[:80]))


@base.NovaObjectRegistry.register
class ShelvedConsoleLog(base.NovaObject):
    """``files``: the log's names, oldest first; ``sizes``: their sizes
    in bytes; ``data``: their bytes one after the other, compressed (see
    the module); ``truncated``: older bytes were dropped to keep the
    bound; ``virtlogd``: the files were virtlogd's rotated chain (False:
    an older host's plain console.log)."""

    # Version 1.0: files, sizes, data, truncated, virtlogd
    VERSION = '1.0'

    fields = {
        'files': fields.StrictField(_is_names, _bad, nullable=False,
                                    default=[]),
        'sizes': fields.StrictField(_is_sizes, _bad, nullable=False,
                                    default=[]),
        'data': fields.StringField(default=''),
        'truncated': fields.BooleanField(default=False),
        'virtlogd': fields.BooleanField(default=True),
    }

    @classmethod
    def from_files(cls, files, truncated=False, virtlogd=True):
        """From ``[(name, bytes), ...]``, oldest first."""
        blob = b''.join(data for _name, data in files)
        return cls(files=[name for name, _data in files],
                   sizes=[len(data) for _name, data in files],
                   data=base64.b64encode(zlib.compress(blob, 6)).decode(
                       'ascii'),
                   truncated=truncated, virtlogd=virtlogd)

    @property
    def total(self):
        return sum(self.sizes)

    def contents(self):
        """``[(name, bytes), ...]`` oldest first.

        :raises BadConsoleLog: names and sizes that do not match, data
            that is not what the sizes say.
        """
        if len(self.files) != len(self.sizes):
            raise BadConsoleLog('%d file names but %d sizes' % (
                len(self.files), len(self.sizes)))
        total = self.total
        try:
            packed = base64.b64decode(self.data.encode('ascii'),
                                      validate=True)
            inflater = zlib.decompressobj()
            # Never more than the sizes announce: a small message must
            # not inflate into gigabytes on the receiving host.
            blob = inflater.decompress(packed, total + 1)
        except (binascii.Error, ValueError, UnicodeEncodeError,
                zlib.error) as e:
            raise BadConsoleLog('its data cannot be decoded: %s' % e)
        if len(blob) != total or not inflater.eof:
            raise BadConsoleLog('its data is not the %d bytes its sizes '
                                'announce' % total)
        files, offset = [], 0
        for name, size in zip(self.files, self.sizes):
            files.append((name, blob[offset:offset + size]))
            offset += size
        return files

    def history(self):
        """All its bytes, oldest first (the files concatenated)."""
        return b''.join(data for _name, data in self.contents())
