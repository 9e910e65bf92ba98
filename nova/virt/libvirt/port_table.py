"""Which tcp serial ports each guest of one host holds, by instance uuid.

The process-wide allocation (``nova.console.serial``) knows which ports
are taken; this table knows by whom. It is the source of truth for
releasing: a guest's ports are given back by its uuid, so a domain that
vanished behind the driver's back (``virsh undefine``) still releases
them, where reading them from its XML would find nothing.

Every change and every measurement (:meth:`PortTable.facts`) happens
under one lock and gets the next sequence number, so whoever records the
facts (the API side) can tell an older measurement from a newer one.
"""

import threading
import uuid as uuid_lib

from oslo_log import log as logging

from nova.console import serial as serial_console

LOG = logging.getLogger(__name__)


class PortTable:
    def __init__(self):
        self._ports = {}  # instance uuid -> [(listen host, port)]
        self._lock = threading.Lock()
        # A measurement's place in this process's history: (boot, seq).
        self._boot = uuid_lib.uuid4().hex
        self._seq = 0

    def acquire(self, instance_uuid, listen_host, port_range):
        """Allocate one free port of ``port_range`` for the instance.

        Raises SocketPortRangeExhaustedException when none is left.
        """
        with self._lock:
            port = serial_console.acquire_port(listen_host, port_range)
            self._ports.setdefault(instance_uuid, []).append(
                (listen_host, port))
            return port

    def reserve(self, instance_uuid, listeners, name=None):
        """Record ports a guest already listens on (start-up); returns
        how many were free to record. A port another guest already holds
        is logged and left to that guest."""
        reserved = 0
        with self._lock:
            held = self._ports.setdefault(instance_uuid, [])
            for listen_host, port in listeners:
                if (listen_host, port) in held:
                    continue
                if serial_console.reserve_port(listen_host, port):
                    held.append((listen_host, port))
                    reserved += 1
                else:
                    LOG.warning('Serial port %s:%d of domain %s is claimed '
                                'by another domain as well', listen_host,
                                port, name or instance_uuid)
            if not held:
                del self._ports[instance_uuid]
        return reserved

    def release(self, instance_uuid, listeners=None):
        """Give back the instance's ports (only ``listeners`` of them when
        given); returns the (host, port) pairs released. Releasing what
        the instance does not hold is harmless."""
        with self._lock:
            held = self._ports.get(instance_uuid, [])
            if listeners is None:
                gone = list(held)
            else:
                gone = [pair for pair in held if pair in set(listeners)]
            for listen_host, port in gone:
                serial_console.release_port(listen_host, port)
                held.remove((listen_host, port))
            if not held:
                self._ports.pop(instance_uuid, None)
            return gone

    def ports_of(self, instance_uuid):
        with self._lock:
            return list(self._ports.get(instance_uuid, []))

    def facts(self, listen_host, port_range):
        """The host's serial port facts for the API, as of now.

        ``serial_ports_free`` counts the ports of ``port_range`` on
        ``listen_host`` that nothing in this process holds;
        ``serial_port_holders`` lists the instances holding any; and
        ``serial_ports_seq`` ([boot id, n]) orders measurements.
        """
        start, end = port_range
        with self._lock:
            self._seq += 1
            total = end - start + 1
            return {
                'serial_ports_total': total,
                'serial_ports_free': total - serial_console.count_allocated(
                    listen_host, (start, end)),
                'serial_port_holders': sorted(self._ports),
                'serial_ports_seq': [self._boot, self._seq],
            }
