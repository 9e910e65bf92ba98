"""nova-serialproxy's web serial terminal: a few fixed files, nothing else.

A plain HTTP ``GET`` or ``HEAD`` (no websocket upgrade) of one of the paths
in :data:`FILES` gets that file from ``[serial_console] web_root``; any
other path gets 404, any other known method 405 (``Allow: GET, HEAD``),
and an unknown method http.server's 501. No folder is listed and no path
is ever built from the request: the map below is the whole namespace, so
``..``, ``%2e``, ``//`` and the like simply do not match.

Opening a file (:func:`open_file`): the web root is opened with
``O_DIRECTORY | O_NOFOLLOW`` and checked (owned by root or by this
process's user, not writable by others nor by a group other than root's
or this process's: whoever can write there can
serve script to every console user and read their tokens); then each
folder below it and the file itself are opened relative to the folder
above with ``O_NOFOLLOW`` and the same check, so no symbolic link is
followed anywhere below the web root (a link, a FIFO or a device is a
404). Files are read whole (at most ``MAX_FILE_BYTES``) before the answer
starts, so an answer never mixes two versions of a file being replaced.

These requests come through the same acceptor as websockets: its
handshake deadline and connection caps apply, and the connection is
closed after one answer (``Connection: close``), so a kept-alive
connection cannot hold a thread past its request.

Every answer carries:

* ``Content-Security-Policy``: scripts from the proxy only (no inline
  script, no ``eval``), websockets to the proxy only (``'self'`` and the
  host of ``[serial_console] base_url``), no frames, no forms, no plugins.
  Styles are ``'self' 'unsafe-inline'``: xterm.js sizes and colours its
  cells with ``<style>`` elements it creates at run time (xterm 6 has no
  nonce option), and the page puts console output only into xterm's text
  nodes, never into markup;
* ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``;
* ``Referrer-Policy: no-referrer``: the page's URL holds the token;
* ``Cache-Control: no-store`` for the page (its URL holds the token),
  ``no-cache`` with an ``ETag`` for the rest, so an upgraded script is
  fetched at once and an unchanged one answers 304.
"""

import hashlib
import os
import stat
import urllib.parse

from oslo_log import log as logging

from nova.console import logtext

LOG = logging.getLogger(__name__)

_HTML = 'text/html; charset=utf-8'
_JS = 'text/javascript; charset=utf-8'
_CSS = 'text/css; charset=utf-8'
_XTERM = 'vendor/node_modules/@xterm/'

# URL path -> (path below web_root, Content-Type). The whole namespace.
FILES = {
    '/': ('console.html', _HTML),
    '/console.html': ('console.html', _HTML),
    '/console.js': ('console.js', _JS),
    '/console.css': ('console.css', _CSS),
    '/vendor/xterm.js': (_XTERM + 'xterm/lib/xterm.js', _JS),
    '/vendor/xterm.css': (_XTERM + 'xterm/css/xterm.css', _CSS),
    '/vendor/addon-fit.js': (_XTERM + 'addon-fit/lib/addon-fit.js', _JS),
}
# xterm.js is about 0.5 MiB: anything much bigger is not one of ours.
MAX_FILE_BYTES = 4 * 1024 * 1024
ALLOW = 'GET, HEAD'

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO put in place of a file must not hang the thread.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class Refused(Exception):
    """A file cannot be served; the message says why (for the log)."""


def _check(fd, what, kind):
    st = os.fstat(fd)
    if stat.S_IFMT(st.st_mode) != kind:
        raise Refused('%s is not a %s' % (
            what, 'folder' if kind == stat.S_IFDIR else 'regular file'))
    if st.st_uid not in (0, os.geteuid()):
        raise Refused('%s is owned by uid %d, neither root nor this '
                      'process' % (what, st.st_uid))
    if st.st_mode & stat.S_IWOTH:
        raise Refused('%s is writable by every user' % what)
    # Every member of a group that may write here could plant script in
    # the page, which reads the console token from its URL.
    if st.st_mode & stat.S_IWGRP and st.st_gid not in (0, os.getegid()):
        raise Refused('%s is writable by group gid %d, neither root\'s '
                      'nor this process\'s' % (what, st.st_gid))
    return st


