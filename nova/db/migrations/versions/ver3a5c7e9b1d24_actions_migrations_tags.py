"""ver: server tags, instance actions and events, migrations, locks.

The tables of microversions 2.9 (``locked``/``locked_by`` on instances),
2.26 (``tags``), os-instance-actions (``instance_actions``,
``instance_actions_events``) and os-migrations (``migrations``).

Revision ID: ver3a5c7e9b1d24
Revises: srv0a1b2c3d4e5f
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa

from nova.db import models

revision = 'ver3a5c7e9b1d24'
down_revision = 'srv0a1b2c3d4e5f'
branch_labels = None
depends_on = None


def upgrade():
    time = models.UTCDateTime
    # Plain ADD COLUMNs (a constant default makes NOT NULL possible on
    # SQLite): no copy of the instances table, so every service's first
    # start on a new database stays quick.
    op.add_column('instances', sa.Column('locked', sa.Boolean,
                                         nullable=False,
                                         server_default=sa.false()))
    op.add_column('instances', sa.Column('locked_by', sa.String(255)))
    op.create_table(
        'tags',
        sa.Column('resource_id', sa.String(36), primary_key=True),
        sa.Column('tag', sa.String(80), primary_key=True))
    op.create_table(
        'instance_actions',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('action', sa.String(255), nullable=False),
        sa.Column('instance_uuid', sa.String(36), nullable=False,
                  index=True),
        sa.Column('request_id', sa.String(255)),
        sa.Column('user_id', sa.String(255)),
        sa.Column('project_id', sa.String(255)),
        sa.Column('start_time', time, nullable=False),
        sa.Column('finish_time', time),
        sa.Column('message', sa.String(255)))
    op.create_table(
        'instance_actions_events',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('action_id', sa.Integer,
                  sa.ForeignKey('instance_actions.id'), nullable=False,
                  index=True),
        sa.Column('event', sa.String(255), nullable=False),
        sa.Column('start_time', time, nullable=False),
        sa.Column('finish_time', time),
        sa.Column('result', sa.String(255)),
        sa.Column('traceback', sa.Text),
        sa.Column('host', sa.String(255)))
    op.create_table(
        'migrations',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('instance_uuid', sa.String(36), nullable=False,
                  index=True),
        sa.Column('source_compute', sa.String(255)),
        sa.Column('dest_compute', sa.String(255)),
        sa.Column('source_node', sa.String(255)),
        sa.Column('dest_node', sa.String(255)),
        sa.Column('dest_host', sa.String(255)),
        sa.Column('old_instance_type_id', sa.String(255)),
        sa.Column('new_instance_type_id', sa.String(255)),
        sa.Column('status', sa.String(255), nullable=False),
        sa.Column('migration_type', sa.String(255), nullable=False),
        sa.Column('created_at', time, nullable=False),
        sa.Column('updated_at', time))
