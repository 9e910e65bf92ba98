"""The compute API: what the REST layer calls.

Every method takes the caller's RequestContext. Servers belong to the
caller's project: a server of another project does not exist for the
caller (an admin sees all). Flavors and images are shared
(``nova.compute.flavors``).

A new server gets its host from the scheduler and keeps it until a live
migration moves it. A server whose host is down is answered at once
with 409 naming the host; other servers are unaffected.

Build, reboot, rebuild and delete are looked up and checked here, marked
on the instance (vm_state and task_state), and handed to the conductor with a
cast (``nova.conductor.api.ComputeTaskAPI``): the caller gets its answer
at once, and no API worker waits for the compute host. A live migration
is a short call to the conductor, answered once its pre-checks passed. A
deleted server stays visible, with task_state 'deleting', until its
guest is gone; then its row is removed.
"""

from urllib import parse
import uuid as uuid_lib

from oslo_log import log as logging

from nova.api.openstack import common as api_common
import nova.conf
from nova.compute import aggregates
from nova.compute import availability_zones
from nova.compute import flavors
from nova.compute import instance_actions
from nova.compute import keypairs
from nova.compute import power_state
from nova.compute import rpcapi
from nova.compute import server_records
from nova.compute import task_states
from nova.compute import usage
from nova.compute import vm_states
from nova.conductor import api as conductor_api
from nova.conductor import tasks as conductor_tasks
from nova.console import tokens
from nova.console import type as ctype
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova.policies import servers as server_policies
from nova import quota
from nova.scheduler import manager as scheduler
from nova import servicegroup
from nova.virt import hardware

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

UNSET = object()

# -- admin: as Nova, a stopped server is rebuilt too (and stays stopped).
REBUILD_FROM = (vm_states.ACTIVE, vm_states.ERROR, vm_states.STOPPED)
# os-resetState: the vm_states an admin may set (Nova's two).
RESET_STATES = (vm_states.ACTIVE, vm_states.ERROR)
# Nova's external event names (up to microversion 2.30) and statuses.
EXTERNAL_EVENT_NAMES = ('network-changed', 'network-vif-plugged',
                        'network-vif-unplugged', 'network-vif-deleted')
EXTERNAL_EVENT_STATUSES = ('failed', 'completed', 'in-progress')

# Kept here for the callers that check input as the API does.
_bad = flavors.bad_input
_check_string = flavors.check_string
_check_description = flavors.check_description


def _ready(server):
    return (server['vm_state'] == vm_states.ACTIVE and
            not server['task_state'])


def _state(server):
    # The status the user sees in the server's body names the state in
    # the 409 they get.
    status = api_common.status_of(server)
    if server['task_state']:
        return '%s (%s)' % (status, server['task_state'])
    return status


def _bare_instance(server):
    """Enough of the server for the console calls: they find the guest by
    its uuid, so its flavor and image are not read from the database."""
    return objects.Instance(uuid=server['uuid'], host=server['host'])


def console_url(base_url, token):
    """``base_url`` with ``token=...`` added to its query."""
    parts = parse.urlsplit(base_url)
    query = '&'.join(q for q in (parts.query, 'token=' + token) if q)
    return parse.urlunsplit(parts._replace(query=query))


# The web terminal nova-serialproxy serves next to its websocket.
CONSOLE_PAGE = 'console.html'
_PAGE_SCHEMES = {'ws': 'http', 'wss': 'https'}


def console_page_url(base_url, token):
    """The proxy's web terminal for ``token``: ``http(s)://.../console.html``.

    Same host, port and folder as ``base_url``; ``https`` when base_url is
    ``wss``. The page works with a viewer's token and with an interactive
    ``serial`` token alike.
    """
    parts = parse.urlsplit(base_url)
    scheme = _PAGE_SCHEMES.get(parts.scheme.lower(), parts.scheme)
    folder = parts.path.rsplit('/', 1)[0]
    return console_url(parse.urlunsplit(parts._replace(
        scheme=scheme, path='%s/%s' % (folder, CONSOLE_PAGE))), token)


def _check_metadata(metadata, limit=server_records.MAX_METADATA_ITEMS):
    """A dict of str -> str, as the REST API's schema lets through; more
    than ``limit`` items (the project's metadata_items quota; None: any)
    is MetadataLimitExceeded (403), as Nova."""
    if not isinstance(metadata, dict):
        raise _bad('metadata', 'must be an object of strings')
    if limit is not None and len(metadata) > limit:
        raise exception.MetadataLimitExceeded(allowed=limit)
    for key, value in metadata.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255:
            raise _bad('metadata', 'a key has 1 to 255 characters')
        if not isinstance(value, str) or len(value) > 255:
            raise _bad('metadata', 'the value of %r must be a string of at '
                       'most 255 characters' % key[:40])
    return dict(metadata)


def _changes(name=UNSET, description=UNSET, access_ip_v4=UNSET,
             access_ip_v6=UNSET, disk_config=UNSET, metadata=UNSET,
             metadata_limit=server_records.MAX_METADATA_ITEMS):
    """The instance values of the arguments given (``metadata_limit``:
    the project's metadata_items quota, None: any)."""
    values = {}
    if name is not UNSET:
        values['name'] = _check_string(name, 'name')
    if description is not UNSET:
        values['description'] = _check_description(description)
    if access_ip_v4 is not UNSET:
        values['access_ip_v4'] = access_ip_v4
    if access_ip_v6 is not UNSET:
        values['access_ip_v6'] = access_ip_v6
    if disk_config is not UNSET:
        if disk_config not in ('AUTO', 'MANUAL'):
            raise _bad('OS-DCF:diskConfig', "must be 'AUTO' or 'MANUAL'")
        values['disk_config'] = disk_config
    if metadata is not UNSET:
        values['metadata'] = _check_metadata(metadata, metadata_limit)
    return values


GIB = 1024 ** 3


