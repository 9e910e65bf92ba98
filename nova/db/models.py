"""Tables of the compute API: flavors, images, instances, console tokens,
compute services.

Times are stored as naive UTC (SQLite keeps no zone) and come back as
aware UTC datetimes. A change of these tables comes with an alembic
revision under ``nova/db/migrations/versions``; a unit test compares the
two.
"""

import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy import orm


class UTCDateTime(sa.types.TypeDecorator):
    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ('mysql', 'mariadb'):
            # MariaDB's DATETIME drops the microseconds unless asked;
            # they order instances created in one second.
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(
                tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value


class Base(orm.DeclarativeBase):
    pass


class Flavor(Base):
    __tablename__ = 'flavors'

    id = sa.Column(sa.String(255), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False, unique=True)
    ram = sa.Column(sa.Integer, nullable=False)
    vcpus = sa.Column(sa.Integer, nullable=False)
    disk = sa.Column(sa.Integer, nullable=False, default=0)
    extra_specs = sa.Column(sa.JSON, nullable=False, default=dict)
    # adm: the rest of Nova's flavor fields.
    swap = sa.Column(sa.Integer, nullable=False, default=0,
                     server_default='0')
    ephemeral_gb = sa.Column(sa.Integer, nullable=False, default=0,
                             server_default='0')
    rxtx_factor = sa.Column(sa.Float, nullable=False, default=1.0,
                            server_default='1.0')
    is_public = sa.Column(sa.Boolean, nullable=False, default=True,
                          server_default=sa.true())
    disabled = sa.Column(sa.Boolean, nullable=False, default=False,
                         server_default=sa.false())


class Image(Base):
    __tablename__ = 'images'

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    kernel_path = sa.Column(sa.Text)
    ramdisk_path = sa.Column(sa.Text)
    disk_path = sa.Column(sa.Text)
    disk_format = sa.Column(sa.String(16), nullable=False, default='raw')
    properties = sa.Column(sa.JSON, nullable=False, default=dict)
    status = sa.Column(sa.String(16), nullable=False, default='active')


class Instance(Base):
    """An instance exists until its guest is gone: deletion removes the
    row. ``vm_state`` and ``task_state`` hold Nova's values
    (``nova.compute.vm_states``, ``nova.compute.task_states``); the REST
    API derives a server's status from them."""

    __tablename__ = 'instances'

    uuid = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)
    user_id = sa.Column(sa.String(255), nullable=False)
    flavor_id = sa.Column(sa.String(255), nullable=False)
    image_id = sa.Column(sa.String(36), nullable=False)
    vm_state = sa.Column(sa.String(255), nullable=False)
    task_state = sa.Column(sa.String(32))
    host = sa.Column(sa.String(255), index=True)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime)
    fault_message = sa.Column(sa.Text)
    description = sa.Column(sa.String(255))
    # -- ver: microversion 2.9 (lock / unlock); locked_by 'owner' or
    # 'admin', as Nova's.
    locked = sa.Column(sa.Boolean, nullable=False, default=False,
                       server_default=sa.false())
    locked_by = sa.Column(sa.String(255))
    # -- srv: what a server body shows (Nova's instance fields). Nullable:
    # rows made before them read as Nova's defaults (nova.db.api).
    # The attribute is not "metadata": declarative classes own that name.
    metadata_ = sa.Column('metadata', sa.JSON)
    key_name = sa.Column(sa.String(255))
    key_data = sa.Column(sa.Text)
    access_ip_v4 = sa.Column(sa.String(39))
    access_ip_v6 = sa.Column(sa.String(39))
    disk_config = sa.Column(sa.String(8))
    power_state = sa.Column(sa.Integer)
    launched_at = sa.Column(UTCDateTime)
    terminated_at = sa.Column(UTCDateTime)
    availability_zone = sa.Column(sa.String(255))
    config_drive = sa.Column(sa.String(255))
    user_data = sa.Column(sa.Text)


class ConsoleAuthToken(Base):
    """A console URL's token, kept only as its SHA-256 hex digest."""

    __tablename__ = 'console_auth_tokens'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    instance_uuid = sa.Column(sa.String(36), nullable=False, index=True)
    console_type = sa.Column(sa.String(32), nullable=False)
    host = sa.Column(sa.String(255), nullable=False)
    port = sa.Column(sa.Integer, nullable=False)
    expires_at = sa.Column(UTCDateTime, nullable=False, index=True)


class Service(Base):
    """A compute service, as its last report (heartbeat) described it."""

    __tablename__ = 'services'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    host = sa.Column(sa.String(255), nullable=False, unique=True)
    binary = sa.Column(sa.String(255), nullable=False)
    topic = sa.Column(sa.String(255), nullable=False)
    disabled = sa.Column(sa.Boolean, nullable=False, default=False)
    disabled_reason = sa.Column(sa.String(255))
    forced_down = sa.Column(sa.Boolean, nullable=False, default=False)
    # Set by a service that stopped cleanly: down at once, not after
    # service_down_time.
    stopped = sa.Column(sa.Boolean, nullable=False, default=False)
    report_count = sa.Column(sa.Integer, nullable=False, default=0)
    report = sa.Column(sa.JSON, nullable=False, default=dict)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime)


