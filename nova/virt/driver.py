"""The interface between the compute manager and a hypervisor driver.

nova.compute.manager.ComputeManager calls its driver only through the
methods below; nova.virt.libvirt.driver.LibvirtDriver implements them.
As in Nova (nova/virt/driver.py), ``context`` is the request's
RequestContext (drivers may ignore it), ``instance`` a
nova.objects.instance.Instance, and errors are nova.exception classes:
the manager passes a NovaException over RPC as it is and turns anything
else into ComputeHostError.

A subclass that leaves a method out cannot be made (abc): the manager
never meets a half driver.
"""

import abc

# What ComputeDriver.live_migration_guest_state answers: where a guest is
# in a live migration, as this host's hypervisor sees it.
GUEST_ABSENT = 'absent'        # no such guest here
GUEST_RUNNING = 'running'      # it runs here and no migration job is on it
GUEST_MIGRATING = 'migrating'  # a migration job runs on it, or it waits
#                                paused for one (an incoming guest): how
#                                the job ends is not known yet
GUEST_STOPPED = 'stopped'      # defined here, neither running nor moving

# The console window, in bytes: what get_console_output returns at most
# and how much history a console follower hands out first. The value of
# MAX_CONSOLE_BYTES in Nova's libvirt driver (100 KiB).
MAX_CONSOLE_BYTES = 100 * 1024


class ConsoleFollower(abc.ABC):
    """What open_console_follower returns: a guest's console log, live.

    Not thread-safe: one reader at a time.
    """

    @abc.abstractmethod
    def read(self, timeout=0):
        """The next bytes of the log, waiting up to ``timeout`` seconds.

        The first read hands out the history; later ones every byte the
        guest wrote since, in order, each once.

        :returns: bytes; b'' when none came within ``timeout``.
        :raises nova.exception.ConsoleLogGap: bytes may be missing at
            this point of the stream (after every byte before it was
            returned); reading again goes on after the gap.
        """

    @abc.abstractmethod
    def fileno(self):
        """A descriptor that polls readable when a read may have bytes."""

    @abc.abstractmethod
    def close(self):
        """Release the follower's files and watches; idempotent."""


