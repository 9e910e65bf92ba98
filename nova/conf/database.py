"""The ``[database]`` options: oslo.db's own, with Nova's default.

oslo.db defines them (``connection``, ``max_pool_size``, ``max_retries``,
``connection_recycle_time``, ``mysql_sql_mode``, ...); ``nova.db.api``
hands them to oslo.db's enginefacade. Only the default of ``connection``
is ours: a SQLite file, which suits one host. Split and multi-host
deployments point it at MariaDB, e.g.
``mysql+pymysql://nova:PASSWORD@192.0.2.10/nova?charset=utf8mb4``
(see ``doc/source/admin/multi-host.rst``).
"""

from oslo_config import cfg
from oslo_db import options as oslo_db_options

DEFAULT_CONNECTION = 'sqlite:////var/lib/nova/nova.sqlite'

database_group = cfg.OptGroup('database', title='Database options', help="""
Where the compute API keeps servers, flavors, images, console tokens and
compute services. The options are oslo.db's.
""")


def register_opts(conf):
    # Registers oslo.db's options in [database] of this ConfigOpts and
    # sets our default for ``connection``.
    oslo_db_options.set_defaults(conf, connection=DEFAULT_CONNECTION)


def list_opts():
    return {database_group: oslo_db_options.database_opts}
