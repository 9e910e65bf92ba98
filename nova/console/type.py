"""What a driver hands back for a console: where to connect."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class ConsoleSerial:
    """A guest's tcp serial port, as nova-serialproxy connects to it."""

    host: str
    port: int
    type: str = 'serial'
