"""Exceptions with messages that name what was wrong.

As in Nova, each class carries a ``msg_fmt`` filled from keyword arguments,
so callers write ``raise ConsoleNotAvailable(instance_uuid=uuid)``. A missing
keyword never hides the real error: the format string itself is used. A
message never starts with its class's prefix twice (``Migration pre-check
error: Migration pre-check error: ...``), which happens when an error is
wrapped in one of its own kind with the other's message as the reason.
"""


class NovaException(Exception):
    msg_fmt = "An unknown exception occurred."
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError, ValueError):
                message = "%s (arguments: %r)" % (self.msg_fmt, kwargs)
            message = _once(message, self.msg_fmt)
        self.message = message
        super().__init__(message)


def _once(message, msg_fmt):
    """``message`` with the label that starts ``msg_fmt`` (its text before
    the first field, ending with ": " or ". ") at most once. (A prefix
    such as "Instance " is no label: a user's id might start with it.)"""
    prefix = msg_fmt.partition('%(')[0]
    if prefix.endswith((': ', '. ')):
        while message.startswith(prefix + prefix):
            message = message[len(prefix):]
    return message


class Invalid(NovaException):
    msg_fmt = "Invalid input: %(reason)s"
    code = 400


class MalformedRPCData(Invalid):
    # An argument or answer from another service whose versioned object
    # does not deserialize (wrong field type, unknown object or version).
    msg_fmt = "Malformed RPC data: %(reason)s"


class InvalidUUID(Invalid):
    # A uuid names folders and files: anything but the canonical form
    # (a path, '..', upper case) is refused before it reaches one.
    msg_fmt = ("%(field)s must be a canonical lower-case UUID "
               "(8-4-4-4-12 hex digits), not %(value)r")


class NotFound(NovaException):
    msg_fmt = "Resource could not be found."
    code = 404


class HypervisorUnavailable(NovaException):
    msg_fmt = "Connection to the hypervisor at %(uri)s is broken: %(reason)s"
    # What an API user is told instead (the URI is the operator's business).
    user_message = "The compute host's hypervisor cannot be reached"


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s could not be found."


class ConsoleNotAvailable(NotFound):
    msg_fmt = "Guest %(instance_uuid)s has no console log to read."


class ConsoleTypeUnavailable(Invalid):
    msg_fmt = "Unavailable console type %(console_type)s."


class ConsoleLogUnreadable(NovaException):
    msg_fmt = "Cannot read console log %(path)s: %(reason)s"
    user_message = "The console log cannot be read on the compute host"


class ImageSerialPortNumberInvalid(Invalid):
    msg_fmt = ("Number of serial ports specified in %(property)s is "
               "invalid: %(value)r is not a whole number of at least 1.")


class ImageSerialPortNumberExceedFlavorValue(Invalid):
    msg_fmt = ("The image asks for %(image_value)d serial ports "
               "(hw_serial_port_count) but the flavor allows at most "
               "%(flavor_value)d (hw:serial_port_count).")


class FlavorMemoryTooSmall(Invalid):
    msg_fmt = "Flavor's memory is too small for requested image."


class FlavorDiskTooSmall(Invalid):
    msg_fmt = "The created instance's disk would be too small."


class FlavorDiskSmallerThanImage(FlavorDiskTooSmall):
    msg_fmt = ("Flavor's disk is too small for requested image. Flavor disk "
               "is %(flavor_size)i bytes, image is %(image_size)i bytes.")


class FlavorDiskSmallerThanMinDisk(FlavorDiskTooSmall):
    msg_fmt = ("Flavor's disk is smaller than the minimum size specified in "
               "image metadata. Flavor disk is %(flavor_size)i bytes, "
               "minimum size is %(image_min_disk)i bytes.")


class SerialPortNumberLimitExceeded(Invalid):
    msg_fmt = ("The guest would need %(wanted)d serial devices (%(detail)s) "
               "but QEMU supports at most %(allowed)d.")


class SocketPortRangeExhaustedException(Invalid):
    msg_fmt = ("No free tcp port left in [serial_console] port_range "
               "%(port_range)s on %(host)s. Widen the range or stop guests.")


class SocketPortInUseException(Invalid):
    msg_fmt = "Port %(port)s on %(host)s is already in use: %(error)s"


class MigrationError(NovaException):
    msg_fmt = "Migration error: %(reason)s"


class InstanceBootFailed(NovaException):
    msg_fmt = "Instance %(instance_uuid)s failed to boot: %(reason)s"


class InvalidArchitectureName(Invalid):
    msg_fmt = ("Architecture name %(arch)r is not recognised (image "
               "property hw_architecture).")


class GuestArchitectureUnsupported(Invalid):
    msg_fmt = "This host cannot run %(arch)s guests: %(reason)s."


class Forbidden(NovaException):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."
    code = 403


class Conflict(NovaException):
    msg_fmt = "%(reason)s"
    code = 409


class InstanceInvalidState(Conflict):
    msg_fmt = ("Cannot %(action)s instance %(instance_uuid)s while it is "
               "%(state)s.")


