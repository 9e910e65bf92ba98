"""shelve: ``shelved_instances``, a shelved instance's snapshot image id
and, while it is offloaded, its console log (see models.ShelvedInstance).

Revision ID: shv7b2d4f6a8c10
Revises: img2c4e6a8b0d13
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa

from nova.db import models

revision = 'shv7b2d4f6a8c10'
down_revision = 'img2c4e6a8b0d13'
branch_labels = None
depends_on = None


def upgrade():
    meta = sa.MetaData()
    sa.Table(
        'shelved_instances', meta,
        sa.Column('instance_uuid', sa.String(36), primary_key=True),
        sa.Column('image_id', sa.String(36)),
        sa.Column('shelved_at', models.UTCDateTime, nullable=False),
        sa.Column('shelved_host', sa.String(255)),
        sa.Column('log_files', sa.JSON),
        sa.Column('log_data', sa.LargeBinary(length=2 ** 32 - 1)),
        sa.Column('log_truncated', sa.Boolean, nullable=False,
                  server_default=sa.false()))
    # Checked first: running the revision again after a crash finishes it.
    meta.create_all(op.get_bind(), checkfirst=True)
