"""What every nova-* service command does first."""

import sys

from oslo_config import cfg
from oslo_log import log as logging

import nova.conf

CONF = nova.conf.CONF


def parse_args(argv, prog):
    """Load nova.conf options from ``argv`` and set up logging.

    Returns False, having said why on stderr, when the configuration is
    unusable; the command then exits with status 1.
    """
    logging.register_options(CONF)
    try:
        CONF(argv[1:], project='nova', prog=prog)
    except cfg.Error as e:
        print('%s: %s' % (prog, e), file=sys.stderr)
        return False
    logging.setup(CONF, 'nova')
    return True