def check_image_fits_flavor(flavor, image):
    """Nova's checks of the image a server is created or rebuilt with
    against its flavor (dicts: nova.compute.flavors' and nova.image's).

    :raises ImageSerialPortNumberExceedFlavorValue: the image's
        ``hw_serial_port_count`` is more than the flavor's
        ``hw:serial_port_count`` (the image may ask up to it).
    :raises ImageSerialPortNumberInvalid: either is no whole number >= 1.
    :raises FlavorMemoryTooSmall: the image's ``min_ram`` (MiB) exceeds
        the flavor's ``ram``.
    :raises FlavorDiskSmallerThanImage: the image's virtual size (Glance's
        ``virtual_size``, else its ``size``), in bytes, exceeds the
        flavor's root disk (``disk`` GiB).
    :raises FlavorDiskSmallerThanMinDisk: the image's ``min_disk`` (GiB)
        exceeds it. A root disk of 0 is not checked, as in Nova.
    All are Invalid (400).
    """
    hardware.get_number_of_serial_ports(
        objects.Flavor(extra_specs=dict(flavor.get('extra_specs') or {})),
        objects.ImageMeta(properties=dict(image.get('properties') or {})))
    if int(image.get('min_ram') or 0) > int(flavor.get('ram') or 0):
        raise exception.FlavorMemoryTooSmall()
    root = int(flavor.get('disk') or 0) * GIB
    if not root:
        return
    size = int(image.get('virtual_size') or image.get('size') or 0)
    if size > root:
        raise exception.FlavorDiskSmallerThanImage(flavor_size=root,
                                                   image_size=size)
    min_disk = int(image.get('min_disk') or 0) * GIB
    if min_disk > root:
        raise exception.FlavorDiskSmallerThanMinDisk(
            flavor_size=root, image_min_disk=min_disk)