# -- ver: server tags, instance actions and their events, migrations.
# Rows of the last three outlive their instance, as Nova's (soft-deleted
# instances keep them): os-instance-actions shows a deleted server's
# actions from 2.21 and os-migrations its migrations.

class Tag(Base):
    """A server tag (microversion 2.26), Nova's ``tags`` table."""

    __tablename__ = 'tags'

    resource_id = sa.Column(sa.String(36), primary_key=True)
    tag = sa.Column(sa.String(80), primary_key=True)


class InstanceAction(Base):
    """A user's request on a server: create, reboot, rebuild, delete,
    live-migration, lock, unlock (``nova.compute.instance_actions``)."""

    __tablename__ = 'instance_actions'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    action = sa.Column(sa.String(255), nullable=False)
    instance_uuid = sa.Column(sa.String(36), nullable=False, index=True)
    request_id = sa.Column(sa.String(255))
    user_id = sa.Column(sa.String(255))
    project_id = sa.Column(sa.String(255))
    start_time = sa.Column(UTCDateTime, nullable=False)
    finish_time = sa.Column(UTCDateTime)
    message = sa.Column(sa.String(255))


class InstanceActionEvent(Base):
    """One step of an action on a host (``compute_reboot_instance``...);
    result 'Success' or 'Error'."""

    __tablename__ = 'instance_actions_events'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    action_id = sa.Column(sa.Integer, sa.ForeignKey('instance_actions.id'),
                          nullable=False, index=True)
    event = sa.Column(sa.String(255), nullable=False)
    start_time = sa.Column(UTCDateTime, nullable=False)
    finish_time = sa.Column(UTCDateTime)
    result = sa.Column(sa.String(255))
    traceback = sa.Column(sa.Text)
    host = sa.Column(sa.String(255))


class Migration(Base):
    """A live migration (``migration_type`` 'live-migration'), its status
    one of Nova's: accepted, preparing, running, completed, failed,
    error."""

    __tablename__ = 'migrations'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    instance_uuid = sa.Column(sa.String(36), nullable=False, index=True)
    source_compute = sa.Column(sa.String(255))
    dest_compute = sa.Column(sa.String(255))
    source_node = sa.Column(sa.String(255))
    dest_node = sa.Column(sa.String(255))
    dest_host = sa.Column(sa.String(255))
    old_instance_type_id = sa.Column(sa.String(255))
    new_instance_type_id = sa.Column(sa.String(255))
    status = sa.Column(sa.String(255), nullable=False)
    migration_type = sa.Column(sa.String(255), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime)


# -- srv

