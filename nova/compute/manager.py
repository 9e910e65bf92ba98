"""The compute manager: one compute host's side of every server action.

It is the RPC endpoint of nova-compute (topic ``compute``, server = the
host's name) and wraps the host's one driver. It never touches the
database: the API side reads the server's rows, sends what the driver
needs (an Instance as plain data), and records the outcome.

Errors: a ``nova.exception`` error crosses RPC as itself. Anything else
is logged here with its traceback and sent as ``ComputeHostError`` with
its message only.
"""

import functools

from oslo_concurrency import lockutils
from oslo_log import log as logging
import oslo_messaging

from nova.console import type as ctype
from nova import exception
from nova.objects import instance as objects
from nova.virt.libvirt import migration

LOG = logging.getLogger(__name__)

RPC_VERSION = '1.0'


def _remotable(func):
    """Instances and migrate data from plain data; errors made safe."""
    @functools.wraps(func)
    def wrapper(self, ctxt, *args, **kwargs):
        if 'instance' in kwargs:
            kwargs['instance'] = objects.from_primitive(kwargs['instance'])
        if kwargs.get('migrate_data') is not None:
            kwargs['migrate_data'] = (
                migration.LibvirtLiveMigrateData.from_dict(
                    kwargs['migrate_data']))
        try:
            result = func(self, ctxt, *args, **kwargs)
        except exception.NovaException:
            raise
        except Exception as e:
            LOG.exception('%s failed on host %s', func.__name__, self.host)
            raise exception.ComputeHostError(
                host=self.host, reason=exception.fault_message(e))
        if isinstance(result, migration.LibvirtLiveMigrateData):
            result = result.to_dict()
        return result
    return wrapper


class ComputeManager:
    """Runs on the compute host ``host`` and wraps its one driver."""

    target = oslo_messaging.Target(version=RPC_VERSION)

    def __init__(self, driver, host=None):
        self.driver = driver
        self.host = host or driver.host_name

    @staticmethod
    def _lock(uuid):
        # One action per guest at a time on this host.
        return lockutils.lock('nova-server-%s' % uuid)

    # -- server actions -------------------------------------------------------
    # Each returns the host's serial port facts as they are once it is
    # done (the driver's serial_port_facts()): the API side records them
    # at once, so the scheduler never waits a report_interval to see the
    # ports a delete freed or a build took.

    @_remotable
    def build_and_run_instance(self, ctxt, instance):
        with self._lock(instance.uuid):
            self.driver.spawn(ctxt, instance, instance.image_meta)
            return self.driver.serial_port_facts()

    @_remotable
    def reboot_instance(self, ctxt, instance, reboot_type):
        with self._lock(instance.uuid):
            self.driver.reboot(ctxt, instance, reboot_type=reboot_type)
            return self.driver.serial_port_facts()

    @_remotable
    def rebuild_instance(self, ctxt, instance):
        with self._lock(instance.uuid):
            self.driver.rebuild(ctxt, instance, instance.image_meta)
            return self.driver.serial_port_facts()

    @_remotable
    def terminate_instance(self, ctxt, instance):
        """Destroy the guest, its disks and its log."""
        with self._lock(instance.uuid):
            self.driver.destroy(ctxt, instance)
            return self.driver.serial_port_facts()

    @_remotable
    def get_serial_port_facts(self, ctxt, instance):
        """This host's serial port facts now; for an action that ended
        without returning them (a live migration, a failed reboot)."""
        return self.driver.serial_port_facts()

    # -- consoles -------------------------------------------------------------

    @_remotable
    def get_console_output(self, ctxt, instance):
        """The log's newest bytes, each as the character of that code.

        RPC carries JSON text, not bytes. Latin-1 maps every byte to one
        character and back exactly; a console log is mostly ASCII, which
        JSON carries as it is (base64 adds a third, and decoding it cost
        more than the rest of an in-process call).
        """
        data = self.driver.get_console_output(ctxt, instance)
        return data.decode('latin-1')

    @_remotable
    def get_serial_console(self, ctxt, instance, console_type):
        if console_type != 'serial':
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        console = self.driver.get_serial_console(ctxt, instance)
        return {'host': console.host, 'port': console.port}

    @_remotable
    def validate_console_port(self, ctxt, instance, host, port,
                              console_type):
        """Whether ``host:port`` is the guest's current serial console.

        ``console_type`` 'serial' or 'serial-readonly' (a viewer's token
        names the same port); any other type is no. Fails closed: any
        error looking it up means no.
        """
        try:
            if console_type not in ctype.SERIAL_TYPES:
                return False
            console = self.driver.get_serial_console(ctxt, instance)
            return console.host == host and console.port == int(port)
        except Exception as e:
            LOG.info('Console port of server %s not confirmed: %s',
                     instance.uuid, exception.fault_message(e))
            return False

    # -- live migration (see nova.compute.live_migration) ---------------------

    @_remotable
    def check_can_live_migrate_destination(self, ctxt, instance):
        return self.driver.check_can_live_migrate_destination(ctxt,
                                                              instance)

    @_remotable
    def check_can_live_migrate_source(self, ctxt, instance, migrate_data):
        return self.driver.check_can_live_migrate_source(ctxt, instance,
                                                         migrate_data)

    @_remotable
    def pre_live_migration(self, ctxt, instance, migrate_data):
        return self.driver.pre_live_migration(ctxt, instance, migrate_data)

    @_remotable
    def live_migration(self, ctxt, instance, migrate_data):
        with self._lock(instance.uuid):
            self.driver.live_migration(ctxt, instance,
                                       migrate_data.connect_uri,
                                       migrate_data)

    @_remotable
    def post_live_migration_at_destination(self, ctxt, instance,
                                           migrate_data):
        self.driver.post_live_migration_at_destination(ctxt, instance,
                                                       migrate_data)

    @_remotable
    def rollback_live_migration_at_destination(self, ctxt, instance,
                                               migrate_data):
        self.driver.rollback_live_migration_at_destination(ctxt, instance,
                                                           migrate_data)
