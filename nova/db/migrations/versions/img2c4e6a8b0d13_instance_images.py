"""instance images: the image each instance was created or rebuilt with.

- ``instance_images``: a copy of the image's fields and properties (as
  Nova's system metadata ``image_*``), so that later actions (reboot,
  power on, the scheduler's claims) never read the image again. Every
  existing instance whose image is in the local catalog gets its copy
  now; an instance of a Glance image gets its copy from the conductor
  the first time it reads the image after this revision.

Each step checks what is there first (MariaDB commits each DDL statement
on its own): running the revision again after a crash finishes it.

Revision ID: img2c4e6a8b0d13
Revises: adm3f1c2b9e7d04
Create Date: 2026-11-30
"""

import json

from alembic import op
import sqlalchemy as sa

revision = 'img2c4e6a8b0d13'
down_revision = 'adm3f1c2b9e7d04'
branch_labels = None
depends_on = None


def _table(meta):
    return sa.Table(
        'instance_images', meta,
        sa.Column('instance_uuid', sa.String(36), primary_key=True),
        sa.Column('image_id', sa.String(36), nullable=False, index=True),
        sa.Column('image', sa.JSON, nullable=False))


def _properties(value):
    """The images row's properties: a reflected JSON column is text on
    MariaDB (LONGTEXT), a dict on SQLite."""
    if isinstance(value, (str, bytes)):
        value = json.loads(value or '{}')
    return dict(value or {})


def _snapshot_existing(conn, snapshots):
    meta = sa.MetaData()
    images = sa.Table('images', meta, autoload_with=conn)
    instances = sa.Table('instances', meta, autoload_with=conn)
    have = set(conn.execute(sa.select(snapshots.c.instance_uuid)).scalars())
    rows = conn.execute(sa.select(
        instances.c.uuid, images.c.id, images.c.name, images.c.disk_format,
        images.c.properties, images.c.status).join(
            images, images.c.id == instances.c.image_id)).mappings().all()
    for row in rows:
        if row['uuid'] in have:
            continue
        conn.execute(snapshots.insert().values(
            instance_uuid=row['uuid'], image_id=row['id'], image={
                'id': row['id'], 'name': row['name'],
                'status': row['status'],
                'disk_format': row['disk_format'] or 'raw',
                'container_format': 'bare', 'min_ram': 0, 'min_disk': 0,
                'size': None, 'virtual_size': None,
                'properties': _properties(row['properties'])}))


def upgrade():
    conn = op.get_bind()
    meta = sa.MetaData()
    snapshots = _table(meta)
    meta.create_all(conn, checkfirst=True)
    _snapshot_existing(conn, snapshots)