class InstanceNotReady(Conflict):
    msg_fmt = "Instance %(instance_id)s is not ready (%(state)s)."


class InstanceFileUnsafe(Conflict):
    # A file or folder of an instance that is not what Nova made there: a
    # symlink, a fifo, a device, a hard link, a folder others may write.
    # The message names the path only, never where a link points to nor
    # anything read through it.
    msg_fmt = ("Refusing to use %(path)s: %(reason)s. The compute host's "
               "operator must fix or remove it.")


class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s could not be found."


class ImageNotFound(NotFound):
    msg_fmt = "Image %(image_id)s could not be found."


class InvalidToken(NovaException):
    # Deliberately says nothing about whether the token ever existed.
    msg_fmt = "The console token is invalid or has expired."
    code = 401


class ValidationError(Invalid):
    msg_fmt = "Invalid input for field/attribute %(field)s: %(detail)s"


class ServiceUnavailable(NovaException):
    msg_fmt = "%(reason)s"
    code = 503


class HostUptimeUnavailable(NovaException):
    # Nova answers 501 when its driver cannot give the host's uptime.
    msg_fmt = "Compute host %(host)s cannot tell its uptime: %(reason)s"
    code = 501


# -- several compute hosts ----------------------------------------------------

class ComputeHostNotFound(NotFound):
    msg_fmt = "Compute host %(host)s could not be found."


class ComputeServiceUnavailable(Invalid):
    # As in Nova: a live-migration target whose service is down.
    msg_fmt = "Compute service of %(host)s is unavailable at this time."


class InstanceHostUnavailable(Conflict):
    # A request for one server whose compute host does not answer; other
    # servers are unaffected, and the client may retry later.
    msg_fmt = ("Server %(instance_uuid)s cannot be reached: the compute "
               "service on its host %(host)s %(reason)s.")


class NoValidHost(NovaException):
    msg_fmt = "No valid host was found. %(reason)s"
    code = 400


class MigrationPreCheckError(MigrationError):
    msg_fmt = "Migration pre-check error: %(reason)s"
    code = 400


class HypervisorNotFound(NotFound):
    msg_fmt = "Hypervisor %(hypervisor_id)s could not be found."


class ComputeHostError(NovaException):
    # A compute host's unexpected error, carried back over RPC without its
    # traceback (which stays in that host's log).
    msg_fmt = "The compute service on %(host)s failed: %(reason)s"


# -- following a console log (live consoles) ----------------------------------

class ConsoleLogGap(NovaException):
    """Bytes of a followed console log may be missing at this point.

    Raised by a console follower's read() after it handed out every byte
    before the gap; ``lost_at_least`` is a lower bound of the bytes lost
    (0: it cannot be told). Reading again goes on after the gap.
    """
    msg_fmt = ('Console log %(path)s rotated more than its backups hold '
               'while it was being followed: output may be missing here')

    def __init__(self, message=None, lost_at_least=0, **kwargs):
        self.lost_at_least = lost_at_least
        super().__init__(message, **kwargs)


class ConsoleLogFollowUnavailable(ConsoleNotAvailable):
    # The guest's console is a tcp port or a pty without a log file: there
    # is no file that grows as the guest writes.
    msg_fmt = ("The console of guest %(instance_uuid)s cannot be followed: "
               "%(reason)s.")


class ConsoleFollowNotFound(NotFound):
    # Says nothing of whether the id ever existed, nor for which guest.
    msg_fmt = ("No console follower with that id for guest "
               "%(instance_uuid)s on host %(host)s: it is unknown, was "
               "ended, or expired after %(idle)s s without a read; open a "
               "new one.")


class TooManyConsoleFollowers(Conflict):
    msg_fmt = ("Too many console followers on host %(host)s: %(limit)s "
               "are open ([serial_console] max_console_followers); try "
               "again once some end.")


MAX_FAULT_LENGTH = 1000


def fault_message(exc):
    """What a user sees of an error: its message, never a traceback."""
    if isinstance(exc, NovaException):
        message = exc.message
    else:
        message = str(exc) or type(exc).__name__
    return message[:MAX_FAULT_LENGTH]


# -- ver


class InstanceIsLocked(Conflict):
    msg_fmt = "Instance %(instance_uuid)s is locked"


class InstanceActionNotFound(NotFound):
    msg_fmt = ("Action for request_id %(request_id)s on instance "
               "%(instance_uuid)s not found")


class InstanceTagNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s has no tag '%(tag)s'"


class TooManyInstanceTags(Invalid):
    msg_fmt = ("Instance %(instance_id)s would have more than %(limit)s "
               "tags")


class MetadataItemNotFound(NotFound):
    msg_fmt = "Metadata item was not found"


class MetadataLimitExceeded(Forbidden):
    msg_fmt = "Maximum number of metadata items exceeds %(allowed)d"


class MigrationNotFoundForInstance(NotFound):
    msg_fmt = ("Migration %(migration_id)s not found for instance "
               "%(instance_id)s")


