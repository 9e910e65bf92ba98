"""access: ``flavor_projects`` (os-flavor-access) and ``instance_usages``
(the usage of deleted instances, for os-simple-tenant-usage).

Revision ID: fla5a7c9e1b3d46
Revises: qta4e6f8a0b2c35
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa

from nova.db import models

revision = 'fla5a7c9e1b3d46'
down_revision = 'qta4e6f8a0b2c35'
branch_labels = None
depends_on = None


def upgrade():
    meta = sa.MetaData()
    time = models.UTCDateTime
    sa.Table(
        'flavor_projects', meta,
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('flavor_id', sa.String(255), nullable=False, index=True),
        sa.Column('project_id', sa.String(255), nullable=False,
                  index=True),
        sa.UniqueConstraint(
            'flavor_id', 'project_id',
            name='uniq_flavor_projects0flavor_id0project_id'))
    sa.Table(
        'instance_usages', meta,
        sa.Column('instance_uuid', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=False,
                  index=True),
        sa.Column('user_id', sa.String(255), nullable=False),
        sa.Column('flavor', sa.JSON),
        sa.Column('vm_state', sa.String(255)),
        sa.Column('created_at', time, nullable=False),
        sa.Column('launched_at', time),
        sa.Column('terminated_at', time, nullable=False, index=True))
    # Checked first: running the revision again after a crash finishes it.
    meta.create_all(op.get_bind(), checkfirst=True)