class ComputeDriver(abc.ABC):
    """A hypervisor as the compute manager uses it."""

    # -- the host ---------------------------------------------------------

    @property
    @abc.abstractmethod
    def host_name(self):
        """This compute service's host name (``[DEFAULT] host``)."""

    @abc.abstractmethod
    def init_host(self, host=None):
        """Take stock of the guests the host already runs, at start-up.

        :returns: int, how many of their serial ports were registered.
        """

    @abc.abstractmethod
    def get_host_report(self):
        """The host's facts for the scheduler and the API, as a dict of
        JSON types: capacity (``vcpus``, ``vcpus_used``, ``memory_mb``,
        ``memory_mb_free``, ``running_vms``), hypervisor identity
        (``hypervisor_hostname``, ``hypervisor_type``,
        ``hypervisor_version``, ``libvirt_version``, ``qemu_version``),
        the console log gate (``virtlogd``, ``console_log``), ``host_ip``,
        ``serial_console_enabled``, and serial_port_facts()."""

    @abc.abstractmethod
    def serial_port_facts(self):
        """The host's serial ports now, a dict: ``serial_ports_total``,
        ``serial_ports_free`` (ints), ``serial_port_holders`` (instance
        uuids) and ``serial_ports_seq`` ([boot id of this driver (str),
        n (int)]: orders two answers of one process)."""

    # -- guests -----------------------------------------------------------

    @abc.abstractmethod
    def spawn(self, context, instance, image_meta, network_info=None,
              block_device_info=None):
        """Create and start the guest; on failure leave nothing behind.

        :raises nova.exception.InstanceBootFailed: the hypervisor refused.
        :raises nova.exception.InstanceFileUnsafe: a planted file in the
            instance folder.
        :raises nova.exception.SocketPortRangeExhaustedException: no free
            serial port.
        """

    @abc.abstractmethod
    def destroy(self, context, instance, network_info=None,
                block_device_info=None, destroy_disks=True):
        """Stop and remove the guest and give back its serial ports; with
        ``destroy_disks`` its folder (disk and console log) too. A guest
        that is already gone is not an error."""

    @abc.abstractmethod
    def reboot(self, context, instance, network_info=None,
               reboot_type='SOFT'):
        """Reboot the guest, keeping its console log. ``reboot_type`` is
        ``'SOFT'`` (may fall back to hard, as Nova does) or ``'HARD'``.

        :raises nova.exception.InstanceNotFound: no such guest here.
        """

    @abc.abstractmethod
    def rebuild(self, context, instance, image_meta, power_on=True):
        """Boot the guest again from ``image_meta`` on a new disk,
        keeping its console log; ``power_on`` False (a stopped server):
        define it with its new disk but do not start it."""

    def power_off(self, instance):
        """Stop the guest (os-stop); it stays defined here with its
        disk, serial ports and console log.

        :raises nova.exception.InstanceNotFound: no such guest here.
        """
        raise NotImplementedError()

    def power_on(self, context, instance):
        """Boot the stopped guest again (os-start); its console log is
        appended to.

        :raises nova.exception.InstanceNotFound: no such guest here.
        """
        raise NotImplementedError()

    # -- admin: diagnostics and the host's uptime (compute RPC 2.6)

    def is_running(self, instance):
        """Whether the guest runs.

        :raises nova.exception.InstanceNotFound: no such guest here.
        """
        raise NotImplementedError()

    def get_diagnostics(self, instance):
        """The running guest's statistics, free-form as Nova's before
        microversion 2.48: a flat dict of str keys to numbers (see the
        libvirt driver for its keys).

        :raises nova.exception.InstanceNotFound: no such guest here.
        """
        raise NotImplementedError()

    def get_host_uptime(self):
        """The host's ``uptime`` output line (str), as Nova's drivers."""
        raise NotImplementedError()

    @abc.abstractmethod
    def instance_exists(self, instance):
        """bool: whether the guest is defined on this host."""

    # -- consoles ---------------------------------------------------------

    @abc.abstractmethod
    def get_console_output(self, context, instance):
        """The newest MAX_CONSOLE_BYTES (at most) of the console log.

        :returns: bytes (b'' when nothing was logged yet).
        :raises nova.exception.InstanceNotFound: no such guest here.
        :raises nova.exception.ConsoleNotAvailable: the guest has no
            console that is logged.
        """

    @abc.abstractmethod
    def open_console_follower(self, instance, history_bytes):
        """Follow the guest's console log: its newest ``history_bytes``
        (int 0..MAX_CONSOLE_BYTES, None: all of them), then live.

        :returns: an open ConsoleFollower; the caller closes it.
        :raises nova.exception.InstanceNotFound: no such guest here.
        :raises nova.exception.ConsoleLogFollowUnavailable: its console is
            not logged to a file that can be followed.
        :raises nova.exception.Invalid: a bad ``history_bytes``.
        """

    @abc.abstractmethod
    def get_serial_console(self, context, instance):
        """Where the guest's first serial port listens.

        :returns: nova.console.type.ConsoleSerial (host, port).
        :raises nova.exception.ConsoleTypeUnavailable: serial consoles
            are disabled here, or the guest has no tcp serial port.
        """

    # -- live migration, in the order the calls come ----------------------
    # ``migrate_data`` is the driver's live-migrate data object, returned
    # by the destination's check and filled in along the way.

    @abc.abstractmethod
    def check_can_live_migrate_destination(self, context, instance):
        """On the destination: what the source must know of it.

        :returns: the driver's live-migrate data.
        """

    @abc.abstractmethod
    def check_can_live_migrate_source(self, context, instance,
                                      migrate_data):
        """On the source: refuse what cannot work, before anything moves.

        :returns: ``migrate_data``, completed.
        :raises nova.exception.MigrationPreCheckError: why not.
        """

    def cleanup_live_migration_destination_check(self, context,
                                                 migrate_data):
        """On the destination, after the source's check: remove what
        the destination's check left for it (Nova's shared storage
        check file). Nothing by default."""

    @abc.abstractmethod
    def pre_live_migration(self, context, instance, migrate_data):
        """On the destination: make room for the guest (folder, ports).

        :returns: ``migrate_data`` with what the source needs to move it.
        """

    @abc.abstractmethod
    def live_migration(self, context, instance, dest_uri, migrate_data):
        """On the source: run the hypervisor's migration job to
        ``dest_uri`` and watch it (progress logged) until the hypervisor
        says it ended. Never gives up on a job that still runs: its end
        is read from the hypervisor, not guessed from a time-out.

        :returns: None once the guest runs on the destination.
        :raises nova.exception.MigrationError: the job ended without
            moving the guest, or could not start. Whether the guest still
            runs here is for the caller to ask
            (:meth:`live_migration_guest_state`).
        """

    @abc.abstractmethod
    def live_migration_guest_state(self, instance):
        """Where the guest stands here in a live migration, now.

        :returns: one of GUEST_ABSENT, GUEST_RUNNING, GUEST_MIGRATING
            (a job runs, or the guest waits paused for one: its outcome
            is not known yet) and GUEST_STOPPED.
        """

    @abc.abstractmethod
    def post_live_migration(self, context, instance, migrate_data):
        """On the source, once the guest runs on the destination: give
        back its serial ports and carry its console log there (a failed
        copy leaves the log here and is only logged). ``migrate_data`` is
        the destination's (check_can_live_migrate_destination's answer
        is enough). Safe to repeat.

        :raises nova.exception.MigrationError: ``migrate_data`` names
            something the source must not act on (nothing is done).
        """

    @abc.abstractmethod
    def post_live_migration_at_destination(self, context, instance,
                                           migrate_data):
        """On the destination, after success: settle the arrived guest
        (keep only the serial ports it listens on). ``migrate_data`` may
        be None (a recovery after a restart): then every port held for
        the guest that it does not listen on is released."""

    @abc.abstractmethod
    def rollback_live_migration_at_destination(self, context, instance,
                                               migrate_data):
        """On the destination, after a failure: undo pre_live_migration.

        Never touches a guest defined here (it did arrive after all):
        then nothing is released. ``migrate_data`` may be None (a
        recovery after a restart): every port held for the guest is
        released."""

    # -- shv: snapshot and shelve (nova.conductor.shelve) ----------------
    # Not abstract: a driver without them refuses shelve (NotImplemented
    # reaches the user as the host's error, the server as it was).

    def snapshot_for_shelve(self, context, instance, image_id):
        """Stop the guest (it stays defined, with its ports) and save its
        disk as the queued image ``image_id``. Returns True when a disk
        was saved, False for a guest without a disk of its own (booted
        from a kernel image). On a failure to save, the guest is left
        stopped and the error raised (the caller starts it again)."""
        raise NotImplementedError()

    def read_console_log_for_shelve(self, instance):
        """The guest's console log as a ShelvedConsoleLog (None: none);
        may raise, the caller goes on without it."""
        raise NotImplementedError()

    def shelve_offload(self, context, instance):
        """Destroy the stopped guest here: domain, ports, folder."""
        raise NotImplementedError()

    def unshelve(self, context, instance, image_meta, snapshot_meta,
                 console_log):
        """Boot an offloaded guest here: its disk from ``snapshot_meta``
        (None: none was saved), its log written back from
        ``console_log`` first (None: none; a failure is only logged),
        then spawned from ``image_meta``, its own image. On failure
        nothing of it is left here. Returns None, or what of its log was
        lost (a note for the instance's fault)."""

    # Cold migration and resize (nova.compute.manager's resize steps).
    # Not abstract: a driver without them refuses the move.

    def prepare_migration(self, context, instance, image_meta, same_host):
        """Destination: make room; returns this host's facts (a
        LibvirtLiveMigrateData) for the source."""
        raise NotImplementedError()

    def migrate_disk_and_power_off(self, context, instance, dest_data,
                                   same_host):
        """Source: stop the guest, keep its folder for a revert, copy
        its disk and log to the destination. Returns None or a note (a
        log not copied); raises when the disk was not copied, the guest
        then running here again."""
        raise NotImplementedError()

    def finish_migration(self, context, instance, image_meta, same_host):
        """Destination: define and start the guest (``instance.flavor``
        the new flavor)."""
        raise NotImplementedError()

    def confirm_migration(self, context, instance, same_host):
        """Source: drop what was kept for a revert, ports included."""
        raise NotImplementedError()

    def revert_migration_at_destination(self, context, instance,
                                        source_data, same_host):
        """Destination: remove the guest, send its log back to the
        source (``source_data``: the source's facts). Returns None or a
        note (a log not sent)."""
        raise NotImplementedError()

    def finish_revert_migration(self, context, instance):
        """Source: back to the kept folder and domain, started."""
        raise NotImplementedError()
