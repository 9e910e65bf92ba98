/* nova-serialproxy's web serial terminal.
 *
 * This page is /console.html?token=<console token> on nova-serialproxy
 * itself. It opens ws(s)://<this page's host:port>/?token=..&history=N
 * (sub-protocol "binary") and shows, in xterm.js:
 *
 * - with a proxy that sends history: a text frame first,
 *   {"nova_console": {"mode": "interactive"|"read-only",
 *   "instance_uuid": ..., "history_bytes": ...}}, then binary frames of
 *   console bytes (history first), {"nova_console": {"live": true}} where
 *   live output begins, {"nova_console": {"gap": true}} where bytes may
 *   be missing. "read-only" (a viewer token) shows the badge and sends
 *   nothing; otherwise keystrokes go as binary frames;
 * - with a plain serial console (no text frame ever): raw bytes both
 *   ways, as any websocket client gets them.
 *
 * Resuming: the newest TAIL_BYTES bytes shown are kept in sessionStorage
 * (this tab only) under the instance's uuid. When this tab opens a
 * console again (a new URL after a migration, a reload, the Reconnect
 * button), they go as after=<base64url> and the proxy sends only what
 * follows them, so the output goes on with no gap and no repeat. The
 * uuid is only known from the first text frame, so the page guesses the
 * tab's last instance; when the frame names another one it reconnects
 * without after=.
 *
 * The close code and reason are shown in the bar. No inline script or
 * style anywhere: the proxy's Content-Security-Policy forbids them.
 */
