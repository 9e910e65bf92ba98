"""Console types, and what a driver hands back for a console."""

import dataclasses

# An interactive serial console: nova-serialproxy joins the websocket to
# the guest's tcp serial port (os-getSerialConsole, remote-consoles).
SERIAL = 'serial'
# A read-only viewer of the same console: it gets the guest's output (its
# console log, history then live) and its keystrokes never reach the
# guest (POST /servers/{id}/console-viewers).
READ_ONLY = 'serial-readonly'
# Token types whose host:port is the guest's first tcp serial port.
SERIAL_TYPES = (SERIAL, READ_ONLY)


@dataclasses.dataclass(frozen=True)
class ConsoleSerial:
    """A guest's tcp serial port, as nova-serialproxy connects to it."""

    host: str
    port: int
    type: str = SERIAL
