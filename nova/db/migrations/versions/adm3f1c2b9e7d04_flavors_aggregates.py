"""flavors and aggregates: Nova's other flavor fields, a flavor snapshot
per instance, host aggregates.

- ``flavors`` gains swap, ephemeral_gb, rxtx_factor, is_public and
  disabled (Nova's defaults for the existing rows).
- ``instance_flavors``: the flavor each instance was created with; every
  existing instance gets its flavor's current values, so deleting a
  flavor later leaves the instances that use it working.
- ``aggregates``, ``aggregate_hosts``, ``aggregate_metadata``: Nova's.

Each step checks what is there first: MariaDB commits each DDL statement
on its own, and running the revision again after a crash finishes it.

Revision ID: adm3f1c2b9e7d04
Revises: ver3a5c7e9b1d24
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa

from nova.db import models

revision = 'adm3f1c2b9e7d04'
down_revision = 'ver3a5c7e9b1d24'
branch_labels = None
depends_on = None

_FLAVOR_COLUMNS = (
    ('swap', sa.Integer, '0'),
    ('ephemeral_gb', sa.Integer, '0'),
    ('rxtx_factor', sa.Float, '1.0'),
    ('is_public', sa.Boolean, sa.true()),
    ('disabled', sa.Boolean, sa.false()),
)


def _tables(meta):
    time = models.UTCDateTime
    flavors = sa.Table(
        'instance_flavors', meta,
        sa.Column('instance_uuid', sa.String(36), primary_key=True),
        sa.Column('flavor_id', sa.String(255), nullable=False, index=True),
        sa.Column('flavor', sa.JSON, nullable=False))
    sa.Table(
        'aggregates', meta,
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False, unique=True),
        sa.Column('name', sa.String(255), nullable=False, unique=True),
        sa.Column('created_at', time, nullable=False),
        sa.Column('updated_at', time))
    sa.Table(
        'aggregate_hosts', meta,
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('host', sa.String(255), nullable=False, index=True),
        sa.Column('aggregate_id', sa.Integer,
                  sa.ForeignKey('aggregates.id'), nullable=False,
                  index=True),
        sa.UniqueConstraint('host', 'aggregate_id',
                            name='uniq_aggregate_hosts0host0aggregate_id'))
    sa.Table(
        'aggregate_metadata', meta,
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('aggregate_id', sa.Integer,
                  sa.ForeignKey('aggregates.id'), nullable=False,
                  index=True),
        sa.Column('key', sa.String(255), nullable=False, index=True),
        sa.Column('value', sa.String(255), nullable=False),
        sa.UniqueConstraint('aggregate_id', 'key',
                            name='uniq_aggregate_metadata0aggregate_id0key'))
    return flavors


def _snapshot_existing(conn, snapshots):
    """Copy each instance's flavor as it is now (instances whose flavor
    row is gone get none: their build already fails)."""
    meta = sa.MetaData()
    flavors = sa.Table('flavors', meta, autoload_with=conn)
    instances = sa.Table('instances', meta, autoload_with=conn)
    have = set(conn.execute(sa.select(snapshots.c.instance_uuid)).scalars())
    rows = conn.execute(sa.select(instances.c.uuid, flavors).join(
        flavors, flavors.c.id == instances.c.flavor_id)).mappings().all()
    for row in rows:
        if row['uuid'] in have:
            continue
        flavor = {key: row[key] for key in flavors.c.keys()}
        conn.execute(snapshots.insert().values(
            instance_uuid=row['uuid'], flavor_id=flavor['id'],
            flavor=flavor))


def upgrade():
    conn = op.get_bind()
    have = {c['name'] for c in sa.inspect(conn).get_columns('flavors')}
    for name, type_, default in _FLAVOR_COLUMNS:
        if name not in have:
            op.add_column('flavors', sa.Column(
                name, type_, nullable=False, server_default=default))
    meta = sa.MetaData()
    snapshots = _tables(meta)
    meta.create_all(conn, checkfirst=True)
    _snapshot_existing(conn, snapshots)
