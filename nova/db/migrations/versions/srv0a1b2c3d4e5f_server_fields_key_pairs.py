"""server fields and key pairs: what a Nova server body shows (metadata,
key, access IPs, diskConfig, power state, launch times, availability
zone, config drive, user data) and the ``key_pairs`` table of
``os-keypairs``.

The new instance columns are nullable: rows made before them read as
Nova's defaults (no metadata, MANUAL, NOSTATE, ...; see nova.db.api).

Revision ID: srv0a1b2c3d4e5f
Revises: 8d2c41e0a7b3
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa

from nova.db import models

revision = 'srv0a1b2c3d4e5f'
down_revision = '8d2c41e0a7b3'
branch_labels = None
depends_on = None


def _instance_columns():
    time = models.UTCDateTime
    return [
        sa.Column('metadata', sa.JSON),
        sa.Column('key_name', sa.String(255)),
        sa.Column('key_data', sa.Text),
        sa.Column('access_ip_v4', sa.String(39)),
        sa.Column('access_ip_v6', sa.String(39)),
        sa.Column('disk_config', sa.String(8)),
        sa.Column('power_state', sa.Integer),
        sa.Column('launched_at', time),
        sa.Column('terminated_at', time),
        sa.Column('availability_zone', sa.String(255)),
        sa.Column('config_drive', sa.String(255)),
        sa.Column('user_data', sa.Text),
    ]


def upgrade():
    # What is there already is kept: an instances table a newer release
    # made from its models before an older one ran again (see
    # nova.db.migration) may have some of these.
    inspector = sa.inspect(op.get_bind())
    have = {c['name'] for c in inspector.get_columns('instances')}
    # Nullable columns: a plain ALTER TABLE ADD COLUMN, SQLite included.
    for column in _instance_columns():
        if column.name not in have:
            op.add_column('instances', column)
    if 'key_pairs' in inspector.get_table_names():
        return
    op.create_table(
        'key_pairs',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('user_id', sa.String(255), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('fingerprint', sa.String(255), nullable=False),
        sa.Column('public_key', sa.Text, nullable=False),
        sa.Column('type', sa.String(16), nullable=False),
        sa.Column('created_at', models.UTCDateTime, nullable=False),
        sa.UniqueConstraint('user_id', 'name',
                            name='uniq_key_pairs0user_id0name'))