class API(server_records.ServerRecordsAPI):
    def __init__(self, compute_rpcapi=None, conf=None,
                 compute_task_api=None):
        """``compute_rpcapi`` (consoles) and ``compute_task_api`` (the
        conductor) default to clients on ``conf``'s transport."""
        self.conf = conf or CONF
        self.compute_rpcapi = (compute_rpcapi or
                               rpcapi.ComputeAPI(self.conf))
        self.compute_task_api = (compute_task_api or
                                 conductor_api.ComputeTaskAPI(self.conf))
        self._closed = False

    # -- flavors and images (nova.compute.flavors) ---------------------------

    def flavor_list(self, ctx, is_public=True):
        return flavors.flavor_list(ctx, is_public=is_public)

    def flavor_get(self, ctx, flavor_id):
        """A live flavor (GET /flavors/{id}, a new server): a deleted
        one is FlavorNotFound here (see flavors.flavor_get)."""
        return flavors.flavor_get(ctx, flavor_id, read_deleted=False)

    def flavor_create(self, ctx, name, ram, vcpus, disk=0, extra_specs=None,
                      flavor_id=None, **kwargs):
        """kwargs: swap, ephemeral_gb, rxtx_factor, is_public."""
        return flavors.flavor_create(ctx, name, ram, vcpus, disk=disk,
                                     extra_specs=extra_specs,
                                     flavor_id=flavor_id, **kwargs)

    def flavor_delete(self, ctx, flavor_id):
        return flavors.flavor_delete(ctx, flavor_id)

    def flavor_extra_specs_update(self, ctx, flavor_id, specs, policy_name):
        return flavors.flavor_extra_specs_update(ctx, flavor_id, specs,
                                                 policy_name)

    def flavor_extra_spec_delete(self, ctx, flavor_id, key):
        return flavors.flavor_extra_spec_delete(ctx, flavor_id, key)

    # -- access: os-flavor-access (see nova.compute.flavors)
    def flavor_access_list(self, ctx, flavor_id):
        return flavors.flavor_access_list(ctx, flavor_id)

    def flavor_access_add(self, ctx, flavor_id, project_id):
        return flavors.flavor_access_add(ctx, flavor_id, project_id)

    def flavor_access_remove(self, ctx, flavor_id, project_id):
        return flavors.flavor_access_remove(ctx, flavor_id, project_id)

    # -- access: the /images proxy (see nova.compute.flavors)
    def image_metadata(self, ctx, image_id):
        return flavors.image_metadata(ctx, image_id)

    def image_metadata_update(self, ctx, image_id, metadata, replace=False):
        return flavors.image_metadata_update(ctx, image_id, metadata,
                                             replace=replace)

    def image_metadata_delete(self, ctx, image_id, key):
        return flavors.image_metadata_delete(ctx, image_id, key)

    def image_delete(self, ctx, image_id):
        return flavors.image_delete(ctx, image_id)

    # -- access: os-simple-tenant-usage (see nova.compute.usage)
    def usage_list(self, ctx, start, stop, detailed):
        return usage.list_usages(ctx, start, stop, detailed)

    def usage_show(self, ctx, project_id, start, stop):
        return usage.show_usage(ctx, project_id, start, stop)

    def image_list(self, ctx):
        return flavors.image_list(ctx)

    def image_get(self, ctx, image_id):
        return flavors.image_get(ctx, image_id)

    def image_create(self, ctx, name, **kwargs):
        return flavors.image_create(ctx, name, **kwargs)

    # -- hand-over to the conductor -------------------------------------------

    def _check_open(self):
        if self._closed:
            raise exception.ServiceUnavailable(
                reason='The compute service is shutting down')

    def shutdown(self):
        """Refuse new actions (the process is stopping); the accepted
        ones are the conductor's and go on."""
        self._closed = True

    def _hand_over(self, server, task, send):
        """``send()`` the action to the conductor (a cast). When it
        cannot be sent, the server leaves ``task`` for ERROR with the
        reason, and ServiceUnavailable (503) is raised."""
        try:
            send()
        except exception.NovaException as e:
            LOG.warning('Action on server %s not handed to the conductor: '
                        '%s', server['uuid'], e.message)
            db.instance_update(server['uuid'], {
                'vm_state': vm_states.ERROR, 'task_state': None,
                'fault': e.message}, expected_task_state=task)
            if isinstance(e, exception.ServiceUnavailable):
                raise
            raise exception.ServiceUnavailable(reason=e.message) from e

    # -- hosts ----------------------------------------------------------------

    def _service(self, host):
        return db.service_get_by_host(host) if host else None

    def _check_host(self, server):
        """The server's host must be up to be asked anything (see
        servicegroup.check_instance_host)."""
        return servicegroup.check_instance_host(server, self.conf)

    def _host_status(self, service):
        if service is None:
            return 'UNKNOWN'
        if servicegroup.is_up(service, self.conf):
            return 'MAINTENANCE' if service['disabled'] else 'UP'
        return 'DOWN'

    def _annotate(self, servers):
        """Add 'host_status' and 'node' (the hypervisor's host name)."""
        services = {s['host']: s for s in db.service_list()}
        for server in servers:
            service = services.get(server['host'])
            server['host_status'] = (self._host_status(service)
                                     if server['host'] else '')
            server['node'] = (service['report'].get('hypervisor_hostname')
                              if service else None)
        return servers

    # -- servers ----------------------------------------------------------

    def _get(self, ctx, server_id):
        server = db.instance_get(server_id) if isinstance(
            server_id, str) else None
        if server is None or not (ctx.is_admin or
                                  server['project_id'] == ctx.project_id):
            raise exception.InstanceNotFound(instance_id=server_id)
        return server

    def _invalid_state(self, ctx, server_id, action):
        server = self._get(ctx, server_id)  # it may be gone meanwhile
        return exception.InstanceInvalidState(
            action=action, instance_uuid=server['uuid'],
            state=_state(server))

    def _enter_task(self, ctx, server_id, task, from_states, label,
                    from_tasks=None, invalid=None, check_host=None):
        """The server put in ``task`` from one of the vm states
        ``from_states`` and the tasks ``from_tasks`` (None: no task),
        after the lock, the API's own shutdown and its host (``check_host``
        (server); default _check_host) are checked: the one start of the
        actions. Another state is ``invalid(ctx, server_id, label)``
        (default _invalid_state: InstanceInvalidState, 409).

        :returns: the updated row.
        """
        server = self._get(ctx, server_id)
        self._check_lock(ctx, server)
        self._check_open()
        (check_host or self._check_host)(server)
        updated = db.instance_update(
            server['uuid'], {'task_state': task},
            expected_vm_state=from_states, expected_task_state=from_tasks)
        if updated is None:
            raise (invalid or self._invalid_state)(ctx, server_id, label)
        return updated

    def create(self, ctx, name, image_ref, flavor_ref, description=None,
               metadata=None, key_name=None, access_ip_v4=None,
               access_ip_v6=None, disk_config=None, availability_zone=None,
               user_data=None, scheduler_hints=None):
        """Accept a server (vm_state building) and build it in the
        background.

        ``metadata`` (dict str->str), ``key_name`` (one of the caller's
        key pairs; KeypairNotFound), access IPs (str), ``disk_config``
        ('AUTO'/'MANUAL'), ``availability_zone`` ('zone' or, as the
        REST API lets admins, 'zone:host'; 400 when no such zone),
        ``user_data`` (base64 str) and ``scheduler_hints``
        (``{'different_host': [uuid...], 'same_host': [uuid...]}``) are
        Nova's. With no host able to take it, the server is made in
        ERROR with the scheduler's reason as its fault, as in Nova.
        """
        _check_string(name, 'name')
        _check_description(description)
        flavor = self.flavor_get(ctx, flavor_ref)
        image = self.image_get(ctx, image_ref)
        check_image_fits_flavor(flavor, image)
        zone, forced_host = self._requested_zone(ctx, availability_zone)
        values = {
            'uuid': str(uuid_lib.uuid4()), 'name': name,
            'project_id': ctx.project_id, 'user_id': ctx.user_id,
            'flavor_id': flavor['id'], 'image_id': image['id'],
            'description': description,
            'metadata': _check_metadata(
                metadata or {},
                quota.metadata_limit(self.conf, ctx.project_id)),
            'access_ip_v4': access_ip_v4, 'access_ip_v6': access_ip_v6,
            'disk_config': disk_config or 'MANUAL',
            'power_state': power_state.NOSTATE, 'config_drive': '',
            'user_data': user_data, 'availability_zone': zone}
        if key_name is not None:
            pair = keypairs.get(ctx.user_id, key_name)
            values.update(key_name=pair['name'], key_data=pair['public_key'])
        self._check_quota(ctx, flavor)
        self._check_open()
        probe = conductor_tasks.instance_for(values, image=image)
        # The new row (spawning, on its host) is the claim on the host's
        # serial ports: no other create may choose before it exists.
        with scheduler.CLAIMS_LOCK:
            try:
                host = scheduler.select_host(
                    self.conf, probe.flavor, probe.image_meta,
                    hints=scheduler.hint_hosts(ctx, scheduler_hints),
                    zone=zone, force_host=forced_host, ctx=ctx)
            except exception.NoValidHost as e:
                host, refused = None, e
            else:
                values.update(vm_state=vm_states.BUILDING,
                              task_state=task_states.SPAWNING, host=host)
                if zone is None:
                    # As Nova: the zone of the host it was put on.
                    values['availability_zone'] = (
                        availability_zones.get_host_availability_zone(
                            ctx, host, self.conf))
                server = db.instance_create(values, image=image)
                self._recheck_quota(ctx, server)
        instance_actions.action_start(ctx, values['uuid'],
                                      instance_actions.CREATE)
        if host is None:
            LOG.warning('No host for server %s: %s', values['uuid'],
                        refused.message)
            values.update(vm_state=vm_states.ERROR, task_state=None,
                          fault=refused.message)
            server = db.instance_create(values, image=image)
            self._recheck_quota(ctx, server)
            return self._annotate([server])[0]
        self._hand_over(server, task_states.SPAWNING, lambda:
                        self.compute_task_api.build_instances(ctx, server))
        return self._annotate([server])[0]

    # -- quotas (nova.quota): a DB count at check time, again after the
    # insert ([quota] recheck_quota), as Nova's counting quotas.

    def _check_quota(self, ctx, flavor, instances=1):
        quota.check_deltas(self.conf, ctx.project_id, ctx.user_id, {
            'instances': instances, 'cores': flavor['vcpus'],
            'ram': flavor['ram']})

    def _recheck_quota(self, ctx, server):
        """Undo the new row when a racing create got in first."""
        try:
            quota.recheck(self.conf, ctx.project_id, ctx.user_id)
        except exception.TooManyInstances:
            db.instance_delete(server['uuid'])
            raise

    def _requested_zone(self, ctx, requested):
        """``(zone, host)`` of Nova's 'zone[:host[:node]]'; the zone must
        be one the compute hosts are in (InvalidRequest, 400)."""
        if requested is None:
            return None, None
        _check_string(requested, 'availability_zone')
        zone, _, rest = requested.partition(':')
        host = rest.partition(':')[0] or None
        if zone:
            available, unavailable = (
                availability_zones.get_availability_zones(ctx, self.conf))
            if zone not in available + unavailable:
                raise exception.InvalidRequest(reason=(
                    'The requested availability zone is not available: '
                    '%s' % zone[:255]))
        return zone or None, host

    def update(self, ctx, server_id, name=UNSET, description=UNSET,
               access_ip_v4=UNSET, access_ip_v6=UNSET, disk_config=UNSET,
               metadata=UNSET):
        """Change what PUT /servers/{id} changes, in any state; returns
        the server. Only the arguments given are changed."""
        server = self._get(ctx, server_id)
        values = _changes(name=name, description=description,
                          access_ip_v4=access_ip_v4,
                          access_ip_v6=access_ip_v6,
                          disk_config=disk_config, metadata=metadata,
                          metadata_limit=quota.metadata_limit(
                              self.conf, server['project_id']))
        if not values:
            return self._annotate([server])[0]
        updated = db.instance_update(server['uuid'], values)
        if updated is None:
            raise exception.InstanceNotFound(instance_id=server_id)
        return self._annotate([updated])[0]

    def get(self, ctx, server_id):
        return self._annotate([self._get(ctx, server_id)])[0]

    def list(self, ctx):
        return self._annotate(db.instance_get_all(
            project_id=None if ctx.can(server_policies.INDEX_ALL_TENANTS,
                                       fatal=False) else ctx.project_id))

    def delete(self, ctx, server_id):
        """Accept a delete, in any state; deleting twice is harmless.

        A server that never got a host is simply forgotten; one whose
        host is down cannot be deleted until it is back (its guest would
        be left running there).
        """
        server = self._get(ctx, server_id)
        self._check_lock(ctx, server)
        self._check_open()
        uuid = server['uuid']
        if server['host'] is None:
            record = db.shelved_instance_get(uuid)  # gone with the row
            instance_actions.action_start(ctx, uuid, instance_actions.DELETE)
            db.instance_delete(uuid)
            self._delete_saved_image(ctx, record)
            return
        if server['task_state'] != task_states.DELETING:
            self._check_host(server)
        updated = db.instance_update(
            uuid, {'task_state': task_states.DELETING},
            expected_task_state=(None,) + tuple(
                t for t in task_states.ALL
                if t not in (task_states.DELETING, task_states.MIGRATING) +
                task_states.RESIZE_STATES))
        if updated is None:
            server = self._get(ctx, server_id)  # InstanceNotFound if gone
            # A move in progress: its guest may be on either host.
            if server['task_state'] in ((task_states.MIGRATING,) +
                                        task_states.RESIZE_STATES):
                raise self._invalid_state(ctx, server_id, 'delete')
            return  # already being deleted
        instance_actions.action_start(ctx, uuid, instance_actions.DELETE)
        tokens.delete_for_instance(uuid)
        # Only now that the delete is accepted (a refused one keeps it).
        self._delete_saved_image(ctx, db.shelved_instance_get(uuid))
        self._hand_over(updated, task_states.DELETING, lambda:
                        self.compute_task_api.delete_instance(ctx, updated))

    def reboot(self, ctx, server_id, reboot_type):
        """SOFT: from ACTIVE. HARD: from ACTIVE, ERROR, STOPPED or a
        soft reboot."""
        if reboot_type not in task_states.REBOOT_TASK_STATES:
            raise _bad('reboot_type', "must be 'SOFT' or 'HARD'")
        if reboot_type == 'SOFT':
            vm_state, tasks = (vm_states.ACTIVE,), (None,)
        else:
            # A hard reboot starts a stopped server, as in Nova.
            vm_state = (vm_states.ACTIVE, vm_states.ERROR,
                        vm_states.STOPPED)
            tasks = (None, task_states.REBOOTING)
        task = task_states.REBOOT_TASK_STATES[reboot_type]
        updated = self._enter_task(ctx, server_id, task, vm_state, 'reboot',
                                   from_tasks=tasks)
        instance_actions.action_start(ctx, updated['uuid'],
                                      instance_actions.REBOOT)
        tokens.delete_for_instance(updated['uuid'])
        self._hand_over(updated, task, lambda:
                        self.compute_task_api.reboot_instance(
                            ctx, updated, reboot_type))

    def rebuild(self, ctx, server_id, image_ref, description=UNSET,
                name=UNSET, metadata=UNSET, access_ip_v4=UNSET,
                access_ip_v6=UNSET, disk_config=UNSET):
        """Boot the server again from ``image_ref``; from ACTIVE, ERROR
        or STOPPED, as Nova. A STOPPED server is rebuilt without being
        started (it stays SHUTOFF; compute RPC 2.6).

        The other arguments, when given, change the server as
        :meth:`update` does (``metadata`` replaces the server's).
        """
        server = self._get(ctx, server_id)
        self._check_lock(ctx, server)
        image = self.image_get(ctx, image_ref)
        # The flavor the server was created with (its snapshot).
        flavor = db.instance_flavor(server)
        if flavor is not None:
            check_image_fits_flavor(flavor, image)
        values = {'task_state': task_states.REBUILDING,
                  'image_id': image['id']}
        values.update(_changes(name=name, description=description,
                               access_ip_v4=access_ip_v4,
                               access_ip_v6=access_ip_v6,
                               disk_config=disk_config, metadata=metadata,
                               metadata_limit=quota.metadata_limit(
                                   self.conf, server['project_id'])))
        self._check_open()
        self._check_host(server)
        updated = db.instance_update(
            server['uuid'], values,
            expected_vm_state=REBUILD_FROM,
            expected_task_state=None, image=image)
        if updated is None:
            raise self._invalid_state(ctx, server_id, 'rebuild')
        instance_actions.action_start(ctx, server['uuid'],
                                      instance_actions.REBUILD)
        tokens.delete_for_instance(server['uuid'])
        self._hand_over(updated, task_states.REBUILDING, lambda:
                        self.compute_task_api.rebuild_instance(
                            ctx, updated, image))
        return self._annotate([updated])[0]

    # -- os-stop / os-start ---------------------------------------------------

    def _power_invalid_state(self, ctx, server_id, action):
        """Nova's InstanceInvalidState text for ``action`` ('stop',
        'start'): "Cannot 'stop' instance <uuid> while it is in vm_state
        <state>" (task_state <task> while a task runs)."""
        server = self._get(ctx, server_id)  # it may be gone meanwhile
        attr, state = (('task_state', server['task_state'])
                       if server['task_state'] else
                       ('vm_state', server['vm_state']))
        return exception.InstanceInvalidState(
            action="'%s'" % action, instance_uuid=server['uuid'],
            state='in %s %s' % (attr, state))

    def _power(self, ctx, server_id, action, from_states, task, send):
        updated = self._enter_task(ctx, server_id, task, from_states,
                                   action,
                                   invalid=self._power_invalid_state)
        instance_actions.action_start(ctx, updated['uuid'], action)
        # Its serial port closes (stop) or may change (start).
        tokens.delete_for_instance(updated['uuid'])
        self._hand_over(updated, task, lambda: send(updated))

    def stop(self, ctx, server_id):
        """os-stop: power the guest off (vm_state stopped, status
        SHUTOFF); it keeps its disk and console log. From ACTIVE or
        ERROR with no task running, as Nova (which also stops a rescued
        server: there is no rescue here).

        :raises InstanceNotFound: no such server (for the caller): 404.
        :raises InstanceIsLocked: locked, caller no admin: 409.
        :raises InstanceInvalidState: another state or a task: 409.
        :raises InstanceHostUnavailable: its host is down: 409.
        """
        self._power(ctx, server_id, instance_actions.STOP,
                    (vm_states.ACTIVE, vm_states.ERROR),
                    task_states.POWERING_OFF, lambda server:
                    self.compute_task_api.stop_instance(ctx, server))

    def start(self, ctx, server_id):
        """os-start: boot a stopped server again (ACTIVE); its console
        log goes on after the stopped run's. Errors as :meth:`stop`;
        only a STOPPED server with no task starts."""
        self._power(ctx, server_id, instance_actions.START,
                    (vm_states.STOPPED,), task_states.POWERING_ON,
                    lambda server:
                    self.compute_task_api.start_instance(ctx, server))

    # -- key pairs (nova.compute.keypairs; the REST API checks the policy)

    def keypair_list(self, ctx, user_id):
        return keypairs.get_all(user_id)

    def keypair_get(self, ctx, user_id, name):
        return keypairs.get(user_id, name)

    def keypair_create(self, ctx, user_id, name, key_type='ssh',
                       public_key=None):
        """KeypairLimitExceeded (403) past the user's key_pairs quota
        (in the caller's project), counted before and after the insert
        (a racing create undone)."""
        limit = quota.key_pair_limit(self.conf, ctx.project_id, user_id)
        return keypairs.create(
            user_id, name, key_type=key_type, public_key=public_key,
            limit=limit, recheck=self.conf.quota.recheck_quota)

    def keypair_delete(self, ctx, user_id, name):
        keypairs.delete(user_id, name)

    # -- live migration -----------------------------------------------------

    def live_migrate(self, ctx, server_id, host=None,
                     block_migration='auto', force=True,
                     disk_over_commit=None):
        """Move an ACTIVE server to ``host`` (or one the scheduler picks).

        Who may is the REST API's policy check
        (``os_compute_api:os-migrate-server:migrate_live``). Checked
        here, then a short call to the conductor, which runs the
        pre-checks of both hosts (their errors are the caller's: 400)
        and starts the migration; it runs on without this request. The
        server is MIGRATING meanwhile, then ACTIVE on the new host, or
        ACTIVE on the old one if the migration failed. ``force`` False
        (microversion 2.30): a named ``host`` must pass the scheduler's
        filters too; True: only the hosts' own pre-checks.
        ``disk_over_commit`` (before microversion 2.25; None after):
        True checks the destination's free space against the disk's
        actual size, False against its virtual size (block migration).
        """
        if block_migration not in (True, False, 'auto'):
            raise _bad('block_migration', "must be true, false or 'auto'")
        if disk_over_commit not in (None, True, False):
            raise _bad('disk_over_commit', 'must be true or false')
        if host is not None:
            _check_string(host, 'host')
        server = self._get(ctx, server_id)
        self._check_lock(ctx, server)
        self._check_open()
        self._check_host(server)
        if not _ready(server):
            raise self._invalid_state(ctx, server_id, 'live migrate')
        instance_actions.action_start(ctx, server['uuid'],
                                      instance_actions.LIVE_MIGRATION)
        kwargs = {}
        if disk_over_commit is not None:
            kwargs['disk_over_commit'] = disk_over_commit
        self.compute_task_api.live_migrate_instance(
            ctx, server, host, block_migration, force=force, **kwargs)

    # -- resize: cold migration and resize (nova.conductor.migrate) -------

    def _start_move(self, ctx, server_id, action, flavor_id=None):
        updated = self._enter_task(ctx, server_id, task_states.RESIZE_PREP,
                                   vm_states.ACTIVE,
                                   'resize' if flavor_id else 'migrate')
        instance_actions.action_start(ctx, updated['uuid'], action)
        try:
            self.compute_task_api.migrate_server(ctx, updated, flavor_id)
        except exception.NovaException:
            # The conductor put it back when it answered; not when the
            # message never got there.
            db.instance_update(updated['uuid'], {'task_state': None},
                               expected_task_state=task_states.RESIZE_PREP)
            raise

    def migrate(self, ctx, server_id):
        """Cold migrate an ACTIVE server to a host the scheduler picks
        (admins: the REST API's policy). It ends VERIFY_RESIZE there,
        to confirm or revert.

        :raises: InstanceInvalidState, InstanceIsLocked,
            InstanceHostUnavailable (409), NoValidHost (400),
            ServiceUnavailable (503).
        """
        self._start_move(ctx, server_id, instance_actions.MIGRATE)

    def resize(self, ctx, server_id, flavor_ref):
        """Resize an ACTIVE server to the flavor ``flavor_ref`` (its id).

        :raises: FlavorNotFound, CannotResizeToSameFlavor,
            CannotResizeDisk, NoValidHost, and the server's image not
            fitting the new flavor as for create (FlavorMemoryTooSmall,
            ImageSerialPortNumber..., FlavorDiskSmallerThan...) (400);
            the 409s of migrate.
        """
        server = self._get(ctx, server_id)
        # As Nova's decorators: the lock, then the state, then the input.
        self._check_lock(ctx, server)
        if not _ready(server):
            raise self._invalid_state(ctx, server_id, 'resize')
        flavor = self.flavor_get(ctx, flavor_ref)
        if str(flavor['id']) == str(server['flavor_id']):
            raise exception.CannotResizeToSameFlavor()
        current = db.instance_flavor(server) or {}
        if (flavor.get('disk') or 0) < (current.get('disk') or 0):
            raise exception.CannotResizeDisk(
                reason='the flavor %s has a root disk of %d GB, smaller '
                       'than the server\'s %d GB' % (
                           flavor['id'], flavor.get('disk') or 0,
                           current.get('disk') or 0))
        # As create and rebuild do (and Nova's resize): the server's
        # image against the new flavor, a 400 now rather than a move
        # that fails on the destination.
        try:
            image = self.image_get(ctx, server['image_id'])
        except exception.NotFound:
            image = None  # gone from the catalog: nothing to check
        if image is not None:
            check_image_fits_flavor(flavor, image)
        # Nova's upsize check: only an increase is counted (the server
        # keeps the larger flavor's share until confirm or revert).
        increase = {resource: flavor[key] - (current.get(key) or 0)
                    for resource, key in (('cores', 'vcpus'),
                                          ('ram', 'ram'))}
        quota.check_deltas(self.conf, server['project_id'],
                           server['user_id'],
                           {resource: delta for resource, delta in
                            increase.items() if delta > 0})
        self._start_move(ctx, server_id, instance_actions.RESIZE,
                         flavor_id=flavor['id'])

    def _end_move(self, ctx, server_id, task, action, label, send):
        updated = self._enter_task(ctx, server_id, task, vm_states.RESIZED,
                                   label)
        instance_actions.action_start(ctx, updated['uuid'], action)
        tokens.delete_for_instance(updated['uuid'])
        try:
            send(updated)
        except exception.NovaException:
            db.instance_update(updated['uuid'], {'task_state': None},
                               expected_task_state=task)
            raise

    def confirm_resize(self, ctx, server_id):
        """Keep a VERIFY_RESIZE server where it is: its source drops the
        folder and serial ports it kept for a revert."""
        self._end_move(ctx, server_id, task_states.RESIZE_CONFIRMING,
                       instance_actions.CONFIRM_RESIZE, 'confirm resize',
                       lambda s: self.compute_task_api.confirm_resize(ctx,
                                                                      s))

    def revert_resize(self, ctx, server_id):
        """Take a VERIFY_RESIZE server back to its source, old flavor,
        console log included (what it wrote on the destination too)."""
        self._end_move(ctx, server_id, task_states.RESIZE_REVERTING,
                       instance_actions.REVERT_RESIZE, 'revert resize',
                       lambda s: self.compute_task_api.revert_resize(ctx,
                                                                     s))

    # -- services and hypervisors (the REST API checks the policy) ------

    def service_list(self, ctx):
        """The services, each with ``up`` and its availability ``zone``
        (nova.compute.availability_zones)."""
        return [dict(s, up=servicegroup.is_up(s, self.conf),
                     zone=availability_zones.get_service_availability_zone(
                         ctx, s, self.conf))
                for s in db.service_list()]

    def _hypervisor(self, service):
        report = service['report'] or {}
        memory = report.get('memory_mb', 0)
        return {
            'id': service['id'],
            'hypervisor_hostname': report.get('hypervisor_hostname',
                                              service['host']),
            'host': service['host'],
            'up': servicegroup.is_up(service, self.conf),
            'disabled': service['disabled'],
            'disabled_reason': service['disabled_reason'],
            'hypervisor_type': report.get('hypervisor_type', 'QEMU'),
            'hypervisor_version': report.get('hypervisor_version', 0),
            'host_ip': report.get('host_ip'),
            'vcpus': report.get('vcpus', 0),
            'vcpus_used': report.get('vcpus_used', 0),
            'memory_mb': memory,
            'memory_mb_used': memory - report.get('memory_mb_free', memory),
            'running_vms': report.get('running_vms', 0),
            'virtlogd': bool(report.get('virtlogd', False)),
            'console_log': report.get('console_log', 'none'),
            'libvirt_version': report.get('libvirt_version'),
            'qemu_version': report.get('qemu_version'),
            'serial_ports_total': report.get('serial_ports_total', 0),
            'serial_ports_free': report.get('serial_ports_free', 0),
            # Nova's cpu_info and the host's `uptime` line, once the
            # host reports them.
            'cpu_info': report.get('cpu_info') or {},
            'uptime': report.get('uptime'),
        }

    def hypervisor_list(self, ctx):
        return [self._hypervisor(s) for s in db.service_list()]

    def hypervisor_get(self, ctx, hypervisor_id):
        for service in db.service_list():
            if str(service['id']) == str(hypervisor_id):
                return self._hypervisor(service)
        raise exception.HypervisorNotFound(hypervisor_id=hypervisor_id)

    # -- adm: hypervisors' servers, service actions, aggregates -------------

    def hypervisor_servers(self, ctx, host):
        """[(domain name, uuid)] of the servers on ``host``, as Nova's
        /os-hypervisors/{pattern}/servers names them."""
        return [(objects.Instance(uuid=s['uuid']).name, s['uuid'])
                for s in db.instance_get_all(host=host)]

    def service_find(self, ctx, host, binary):
        """The service ``binary`` of ``host``; ServiceNotFound."""
        for service in self.service_list(ctx):
            if service['host'] == host and service['binary'] == binary:
                return service
        raise exception.ServiceNotFound(
            service_id='%s on host %s' % (binary, host))

    def service_update(self, ctx, service_id, values):
        """Set ``disabled``, ``disabled_reason`` or ``forced_down``; a
        disabled host takes no new server (the scheduler skips it), a
        forced-down one counts as down at once."""
        updated = db.service_update(service_id, values)
        if updated is None:
            raise exception.ServiceNotFound(service_id=service_id)
        return dict(updated, up=servicegroup.is_up(updated, self.conf))

    def service_delete(self, ctx, service_id):
        """Forget a service (its host leaves every aggregate); 409 while
        servers are on its host, as Nova."""
        for service in db.service_list():
            if service['id'] == service_id:
                break
        else:
            raise exception.ServiceNotFound(service_id=service_id)
        if db.instance_get_all(host=service['host']):
            raise exception.Conflict(
                reason='Unable to delete compute service that is hosting '
                       'instances. Migrate or delete the instances first.')
        if not db.service_delete(service_id):
            raise exception.ServiceNotFound(service_id=service_id)

    # Host aggregates (nova.compute.aggregates; the REST API checks the
    # policy).

    def aggregate_list(self, ctx):
        return aggregates.aggregate_list(ctx)

    def aggregate_get(self, ctx, aggregate_id):
        return aggregates.aggregate_get(ctx, aggregate_id)

    def aggregate_create(self, ctx, name, availability_zone=None):
        return aggregates.aggregate_create(ctx, name, availability_zone,
                                           self.conf)

    def aggregate_update(self, ctx, aggregate_id, values):
        return aggregates.aggregate_update(ctx, aggregate_id, values,
                                           self.conf)

    def aggregate_delete(self, ctx, aggregate_id):
        return aggregates.aggregate_delete(ctx, aggregate_id)

    def aggregate_add_host(self, ctx, aggregate_id, host):
        return aggregates.add_host(ctx, aggregate_id, host, self.conf)

    def aggregate_remove_host(self, ctx, aggregate_id, host):
        return aggregates.remove_host(ctx, aggregate_id, host)

    def aggregate_set_metadata(self, ctx, aggregate_id, metadata):
        return aggregates.set_metadata(ctx, aggregate_id, metadata,
                                       self.conf)

    # -- consoles -----------------------------------------------------------

    @staticmethod
    def _check_ready(server):
        # A resized server (VERIFY_RESIZE) runs on its new host: its
        # consoles are there, as in Nova.
        if not (_ready(server) or (
                server['vm_state'] == vm_states.RESIZED and
                not server['task_state'])):
            raise exception.InstanceNotReady(instance_id=server['uuid'],
                                             state=_state(server))

    def get_console_server(self, ctx, server_id):
        """The server (as ``get``, without ``host_status`` and ``node``)
        and, under ``'service'``, its host's service row for the host's
        liveness (see db.instance_get_with_service): one database round
        trip, for get_console_output's ``server``.

        :raises nova.exception.InstanceNotFound: as ``get``.
        """
        server, service = (db.instance_get_with_service(server_id)
                           if isinstance(server_id, str) else (None, None))
        # The rule of _get: another project's server does not exist.
        if server is None or not (ctx.is_admin or
                                  server['project_id'] == ctx.project_id):
            raise exception.InstanceNotFound(instance_id=server_id)
        server['service'] = service
        return server

    def get_console_output(self, ctx, server_id, tail_length=None,
                           server=None):
        """The console log's newest bytes: its last ``tail_length``
        lines (int >= 0; None: all), see ComputeAPI.get_console_output.

        ``server``: what get_console_server returned for ``server_id``
        in this request (the REST layer read it to authorize the call),
        so that the database is not read again; read when None.
        """
        if server is None:
            server = self.get_console_server(ctx, server_id)
        if not (server['vm_state'] == vm_states.STOPPED and
                not server['task_state']):
            # A stopped guest's log is still on its host.
            self._check_ready(server)
        servicegroup.check_service_of(server, server['service'], self.conf)
        return self.compute_rpcapi.get_console_output(
            ctx, server['host'], _bare_instance(server),
            tail_length=tail_length)

    def _authorize_console(self, ctx, server, console_type):
        """A fresh token of ``console_type`` for the server's first tcp
        serial port (the host is asked for a plain serial console: a
        viewer's token names the same port)."""
        self._check_ready(server)
        self._check_host(server)
        console = self.compute_rpcapi.get_serial_console(
            ctx, server['host'], _bare_instance(server), ctype.SERIAL)
        return tokens.authorize(server['uuid'], console_type, console.host,
                                console.port)

    def get_serial_console(self, ctx, server_id, console_type='serial'):
        """A console URL for the server, with a fresh token."""
        server = self._get(ctx, server_id)
        if console_type != ctype.SERIAL:
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        token = self._authorize_console(ctx, server, console_type)
        return {'type': console_type,
                'url': console_url(self.conf.serial_console.base_url,
                                   token)}

    def get_console_viewer(self, ctx, server_id):
        """A read-only viewer of the server's serial console.

        Returns ``{'type': 'serial-readonly', 'url': <websocket URL>,
        'web_url': <the proxy's web terminal for it>}`` with a fresh
        token, stored hashed with the instance's other console tokens:
        the same TTL, revoked with them (reboot, rebuild, delete, live
        migration). Errors as get_serial_console: InstanceNotFound (also
        for another project's server), InstanceNotReady or
        InstanceHostUnavailable (409), ConsoleTypeUnavailable (400, no
        serial console on the host), ServiceUnavailable (503, broker).
        """
        server = self._get(ctx, server_id)
        token = self._authorize_console(ctx, server, ctype.READ_ONLY)
        base_url = self.conf.serial_console.base_url
        return {'type': ctype.READ_ONLY,
                'url': console_url(base_url, token),
                'web_url': console_page_url(base_url, token)}

    # -- shv: shelve, shelveOffload, unshelve (nova.conductor.shelve) ------

    def _shelve_start(self, ctx, server_id, action, vm_states_from, task):
        """The server, locked and checked, put in ``task`` from one of
        ``vm_states_from`` with no task; 409 otherwise."""
        return self._enter_task(ctx, server_id, task, vm_states_from,
                                action, check_host=self._check_shelved_host)

    def _check_shelved_host(self, server):
        # An offloaded server has no host to ask.
        if server['host'] is not None and server['vm_state'] != (
                vm_states.SHELVED_OFFLOADED):
            self._check_host(server)

    def shelve(self, ctx, server_id):
        """Shelve an ACTIVE server (Nova's ``shelve``, 202).

        Its disk is saved as the new image "<server name>-shelved" of
        the caller's project (made here, as the caller; filled by the
        host), the guest stopped: SHELVED; then offloaded at once with
        ``[DEFAULT] shelved_offload_time`` = 0 (see
        nova.conductor.shelve). 409: another state, a task, locked.
        """
        server = self._get(ctx, server_id)
        self._check_lock(ctx, server)
        if not _ready(server):
            raise self._invalid_state(ctx, server_id, 'shelve')
        image = self._shelve_image(ctx, server)
        try:
            updated = self._shelve_start(ctx, server_id, 'shelve',
                                         (vm_states.ACTIVE,),
                                         task_states.SHELVING)
        except Exception:
            self._delete_image(ctx, image['id'])
            raise
        instance_actions.action_start(ctx, updated['uuid'],
                                      instance_actions.SHELVE)
        tokens.delete_for_instance(updated['uuid'])
        self._hand_over(updated, task_states.SHELVING, lambda:
                        self.compute_task_api.shelve_instance(
                            ctx, updated, image['id']))

    def _shelve_image(self, ctx, server):
        """The queued image the host saves the disk into, with Nova's
        name and properties."""
        from nova import image as image_api
        properties = {'image_type': 'snapshot',
                      'instance_uuid': server['uuid'],
                      'base_image_ref': server['image_id']}
        try:
            base = self.image_get(ctx, server['image_id'])
        except exception.NotFound:
            base = None
        if base is not None:
            # As Nova: the new image boots like the old one (its kernel,
            # its serial port count...).
            for key, value in (base.get('properties') or {}).items():
                # Glance's own (os_glance_*) are Glance's to set.
                if (isinstance(value, (str, int, float, bool)) and
                        not key.startswith('os_glance')):
                    properties.setdefault(key, str(value))
            properties.pop('owner_project', None)
        try:
            return image_api.API(self.conf).create(
                ctx, '%s-shelved' % server['name'], properties=properties)
        except exception.GlanceConnectionFailed as e:
            raise exception.ServiceUnavailable(
                reason='the image for the shelved server cannot be made: '
                       '%s' % e.message)

    def _delete_saved_image(self, ctx, record):
        """-- shv: a deleted server's saved disk goes with it, as
        Nova's: whatever its state (shelving, shelved, offloaded,
        unshelving), the image its shelve record names holds its disk."""
        if record and record['image_id']:
            self._delete_image(ctx, record['image_id'])

    def _delete_image(self, ctx, image_id):
        from nova import image as image_api
        try:
            image_api.API(self.conf).delete(ctx, image_id)
        except Exception as e:
            LOG.warning('Image %s not deleted: %s', image_id,
                        exception.fault_message(e))

    def shelve_offload(self, ctx, server_id):
        """Offload a SHELVED server (Nova's ``shelveOffload``, 202; the
        REST API checks its policy, admins by default): destroyed on its
        host, which it leaves; its log kept in the database."""
        self._shelve_hand_over(ctx, server_id, 'shelveOffload',
                               (vm_states.SHELVED,),
                               task_states.SHELVING_OFFLOADING,
                               instance_actions.SHELVE_OFFLOAD,
                               self.compute_task_api.shelve_offload_instance)

    def _shelve_hand_over(self, ctx, server_id, label, vm_states_from, task,
                          action, send):
        """_shelve_start, the instance action recorded, and ``send(ctx,
        server)`` to the conductor (_hand_over)."""
        updated = self._shelve_start(ctx, server_id, label, vm_states_from,
                                     task)
        instance_actions.action_start(ctx, updated['uuid'], action)
        self._hand_over(updated, task, lambda: send(ctx, updated))

    def unshelve(self, ctx, server_id):
        """Unshelve a SHELVED or SHELVED_OFFLOADED server (Nova's
        ``unshelve``, 202): started again on its host, or booted on the
        host the scheduler picks from its saved disk, its console log
        written back there; ACTIVE."""
        self._shelve_hand_over(
            ctx, server_id, 'unshelve',
            (vm_states.SHELVED, vm_states.SHELVED_OFFLOADED),
            task_states.UNSHELVING, instance_actions.UNSHELVE,
            self.compute_task_api.unshelve_instance)

    # -- admin: os-resetState, diagnostics, host uptime, external events

    def reset_state(self, ctx, server_id, state):
        """os-resetState: set the server's vm_state to ``state`` (one of
        RESET_STATES) and clear its task_state, whatever they were, as
        Nova; the guest and its host are not asked. An action still
        running finds its task gone and does not overwrite the state
        set here (the conductor's updates expect their task).

        :raises nova.exception.InstanceNotFound: 404.
        :raises nova.exception.ValidationError: another state: 400.
        """
        if state not in RESET_STATES:
            raise _bad('os-resetState.state', "must be 'active' or 'error'")
        server = self._get(ctx, server_id)
        updated = db.instance_update(server['uuid'], {
            'vm_state': state, 'task_state': None})
        if updated is None:
            raise exception.InstanceNotFound(instance_id=server_id)
        LOG.info('vm_state of server %s reset to %s by an admin (was %s, '
                 'task %s)', server['uuid'], state, server['vm_state'],
                 server['task_state'])

    def get_diagnostics(self, ctx, server_id):
        """The running guest's hypervisor statistics (a dict, see
        ComputeDriver.get_diagnostics), asked of its host (compute RPC
        2.6, a short call).

        :raises nova.exception.InstanceNotFound: 404.
        :raises nova.exception.InstanceNotReady: no host yet: 409.
        :raises nova.exception.InstanceInvalidState: its guest does not
            run (the host says so): 409.
        :raises nova.exception.InstanceHostUnavailable: host down: 409.
        """
        server = self._get(ctx, server_id)
        if not server['host']:
            raise exception.InstanceNotReady(instance_id=server['uuid'],
                                             state=_state(server))
        self._check_host(server)
        return self.compute_rpcapi.get_diagnostics(
            ctx, server['host'], _bare_instance(server))

    def get_host_uptime(self, ctx, host):
        """The ``uptime`` line of compute host ``host`` (compute RPC 2.6,
        a short call), as Nova's os-hypervisors/{id}/uptime.

        :raises nova.exception.ComputeServiceUnavailable: the host's
            service is down: 400, as Nova.
        """
        service = db.service_get_by_host(host)
        if service is None or not servicegroup.is_up(service, self.conf):
            raise exception.ComputeServiceUnavailable(host=host)
        return self.compute_rpcapi.get_host_uptime(ctx, host)

    def external_instance_events(self, ctx, events):
        """Nova's os-server-external-events: each event (a dict with
        ``name``, ``server_uuid``, optional ``status`` and ``tag``) is
        answered with Nova's ``code``: 404 (no such server, status
        'failed'), 422 (the server has no host yet, 'failed') or 200
        (accepted; ``status`` as sent, default 'completed').

        An accepted event is acknowledged and logged only: servers here
        have no network ports or volumes, so no guest waits for one.

        :returns: the events, each a new dict with ``code`` and
            ``status``.
        """
        answers = []
        for event in events:
            answer = dict(event)
            answer.setdefault('status', 'completed')
            server = (db.instance_get(event['server_uuid'])
                      if ctx.is_admin else None)
            if server is None:
                answer.update(code=404, status='failed')
            elif not server['host']:
                answer.update(code=422, status='failed')
            else:
                answer['code'] = 200
                LOG.info('External event %s (%s, tag %r) for server %s '
                         'on host %s acknowledged', event['name'],
                         answer['status'], event.get('tag'),
                         server['uuid'], server['host'])
            answers.append(answer)
        return answers
