"""The compute API's calls on what is recorded about servers: locks
(microversion 2.9), tags (2.26), metadata, instance actions, migrations,
limits and availability zones. ``nova.compute.api.API`` inherits them;
the REST layer checks the policies.

Every call takes the caller's RequestContext and finds the server as
the other calls do (another project's server does not exist for the
caller; InstanceNotFound, 404).
"""

from nova.compute import availability_zones
from nova.compute import instance_actions
from nova.compute import vm_states
from nova.db import api as db
from nova import exception
from nova import quota
from nova import servicegroup

# Nova's limits: at most 50 tags of at most 60 characters (2.26), and
# the default quota of metadata items (128; [quota] metadata_items and
# the quota APIs set the one enforced, nova.quota).
MAX_TAGS = 50
MAX_TAG_LENGTH = 60
MAX_METADATA_ITEMS = 128

# Where tags and metadata may change, as in Nova (which also lists
# paused, suspended and shelved: no action here leads there). Metadata
# also needs no task running.
TAG_STATES = (vm_states.ACTIVE, vm_states.STOPPED)
METADATA_STATES = (vm_states.ACTIVE, vm_states.STOPPED)

OWNER = 'owner'
ADMIN = 'admin'

MIGRATION_TYPE = 'live-migration'


def _int_or_none(value):
    """Nova's flavor ids in migrations are integers; ours may not be."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ServerRecordsAPI:
    """Mixed into nova.compute.api.API (uses its _get and conf)."""

    # -- locks (2.9) ---------------------------------------------------------

    @staticmethod
    def _check_lock(ctx, server):
        """InstanceIsLocked (409) for a locked server, unless the caller
        is an admin, as Nova's check_instance_lock."""
        if server.get('locked') and not ctx.is_admin:
            raise exception.InstanceIsLocked(instance_uuid=server['uuid'])

    @staticmethod
    def expected_locked_by(ctx, server):
        """'owner' when the caller is in the server's project, else
        'admin' (who a lock by the caller is recorded as)."""
        return OWNER if server['project_id'] == ctx.project_id else ADMIN

    def is_expected_locked_by(self, ctx, server):
        """False when the server is locked by the other side (so unlock
        needs ``unlock_override``)."""
        locked_by = server.get('locked_by')
        return not locked_by or locked_by == self.expected_locked_by(
            ctx, server)

    def lock(self, ctx, server_id):
        server = self._get(ctx, server_id)
        if server.get('locked') and self.expected_locked_by(
                ctx, server) == OWNER:
            # As Nova: the owner's lock of a locked server changes
            # nothing, or it would turn an admin's lock into the owner's,
            # which the owner may lift.
            return
        instance_actions.action_start(ctx, server['uuid'],
                                      instance_actions.LOCK)
        db.instance_update(server['uuid'], {
            'locked': True,
            'locked_by': self.expected_locked_by(ctx, server)})

    def unlock(self, ctx, server_id):
        server = self._get(ctx, server_id)
        instance_actions.action_start(ctx, server['uuid'],
                                      instance_actions.UNLOCK)
        db.instance_update(server['uuid'], {'locked': False,
                                            'locked_by': None})

    # -- tags (2.26) ---------------------------------------------------------

    def _taggable(self, ctx, server_id, action):
        server = self._get(ctx, server_id)
        if server['vm_state'] not in TAG_STATES:
            raise self._invalid_state(ctx, server_id, action)
        return server

    def tags_of(self, uuids):
        """{uuid: sorted tags} (for the server bodies and filters)."""
        return db.instance_tags(uuids)

    def get_tags(self, ctx, server_id):
        server = self._get(ctx, server_id)
        return db.instance_tags([server['uuid']])[server['uuid']]

    def set_tags(self, ctx, server_id, tags):
        """Replace every tag; TooManyInstanceTags (400) past MAX_TAGS."""
        server = self._taggable(ctx, server_id, 'update tags of')
        result = db.instance_tags_set(server['uuid'], set(tags),
                                      limit=MAX_TAGS)
        if result is None:
            raise exception.TooManyInstanceTags(instance_id=server['uuid'],
                                                limit=MAX_TAGS)
        return result

    def add_tag(self, ctx, server_id, tag):
        """Add ``tag``; True when it is new, False when it was there."""
        server = self._taggable(ctx, server_id, 'update tags of')
        before = db.instance_tags([server['uuid']])[server['uuid']]
        if tag in before:
            return False
        if db.instance_tags_set(server['uuid'], tag,
                                limit=MAX_TAGS) is None:
            raise exception.TooManyInstanceTags(instance_id=server['uuid'],
                                                limit=MAX_TAGS)
        return True

    def delete_tag(self, ctx, server_id, tag):
        server = self._taggable(ctx, server_id, 'delete tags of')
        if not db.instance_tag_delete(server['uuid'], tag):
            raise exception.InstanceTagNotFound(instance_id=server['uuid'],
                                                tag=tag)

    def delete_tags(self, ctx, server_id):
        server = self._taggable(ctx, server_id, 'delete tags of')
        db.instance_tag_delete(server['uuid'])

    # -- metadata ------------------------------------------------------------

    def get_metadata(self, ctx, server_id):
        server = self._get(ctx, server_id)
        found = db.instance_metadata_get(server['uuid'])
        if found is None:
            raise exception.InstanceNotFound(instance_id=server_id)
        return found

    def update_metadata(self, ctx, server_id, metadata, replace=False):
        """Merge ``metadata`` (replace: set it); the whole metadata.
        MetadataLimitExceeded (403) past the project's metadata_items
        quota; 409 when
        locked, or not ACTIVE/SHUTOFF without a task."""
        return self._change_metadata(ctx, server_id, values=metadata,
                                     replace=replace)

    def delete_metadata_item(self, ctx, server_id, key):
        """MetadataItemNotFound (404) when there is no ``key``."""
        self._change_metadata(ctx, server_id, delete_key=key)

    def _change_metadata(self, ctx, server_id, **change):
        server = self._get(ctx, server_id)
        self._check_lock(ctx, server)
        if (server['vm_state'] not in METADATA_STATES or
                server['task_state'] is not None):
            raise self._invalid_state(ctx, server_id, 'update metadata of')
        found = db.instance_metadata_update(
            server['uuid'], limit=quota.metadata_limit(
                self.conf, server['project_id']), **change)
        if found is None:
            raise exception.InstanceNotFound(instance_id=server_id)
        return found

    # -- instance actions ----------------------------------------------------

    def _actions_of(self, ctx, server_id, deleted_ok):
        """The server's actions, newest first. A deleted server's
        (``deleted_ok``, 2.21) are found by its actions' project."""
        try:
            server = self._get(ctx, server_id)
        except exception.InstanceNotFound:
            if not deleted_ok or not isinstance(server_id, str):
                raise
            actions = db.action_list(server_id)
            if not actions or not (ctx.is_admin or actions[-1][
                    'project_id'] == ctx.project_id):
                raise
            return {'uuid': server_id,
                    'project_id': actions[-1]['project_id'],
                    'user_id': actions[-1]['user_id']}, actions
        return server, db.action_list(server['uuid'])

    def actions_list(self, ctx, server_id, deleted_ok=False):
        """(server owner dict, actions newest first)."""
        return self._actions_of(ctx, server_id, deleted_ok)

    def action_get(self, ctx, server_id, request_id, deleted_ok=False):
        """(server owner dict, the action with ``events`` (oldest
        first)); InstanceActionNotFound (404)."""
        server, actions = self._actions_of(ctx, server_id, deleted_ok)
        for action in actions:
            if action['request_id'] == request_id:
                return server, dict(action,
                                    events=db.action_events(action['id']))
        raise exception.InstanceActionNotFound(
            request_id=request_id, instance_uuid=server['uuid'])

    # -- migrations ----------------------------------------------------------

    def migration_list(self, ctx, **filters):
        """Every project's migrations (admins: the REST policy), newest
        first; filters as db.migration_list."""
        return [dict(m, old_instance_type_id=_int_or_none(
                    m['old_instance_type_id']),
                    new_instance_type_id=_int_or_none(
                    m['new_instance_type_id']))
                for m in db.migration_list(**filters)]

    # -- limits --------------------------------------------------------------

    def limits(self, ctx):
        """``(limits, used)``: the quota in force for the caller (its
        project's, or its own within it) and what its project uses and
        it holds (key pairs), ``{resource: n}`` each (nova.quota)."""
        return (quota.project_limits(self.conf, ctx.project_id,
                                     ctx.user_id),
                quota.usage(ctx.project_id, key_pair_user=ctx.user_id))

    # -- quotas (nova.quota; the REST API checks the policies) --------------

    def quota_limits(self, ctx, project_id, user_id=None):
        """The limits in force for the project (or a user of it)."""
        return quota.project_limits(self.conf, project_id, user_id)

    def quota_usage(self, ctx, project_id, user_id=None):
        """What the project (or a user of it) uses; key pairs: the
        user's (0 without one: key pairs belong to users)."""
        return quota.usage(project_id, user_id, key_pair_user=user_id)

    def quota_defaults(self, ctx):
        return quota.class_limits(self.conf)

    def quota_update(self, ctx, project_id, values, user_id=None,
                     force=False):
        """InvalidQuota (400) unless ``force``; see nova.quota.update."""
        return quota.update(self.conf, project_id, values, user_id=user_id,
                            force=force)

    def quota_delete(self, ctx, project_id, user_id=None):
        quota.delete(project_id, user_id)

    def quota_class_get(self, ctx, class_name):
        return quota.class_limits(self.conf, class_name)

    def quota_class_update(self, ctx, class_name, values):
        return quota.update_class(self.conf, class_name, values)

    # -- availability zones --------------------------------------------------

    def availability_zones(self, ctx, with_hosts=False):
        """[(zone, available, hosts)]; ``hosts`` None, or with_hosts
        {host: {binary: {'available', 'active', 'updated_at'}}}."""
        available, unavailable = availability_zones.get_availability_zones(
            ctx, self.conf)
        zones = [(z, True) for z in available] + [(z, False)
                                                  for z in unavailable]
        if not with_hosts:
            return [(zone, up, None) for zone, up in zones]
        hosts = {}
        for service in db.service_list():
            zone = availability_zones.get_service_availability_zone(
                ctx, service, self.conf)
            hosts.setdefault(zone, {}).setdefault(service['host'], {})[
                service['binary']] = {
                    'available': servicegroup.is_up(service, self.conf),
                    'active': not service['disabled'],
                    'updated_at': service['updated_at']}
        internal = self.conf.internal_service_availability_zone
        if internal in hosts and internal not in dict(zones):
            zones.append((internal, True))
        return [(zone, up, hosts.get(zone)) for zone, up in zones]
