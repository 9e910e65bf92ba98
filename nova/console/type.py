"""Console types, and what a driver hands back for a console."""

# A versioned object: it crosses RPC (see nova.objects.console).
from nova.objects.console import ConsoleSerial  # noqa: F401

# An interactive serial console: nova-serialproxy joins the websocket to
# the guest's tcp serial port (os-getSerialConsole, remote-consoles).
SERIAL = 'serial'
# A read-only viewer of the same console: it gets the guest's output (its
# console log, history then live) and its keystrokes never reach the
# guest (POST /servers/{id}/console-viewers).
READ_ONLY = 'serial-readonly'
# Token types whose host:port is the guest's first tcp serial port.
SERIAL_TYPES = (SERIAL, READ_ONLY)