(function () {
  'use strict';

  // console_log.MAX_CONSOLE_BYTES: as much as the proxy keeps.
  var HISTORY_BYTES = 102400;
  // The proxy's limit for after=.
  var TAIL_BYTES = 1024;
  // Bytes of input per websocket message (see send()).
  var PIECE_BYTES = 4096;
  var STORE_PREFIX = 'nova-console:';
  var LAST_KEY = STORE_PREFIX + 'last-instance';
  // A plain serial console sends nothing unasked: input typed before the
  // first frame waits this long for a mode frame, then goes.
  var MODE_WAIT_MS = 1000;
  var SAVE_DELAY_MS = 250;
  // The proxy's close code when the guest's port has an interactive
  // session already. Right after a reload or a new URL in this tab that
  // session is usually this tab's own, still closing: one more try.
  var BUSY = 4409;
  var BUSY_RETRY_MS = 1500;

  var statusEl = document.getElementById('status');
  var badgeEl = document.getElementById('badge');
  var reconnectEl = document.getElementById('reconnect');
  var token = new URLSearchParams(window.location.search).get('token');
  var encoder = new TextEncoder();
  var term = new Terminal({
    cursorBlink: true,
    scrollback: 10000,
    fontSize: 14,
    fontFamily: 'monospace',
  });
  var fit = new FitAddon.FitAddon();
  var state = null;  // the current connection's

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = kind || '';
  }

  function b64urlEncode(bytes) {
    var text = '';
    for (var i = 0; i < bytes.length; i++) {
      text += String.fromCharCode(bytes[i]);
    }
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_')
      .replace(/=+$/, '');
  }

  function b64urlDecode(text) {
    try {
      var raw = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    } catch (e) {
      return null;
    }
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  // sessionStorage may be off (privacy settings): resuming is then off.
  function storeGet(key) {
    try {
      return window.sessionStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function storeSet(key, value) {
    try {
      window.sessionStorage.setItem(key, value);
    } catch (e) {
      // Full or off: the next console starts with its whole history.
    }
  }

  function storedTail(uuid) {
    var text = uuid && storeGet(STORE_PREFIX + uuid);
    var bytes = text ? b64urlDecode(text) : null;
    return bytes && bytes.length && bytes.length <= TAIL_BYTES ? bytes : null;
  }

  function saveTail(conn) {
    conn.saveTimer = null;
    if (conn.uuid && conn.tail.length) {
      storeSet(STORE_PREFIX + conn.uuid, b64urlEncode(conn.tail));
      storeSet(LAST_KEY, conn.uuid);
    }
  }

  function keepTail(conn, bytes) {
    if (bytes.length >= TAIL_BYTES) {
      conn.tail = bytes.slice(bytes.length - TAIL_BYTES);
    } else {
      var keep = Math.min(conn.tail.length, TAIL_BYTES - bytes.length);
      var tail = new Uint8Array(keep + bytes.length);
      tail.set(conn.tail.subarray(conn.tail.length - keep));
      tail.set(bytes, keep);
      conn.tail = tail;
    }
    if (!conn.saveTimer) {
      conn.saveTimer = window.setTimeout(saveTail, SAVE_DELAY_MS, conn);
    }
  }

  function showMode(conn) {
    var readOnly = conn.mode === 'read-only';
    badgeEl.hidden = !readOnly;
    term.options.disableStdin = readOnly;
    var what = readOnly ? 'Read-only viewer' :
      conn.mode === 'interactive' ? 'Interactive' : 'Interactive (no history)';
    setStatus(what + (conn.uuid ? ' \u2014 instance ' + conn.uuid : '') +
              (conn.live ? ' \u2014 live' : conn.mode ? ' \u2014 history' : ''),
              conn.live || !conn.uuid ? 'live' : '');
  }

  // The first frame decides the mode; input typed before it goes now.
  function decided(conn) {
    window.clearTimeout(conn.modeTimer);
    conn.decided = true;
    var pending = conn.pending;
    conn.pending = [];
    pending.forEach(function (bytes) { send(conn, bytes); });
  }

  function send(conn, bytes) {
    if (conn !== state || conn.ws.readyState !== WebSocket.OPEN) {
      return;
    }
    if (!conn.decided) {
      conn.pending.push(bytes);
    } else if (conn.mode !== 'read-only') {
      // The proxy closes a message over [serial_console]
      // max_message_bytes (4 KiB at least): a paste goes in pieces.
      for (var i = 0; i < bytes.length; i += PIECE_BYTES) {
        conn.ws.send(bytes.subarray(i, i + PIECE_BYTES));
      }
    }
  }

  function onText(conn, text) {
    var msg;
    try {
      msg = JSON.parse(text).nova_console;
    } catch (e) {
      return;
    }
    if (!msg) {
      return;
    }
    if (msg.mode) {
      if (conn.guess && msg.instance_uuid !== conn.guess) {
        // after= came from another instance's console: start again
        // without it, dropping whatever this connection sends.
        conn.dropped = true;
        conn.ws.close(1000, 'resuming another instance');
        connect(null, false);
        return;
      }
      conn.mode = msg.mode;
      conn.uuid = msg.instance_uuid || null;
      if (conn.restore) {
        // A new page resuming: show what the tab last showed first.
        term.write(conn.restore);
        conn.tail = conn.restore;
      }
      showMode(conn);
      decided(conn);
    }
    if (msg.gap) {
      term.write('\r\n\x1b[2m[some console output may be missing here]' +
                 '\x1b[0m\r\n');
    }
    if (msg.live) {
      conn.live = true;
      showMode(conn);
    }
  }

  function onBinary(conn, bytes) {
    if (!conn.decided) {
      // No mode frame first: a plain serial console.
      showMode(conn);
      decided(conn);
    }
    term.write(bytes);
    if (conn.uuid) {
      keepTail(conn, bytes);
    }
  }

  function onClose(conn, event) {
    window.clearTimeout(conn.modeTimer);
    if (conn.saveTimer) {
      window.clearTimeout(conn.saveTimer);
      saveTail(conn);
    }
    if (conn.dropped || conn !== state) {
      return;
    }
    if (event.code === BUSY && conn.busyRetries > 0) {
      setStatus('Waiting for the previous session to end\u2026');
      window.setTimeout(connect, BUSY_RETRY_MS, conn.resume, conn.restoreTail,
                        conn.busyRetries - 1);
      return;
    }
    conn.closed = {code: event.code, reason: event.reason};
    term.options.disableStdin = true;
    setStatus('Closed (' + event.code + ')' +
              (event.reason ? ': ' + event.reason :
               event.code === 1006 ? ': the connection was lost' : ''),
              'closed');
    reconnectEl.hidden = false;
  }

  // Open a websocket. ``resume``: {uuid, tail} to send as after=, or
  // null; ``restore``: whether the tail is to be shown first (a new page
  // has an empty screen; the Reconnect button's still shows it);
  // ``busyRetries``: tries left after a BUSY close (default 1).
  function connect(resume, restore, busyRetries) {
    var scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
    var url = scheme + window.location.host + '/?token=' +
      encodeURIComponent(token) + '&history=' + HISTORY_BYTES;
    if (resume) {
      url += '&after=' + b64urlEncode(resume.tail);
    }
    var conn = {
      ws: null, mode: null, uuid: null, live: false, decided: false,
      pending: [], tail: new Uint8Array(0), saveTimer: null,
      modeTimer: null, closed: null, dropped: false,
      guess: resume ? resume.uuid : null,
      restore: resume && restore ? resume.tail : null,
      resume: resume, restoreTail: restore,
      busyRetries: busyRetries === undefined ? 1 : busyRetries,
    };
    state = conn;
    reconnectEl.hidden = true;
    badgeEl.hidden = true;
    setStatus('Connecting\u2026');
    conn.ws = new WebSocket(url, ['binary']);
    conn.ws.binaryType = 'arraybuffer';
    conn.ws.onopen = function () {
      if (conn === state) {
        setStatus('Connected');
        conn.modeTimer = window.setTimeout(function () {
          if (!conn.decided) {
            showMode(conn);
            decided(conn);
          }
        }, MODE_WAIT_MS);
      }
    };
    conn.ws.onmessage = function (event) {
      if (conn.dropped || conn !== state) {
        return;
      }
      if (typeof event.data === 'string') {
        onText(conn, event.data);
      } else {
        onBinary(conn, new Uint8Array(event.data));
      }
    };
    conn.ws.onclose = function (event) { onClose(conn, event); };
  }

  function start() {
    term.loadAddon(fit);
    term.open(document.getElementById('terminal'));
    fit.fit();
    window.addEventListener('resize', function () { fit.fit(); });
    term.onData(function (data) {
      if (state) {
        send(state, encoder.encode(data));
      }
    });
    term.onBinary(function (data) {
      if (state) {
        var bytes = new Uint8Array(data.length);
        for (var i = 0; i < data.length; i++) {
          bytes[i] = data.charCodeAt(i) & 0xff;
        }
        send(state, bytes);
      }
    });
    reconnectEl.addEventListener('click', function () {
      var tail = state && state.uuid && state.tail.length ? state.tail : null;
      connect(tail ? {uuid: state.uuid, tail: tail} : null, false);
      term.focus();
    });
    window.addEventListener('pagehide', function () {
      if (state && state.saveTimer) {
        window.clearTimeout(state.saveTimer);
        saveTail(state);
      }
    });
    if (!token) {
      setStatus('No console token in this page\'s address: ask for a ' +
                'console URL (openstack console url show --serial)',
                'closed');
      return;
    }
    var last = storeGet(LAST_KEY);
    var tail = storedTail(last);
    connect(tail ? {uuid: last, tail: tail} : null, true);
    term.focus();
  }

  // For people debugging a console, and for the browser tests: what the
  // terminal holds as text, and the connection's state.
  window.novaConsole = {
    text: function () {
      var buffer = term.buffer.active;
      var lines = [];
      for (var i = 0; i < buffer.length; i++) {
        lines.push(buffer.getLine(i).translateToString(true));
      }
      return lines.join('\n');
    },
    state: function () {
      return state && {mode: state.mode, uuid: state.uuid,
                       live: state.live, closed: state.closed};
    },
  };

  start();
}());