def open_file(web_root, relpath):
    """``(bytes, os.stat_result)`` of ``relpath`` below ``web_root``.

    ``relpath``: '/'-separated names, none empty, '.' or '..'. Raises
    ``Refused`` naming the problem (a symbolic link, a missing file, a
    file too big, a bad owner or mode...), never follows a link below
    ``web_root`` and never blocks on a FIFO.
    """
    names = relpath.split('/')
    if any(name in ('', '.', '..') for name in names):
        raise Refused('bad path %r' % relpath)
    if not os.path.isabs(web_root or ''):
        raise Refused('[serial_console] web_root %r is not an absolute '
                      'path' % web_root)
    fds = []
    try:
        try:
            fds.append(os.open(web_root, _DIR_FLAGS))
        except OSError as e:
            raise Refused('[serial_console] web_root %s: %s'
                          % (web_root, e.strerror))
        _check(fds[-1], 'web_root %s' % web_root, stat.S_IFDIR)
        where = web_root
        for name in names[:-1]:
            where += '/' + name
            try:
                fds.append(os.open(name, _DIR_FLAGS, dir_fd=fds[-1]))
            except OSError as e:
                raise Refused('%s: %s' % (where, e.strerror))
            _check(fds[-1], where, stat.S_IFDIR)
        where += '/' + names[-1]
        try:
            fds.append(os.open(names[-1], _FILE_FLAGS, dir_fd=fds[-1]))
        except OSError as e:
            raise Refused('%s: %s' % (where, e.strerror))
        st = _check(fds[-1], where, stat.S_IFREG)
        if st.st_size > MAX_FILE_BYTES:
            raise Refused('%s is over %d bytes' % (where, MAX_FILE_BYTES))
        try:
            with os.fdopen(fds.pop(), 'rb') as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as e:
            raise Refused('%s: %s' % (where, e.strerror))
        if len(data) > MAX_FILE_BYTES:
            raise Refused('%s is over %d bytes' % (where, MAX_FILE_BYTES))
        return data, st
    finally:
        for fd in fds:
            os.close(fd)


def content_security_policy(base_url):
    """The CSP header value for a proxy whose public URL is ``base_url``."""
    connect = ["'self'"]
    try:
        url = urllib.parse.urlsplit(base_url or '')
        if url.scheme in ('ws', 'wss') and url.netloc:
            # Only the host[:port] part: no path, user or query.
            connect.append('%s://%s' % (url.scheme,
                                        url.netloc.rpartition('@')[2]))
    except ValueError:
        pass
    return ("default-src 'none'; script-src 'self'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self'; connect-src %s; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"
            % ' '.join(connect))


class StaticFilesMixin:
    """``do_GET``/``do_HEAD`` for a ``BaseHTTPRequestHandler`` whose
    ``server.conf`` is nova's config; websockify calls ``do_GET`` only
    for requests without ``Upgrade: websocket``."""

    def do_GET(self):
        self._serve_file(send_body=True)

    def do_HEAD(self):
        self._serve_file(send_body=False)

    def _method_not_allowed(self):
        self._answer(405, 'text/plain; charset=utf-8',
                     b'Only GET and HEAD are served here\n', True,
                     {'Allow': ALLOW})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = \
        _method_not_allowed

    def _serve_file(self, send_body):
        path = self.path.split('?', 1)[0].split('#', 1)[0]
        entry = FILES.get(path)
        if entry is None:
            return self._not_found(send_body)
        relpath, content_type = entry
        try:
            data, _ = open_file(self.server.conf.serial_console.web_root,
                                relpath)
        except Refused as e:
            # The operator's to fix, but any client can ask again and
            # again: each at debug level, a warning a minute.
            LOG.debug('%s: cannot serve %s: %s', self.client_address[0],
                      logtext.safe(path), e)
            self.server.acceptor.log_limited(
                'web-root', 'cannot serve the web console\'s %s: %s (run '
                'tools/install-web-console.sh)', logtext.safe(path), e)
            return self._not_found(send_body)
        extra = {}
        if relpath == 'console.html':
            extra['Cache-Control'] = 'no-store'
        else:
            etag = '"%s"' % hashlib.sha256(data).hexdigest()[:32]
            extra['ETag'] = etag
            extra['Cache-Control'] = 'no-cache'
            if etag in (self.headers.get('If-None-Match') or ''):
                return self._answer(304, None, b'', False, extra)
        self._answer(200, content_type, data, send_body, extra)

    def _not_found(self, send_body):
        self._answer(404, 'text/plain; charset=utf-8', b'Not found\n',
                     send_body)

    def _answer(self, code, content_type, body, send_body, extra=None):
        self.close_connection = True
        self.send_response(code)
        headers = {
            'Content-Security-Policy': content_security_policy(
                self.server.conf.serial_console.base_url),
            'X-Content-Type-Options': 'nosniff',
            'X-Frame-Options': 'DENY',
            'Referrer-Policy': 'no-referrer',
            'Cache-Control': 'no-store',
            'Connection': 'close',
        }
        if content_type:
            headers['Content-Type'] = content_type
        if code != 304:
            headers['Content-Length'] = str(len(body))
        headers.update(extra or {})
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)
