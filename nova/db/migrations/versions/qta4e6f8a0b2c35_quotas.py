"""quotas: ``quotas`` (a project's or a user's limits) and
``quota_classes`` (the ``default`` class), see models.Quota.

Revision ID: qta4e6f8a0b2c35
Revises: shv7b2d4f6a8c10
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa

from nova.db import models

revision = 'qta4e6f8a0b2c35'
down_revision = 'shv7b2d4f6a8c10'
branch_labels = None
depends_on = None


def upgrade():
    meta = sa.MetaData()
    sa.Table(
        'quotas', meta,
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('project_id', sa.String(255), nullable=False,
                  index=True),
        sa.Column('user_id', sa.String(255), nullable=False,
                  server_default=''),
        sa.Column('resource', sa.String(255), nullable=False),
        sa.Column('hard_limit', sa.Integer, nullable=False),
        sa.Column('created_at', models.UTCDateTime, nullable=False),
        sa.Column('updated_at', models.UTCDateTime),
        sa.UniqueConstraint('project_id', 'user_id', 'resource',
                            name='uniq_quotas0project_id0user_id0resource'))
    sa.Table(
        'quota_classes', meta,
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('class_name', sa.String(255), nullable=False,
                  index=True),
        sa.Column('resource', sa.String(255), nullable=False),
        sa.Column('hard_limit', sa.Integer, nullable=False),
        sa.Column('created_at', models.UTCDateTime, nullable=False),
        sa.Column('updated_at', models.UTCDateTime),
        sa.UniqueConstraint('class_name', 'resource',
                            name='uniq_quota_classes0class_name0resource'))
    # Checked first: running the revision again after a crash finishes it.
    meta.create_all(op.get_bind(), checkfirst=True)