class NoAuthOffLoopback(Invalid):
    msg_fmt = ("[api] auth_strategy = noauth2 takes any caller at their "
               "word (no authentication), so it is refused while the "
               "compute API listens on %(host)s ([DEFAULT] "
               "osapi_compute_listen), which is %(why)s. Set [api] "
               "auth_strategy = keystone, or osapi_compute_listen = "
               "127.0.0.1.")


# -- srv

class KeypairNotFound(NotFound):
    msg_fmt = "Keypair %(name)s not found for user %(user_id)s"


class KeyPairExists(Conflict):
    msg_fmt = "Key pair '%(key_name)s' already exists."


class KeypairLimitExceeded(Forbidden):
    msg_fmt = "Quota exceeded, too many key pairs."


class InvalidQuota(Invalid):
    msg_fmt = "Invalid quota: %(reason)s"


class TooManyInstances(Forbidden):
    # Nova's QuotaError text; 403 as Nova's API answers it.
    msg_fmt = ("Quota exceeded for %(overs)s: Requested %(req)s, but "
               "already used %(used)s of %(allowed)s %(overs)s")


class InvalidRequest(Invalid):
    """A request this cloud cannot do (Nova's 400 for what it cannot
    do either), naming what is unsupported."""
    msg_fmt = "%(reason)s"


# -- adm ----------------------------------------------------------------------

class FlavorIdExists(Conflict):
    msg_fmt = "Flavor with ID %(flavor_id)s already exists."


class FlavorExists(Conflict):
    msg_fmt = "Flavor with name %(name)s already exists."


# -- access: os-flavor-access (Nova's texts).
class FlavorAccessExists(Conflict):
    msg_fmt = ("Flavor access already exists for flavor %(flavor_id)s "
               "and project %(project_id)s combination.")


class FlavorAccessNotFound(NotFound):
    msg_fmt = ("Flavor access not found for %(flavor_id)s / "
               "%(project_id)s combination.")


class FlavorAccessNotAvailable(NotFound):
    msg_fmt = "Access list not available for public flavors."


class FlavorAccessPublic(Conflict):
    msg_fmt = "Can not add access to a public flavor."


# -- access: the /images proxy's writes, as Glance answers them.
class ImageNotAuthorized(NovaException):
    msg_fmt = "Not authorized for image %(image_id)s."
    code = 403


class ImageBadRequest(Invalid):
    msg_fmt = ("Request of image %(image_id)s got BadRequest response: "
               "%(response)s")


class ImageConflict(Conflict):
    msg_fmt = "Glance refused to change image %(image_id)s now: %(reason)s"


class FlavorExtraSpecsNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s has no extra specs with key %(key)s."


class AggregateNotFound(NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s could not be found."


class AggregateNameExists(Conflict):
    msg_fmt = "Aggregate %(aggregate_name)s already exists."


class AggregateHostExists(Conflict):
    msg_fmt = "Aggregate %(aggregate_id)s already has host %(host)s."


class AggregateHostNotFound(NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s has no host %(host)s."


class InvalidAggregateAction(Invalid):
    msg_fmt = ("Unacceptable parameters: cannot perform action "
               "'%(action)s' on aggregate %(aggregate_id)s. Reason: "
               "%(reason)s.")


class AggregateZoneConflict(Conflict):
    # Nova: 409 when adding a host would put it in two zones.
    msg_fmt = ("Cannot add host %(host)s to aggregate %(aggregate_id)s: "
               "the host is already in availability zone %(zone)s, and "
               "a host is in one zone only.")


class ServiceNotFound(NotFound):
    msg_fmt = "Service %(service_id)s could not be found."
# -- glance


class GlanceConnectionFailed(NovaException):
    code = 503
    msg_fmt = ("The image service (Glance) could not be reached or "
               "answered with an error: %(reason)s")


class ImageUnacceptable(Invalid):
    msg_fmt = "Image %(image_id)s is unacceptable: %(reason)s"


class ImageDownloadFailed(NovaException):
    msg_fmt = "Image %(image_id)s could not be downloaded: %(reason)s"


# -- ph


class FlavorExtraSpecInvalid(Invalid):
    msg_fmt = "Flavor extra spec %(key)s=%(value)r is invalid: %(reason)s"


class UnsupportedHostCPUControlPolicy(Invalid):
    # Nova's name: the flavor asks for quota:cpu_* limits that this host's
    # libvirt cannot put on the guest.
    msg_fmt = ("Requested CPU control policy not supported by host: "
               "%(reason)s")


# -- shv: shelve and unshelve

class SnapshotFailed(NovaException):
    msg_fmt = "Snapshot of the server's disk failed: %(reason)s"


class UnshelveFailed(NovaException):
    msg_fmt = "Unshelve of instance %(instance_uuid)s failed: %(reason)s"


# -- resize: cold migration and resize (Nova's names) ---------------------

class ResizeError(NovaException):
    msg_fmt = "Resize error: %(reason)s"


class CannotResizeToSameFlavor(Invalid):
    msg_fmt = "When resizing, instances must change flavor!"


class CannotResizeDisk(Invalid):
    msg_fmt = "Server disk was unable to be resized because: %(reason)s"