class KeyPair(Base):
    """A user's public key (``os-keypairs``): names are per user, as in
    Nova. The private key of a generated pair is never stored."""

    __tablename__ = 'key_pairs'
    __table_args__ = (
        sa.UniqueConstraint('user_id', 'name',
                            name='uniq_key_pairs0user_id0name'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    user_id = sa.Column(sa.String(255), nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    fingerprint = sa.Column(sa.String(255), nullable=False)
    public_key = sa.Column(sa.Text, nullable=False)
    type = sa.Column(sa.String(16), nullable=False, default='ssh')
    created_at = sa.Column(UTCDateTime, nullable=False)


# -- adm: flavor snapshots and host aggregates --------------------------------

class InstanceFlavor(Base):
    """The flavor an instance was created with, copied when its row was
    made (Nova keeps ``instance.flavor`` the same way): deleting the
    flavor or changing its extra specs leaves the instance as it was
    built, for its reboots, rebuilds, consoles and the scheduler's port
    claims."""

    __tablename__ = 'instance_flavors'

    instance_uuid = sa.Column(sa.String(36), primary_key=True)
    flavor_id = sa.Column(sa.String(255), nullable=False, index=True)
    flavor = sa.Column(sa.JSON, nullable=False)


class Aggregate(Base):
    """A host aggregate, as Nova's (hard-deleted, as in Nova's API
    database)."""

    __tablename__ = 'aggregates'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    name = sa.Column(sa.String(255), nullable=False, unique=True)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime)


class AggregateHost(Base):
    __tablename__ = 'aggregate_hosts'
    __table_args__ = (sa.UniqueConstraint(
        'host', 'aggregate_id',
        name='uniq_aggregate_hosts0host0aggregate_id'),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    host = sa.Column(sa.String(255), nullable=False, index=True)
    aggregate_id = sa.Column(sa.Integer, sa.ForeignKey('aggregates.id'),
                             nullable=False, index=True)


class AggregateMetadata(Base):
    __tablename__ = 'aggregate_metadata'
    __table_args__ = (sa.UniqueConstraint(
        'aggregate_id', 'key',
        name='uniq_aggregate_metadata0aggregate_id0key'),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    aggregate_id = sa.Column(sa.Integer, sa.ForeignKey('aggregates.id'),
                             nullable=False, index=True)
    key = sa.Column(sa.String(255), nullable=False, index=True)
    value = sa.Column(sa.String(255), nullable=False)


# -- t13: image snapshots ----------------------------------------------------

class InstanceImage(Base):
    """The image an instance was created (or last rebuilt) with, copied
    from Glance or the local catalog at that moment, as Nova copies an
    image's properties into the instance's system metadata: its reboots,
    power-ons and the scheduler's port claims read this copy, never the
    image as it is now (its properties may have changed, the image may
    be gone). ``image``: the keys of ``nova.db.api.IMAGE_SNAPSHOT_KEYS``.
    """

    __tablename__ = 'instance_images'

    instance_uuid = sa.Column(sa.String(36), primary_key=True)
    image_id = sa.Column(sa.String(36), nullable=False, index=True)
    image = sa.Column(sa.JSON, nullable=False)


class ShelvedInstance(Base):
    """A shelved instance's saved state (nova.conductor.shelve): the
    image its disk was saved to (Nova's ``shelved_image_id``) and, once
    it is offloaded, its console log, kept here until it is unshelved
    on whatever host then (its old host may be gone by then).

    ``log_files`` is ``[[name, size], ...]`` oldest first
    (``console.log.N`` ... ``console.log``) and ``log_data`` their bytes
    one after the other, at most virtlogd's ``max_size x
    (max_backups + 1)`` of the offloading host.
    """

    __tablename__ = 'shelved_instances'

    instance_uuid = sa.Column(sa.String(36), primary_key=True)
    image_id = sa.Column(sa.String(36))
    shelved_at = sa.Column(UTCDateTime, nullable=False)
    shelved_host = sa.Column(sa.String(255))
    log_files = sa.Column(sa.JSON)
    # LONGBLOB on MariaDB: a plain BLOB holds 64 KiB only. Deferred:
    # up to 256 MiB that only the unshelve needs; every other read of
    # the record (delete, periodic offload, outcomes) leaves it unread.
    log_data = orm.deferred(sa.Column(sa.LargeBinary(length=2 ** 32 - 1)))
    log_truncated = sa.Column(sa.Boolean, nullable=False, default=False,
                              server_default=sa.false())


# -- quotas: limits set by admins (nova.quota; defaults in [quota]) ---------

class Quota(Base):
    """A project's limit of one resource (``user_id`` ''), or one user's
    within that project (Nova keeps the latter in project_user_quotas:
    one table here, keyed the same way)."""

    __tablename__ = 'quotas'
    __table_args__ = (
        sa.UniqueConstraint('project_id', 'user_id', 'resource',
                            name='uniq_quotas0project_id0user_id0resource'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)
    user_id = sa.Column(sa.String(255), nullable=False, default='',
                        server_default='')
    resource = sa.Column(sa.String(255), nullable=False)
    hard_limit = sa.Column(sa.Integer, nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime)


class QuotaClass(Base):
    """A quota class's limit of one resource; class ``default`` holds the
    defaults an admin set over ``[quota]``'s, as Nova's."""

    __tablename__ = 'quota_classes'
    __table_args__ = (
        sa.UniqueConstraint('class_name', 'resource',
                            name='uniq_quota_classes0class_name0resource'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    class_name = sa.Column(sa.String(255), nullable=False, index=True)
    resource = sa.Column(sa.String(255), nullable=False)
    hard_limit = sa.Column(sa.Integer, nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime)


# -- access: flavor access and the usage of deleted instances ---------------

class FlavorProject(Base):
    """A project given access to a private flavor (os-flavor-access), as
    Nova's ``flavor_projects``. A row names a live flavor; deleting the
    flavor deletes its rows."""

    __tablename__ = 'flavor_projects'
    __table_args__ = (sa.UniqueConstraint(
        'flavor_id', 'project_id',
        name='uniq_flavor_projects0flavor_id0project_id'),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    flavor_id = sa.Column(sa.String(255), nullable=False, index=True)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)


class InstanceUsage(Base):
    """What os-simple-tenant-usage needs of an instance that was deleted.

    Instances are hard-deleted here (Nova soft-deletes them and reads
    the deleted rows back), so the delete writes this row in its own
    transaction: a deleted server still counts for the hours it ran.
    ``flavor`` is the flavor snapshot it ran with (keys of
    ``nova.db.api._FLAVOR_KEYS``)."""

    __tablename__ = 'instance_usages'

    instance_uuid = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)
    user_id = sa.Column(sa.String(255), nullable=False)
    flavor = sa.Column(sa.JSON)
    vm_state = sa.Column(sa.String(255))
    created_at = sa.Column(UTCDateTime, nullable=False)
    launched_at = sa.Column(UTCDateTime)
    terminated_at = sa.Column(UTCDateTime, nullable=False, index=True)
