"""Alembic's environment, run by ``nova.db.migration`` only.

The connection (in its transaction, holding the upgrade lock) comes in
the config's attributes: there is no ``alembic.ini`` and no URL here.
"""

from alembic import context

from nova.db import models

connection = context.config.attributes['connection']
context.configure(connection=connection,
                  target_metadata=models.Base.metadata,
                  # SQLite alters a table by copying it.
                  render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
