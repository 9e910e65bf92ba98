"""The conductor's helpers: the driver's Instance from the rows, the
hosts' serial port facts recorded, and the live migration it runs.

The compute hosts never touch the database: the conductor reads the
rows, sends what the driver needs, and records what the hosts report.
"""


from oslo_log import log as logging

from nova import context as nova_context
from nova.db import api as db
from nova import exception
from nova import image as image_api
from nova.objects import compute_node
from nova.objects import instance as objects

LOG = logging.getLogger(__name__)

# Hosts a build tries when the chosen one has no free serial port after
# all (ports bound by another program, or a guest defined behind Nova's
# back): Nova's default [scheduler] max_attempts.
MAX_BUILD_ATTEMPTS = 3


def record_ports(host, facts):
    """Record the serial port facts ``host`` returned after an action,
    so the scheduler sees its ports now, not at its next report."""
    if not host or not isinstance(facts, dict):
        return  # a host that sends none: its next report will tell
    # A plain dict from the host: checked with the heartbeat's types (a
    # wrong one would break every scheduling that reads it).
    try:
        facts = compute_node.ComputeNode(host=host, **{
            k: v for k, v in facts.items() if k in db.SERIAL_PORT_KEYS})
    except (ValueError, TypeError) as e:
        LOG.warning('The serial port facts of host %s are not recorded: '
                    '%s', host, e)
        return
    facts = {k: v for k, v in facts.items() if k != 'host'}
    try:
        db.service_update_ports(host, facts)
    except Exception:
        LOG.exception('Could not record the serial ports of host %s', host)


def refresh_ports(compute_rpcapi, ctx, host, instance):
    """Ask ``host`` for its serial port facts and record them; for an
    action that returned none (a live migration, a failure after the
    guest was destroyed). Never raises: the next report will tell."""
    if not host:
        return
    try:
        facts = compute_rpcapi.get_serial_port_facts(ctx, host, instance)
    except Exception as e:
        LOG.warning('Serial ports of host %s not refreshed after an '
                    'action on %s: %s', host, instance.uuid,
                    exception.fault_message(e))
        return
    record_ports(host, facts)


def _image(ctx, image_id, boot):
    """The image ``image_id`` (nova.image: Glance or the local catalog),
    or None when it is gone; Glance's failure raises only for a boot."""
    try:
        return image_api.API().get(ctx, image_id)
    except exception.ImageNotFound:
        return None
    except exception.GlanceConnectionFailed:
        if boot:
            raise
        LOG.warning('Image %s not read from Glance: going on without its '
                    'properties', image_id)
        return None


def _kept_image(ctx, server, boot):
    """The image the server was created or rebuilt with, as kept then
    (db.instance_image: Nova's system metadata); its properties
    (kernel_id, ramdisk_id, hw_serial_port_count...) are never read
    again from the image, which may have changed or gone since. A
    server made before copies were kept has its image read once and
    kept now."""
    image = db.instance_image(server) if server.get('uuid') else None
    if image is not None:
        return image
    image = _image(ctx or nova_context.get_admin_context(),
                   server['image_id'], boot)
    if image is not None and server.get('uuid'):
        try:
            db.instance_image_set(server['uuid'], image)
        except Exception as e:
            # Read again next time: no action fails on the copy.
            LOG.warning('Image %s of server %s not kept: %s',
                        server['image_id'], server['uuid'], e)
    return image


def image_meta_for(image):
    """The ImageMeta of an image dict (nova.image): no file in it."""
    return objects.ImageMeta(
        id=image['id'], name=image.get('name') or '',
        disk_format=image.get('disk_format') or 'raw',
        container_format=image.get('container_format') or 'bare',
        properties=dict(image.get('properties') or {}))


def instance_for(server, host=None, image=None, boot=False, ctx=None):
    """The driver's Instance for ``server`` (on ``host``, by default its
    own).

    ``boot`` requires the flavor and the image (``image`` overrides the
    server's); without it missing rows are tolerated, so a server whose
    image is gone can still be deleted or migrated. The image is read
    with ``ctx``'s token when it has one (the caller's images), else
    with nova's own credentials.
    """
    # The flavor the server was created with, even if deleted since.
    flavor = db.instance_flavor(server)
    if image is None:
        image = _kept_image(ctx, server, boot)
    if boot and flavor is None:
        raise exception.FlavorNotFound(flavor_id=server['flavor_id'])
    if boot and image is None:
        raise exception.ImageNotFound(image_id=server['image_id'])
    instance = objects.Instance(uuid=server['uuid'],
                                host=host or server.get('host'))
    if flavor is not None:
        instance.flavor = objects.Flavor(
            name=flavor['name'], memory_mb=flavor['ram'],
            vcpus=flavor['vcpus'], extra_specs=dict(flavor['extra_specs']),
            root_gb=int(flavor.get('disk') or 0))
    if image is not None:
        instance.image_meta = image_meta_for(image)
    return instance


def checked_fault(text, host, label):
    """A host's fault text of its outcome of ``label`` (shown to users,
    stored in the row): cut to ``MAX_FAULT_LENGTH`` characters, and
    replaced when it is no str; None stays None."""
    if text is None:
        return None
    if not isinstance(text, str):
        return exception.ComputeHostError(
            host=host, reason='its outcome of %s carried a malformed '
            'fault' % label).message
    return text[:exception.MAX_FAULT_LENGTH]


def bad_input(field, detail):
    return exception.ValidationError(field=field, detail=detail)
