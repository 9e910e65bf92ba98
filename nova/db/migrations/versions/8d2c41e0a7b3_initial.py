"""initial: the tables as they were when alembic came in.

On an empty database it makes them. On a database made before alembic
(by ``nova.db.migration``'s create-and-add-columns upgrade) it finds
them, adds only what is missing and moves an old ``servers`` table's
rows to ``instances``: every row is kept (see
``nova.db.migration.upgrade_pre_alembic``).

The tables are written out here, not taken from ``nova.db.models``: a
later revision changes the models, never this one.

Revision ID: 8d2c41e0a7b3
Revises:
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa

from nova.db import migration
from nova.db import models

revision = '8d2c41e0a7b3'
down_revision = None
branch_labels = None
depends_on = None


def _tables():
    meta = sa.MetaData()
    time = models.UTCDateTime
    sa.Table(
        'flavors', meta,
        sa.Column('id', sa.String(255), primary_key=True),
        sa.Column('name', sa.String(255), nullable=False, unique=True),
        sa.Column('ram', sa.Integer, nullable=False),
        sa.Column('vcpus', sa.Integer, nullable=False),
        sa.Column('disk', sa.Integer, nullable=False),
        sa.Column('extra_specs', sa.JSON, nullable=False))
    sa.Table(
        'images', meta,
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('kernel_path', sa.Text),
        sa.Column('ramdisk_path', sa.Text),
        sa.Column('disk_path', sa.Text),
        sa.Column('disk_format', sa.String(16), nullable=False),
        sa.Column('properties', sa.JSON, nullable=False),
        sa.Column('status', sa.String(16), nullable=False))
    sa.Table(
        'instances', meta,
        sa.Column('uuid', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=False, index=True),
        sa.Column('user_id', sa.String(255), nullable=False),
        sa.Column('flavor_id', sa.String(255), nullable=False),
        sa.Column('image_id', sa.String(36), nullable=False),
        sa.Column('vm_state', sa.String(255), nullable=False),
        sa.Column('task_state', sa.String(32)),
        sa.Column('host', sa.String(255), index=True),
        sa.Column('created_at', time, nullable=False),
        sa.Column('updated_at', time),
        sa.Column('fault_message', sa.Text),
        sa.Column('description', sa.String(255)))
    sa.Table(
        'console_auth_tokens', meta,
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('token_hash', sa.String(64), nullable=False,
                  unique=True),
        sa.Column('instance_uuid', sa.String(36), nullable=False,
                  index=True),
        sa.Column('console_type', sa.String(32), nullable=False),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('port', sa.Integer, nullable=False),
        sa.Column('expires_at', time, nullable=False, index=True))
    sa.Table(
        'services', meta,
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('host', sa.String(255), nullable=False, unique=True),
        sa.Column('binary', sa.String(255), nullable=False),
        sa.Column('topic', sa.String(255), nullable=False),
        sa.Column('disabled', sa.Boolean, nullable=False),
        sa.Column('disabled_reason', sa.String(255)),
        sa.Column('forced_down', sa.Boolean, nullable=False),
        sa.Column('stopped', sa.Boolean, nullable=False),
        sa.Column('report_count', sa.Integer, nullable=False),
        sa.Column('report', sa.JSON, nullable=False),
        sa.Column('created_at', time, nullable=False),
        sa.Column('updated_at', time))
    return meta


def upgrade():
    migration.upgrade_pre_alembic(op.get_bind(), _tables())
