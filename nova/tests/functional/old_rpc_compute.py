"""nova-compute of the release before compute RPC API 2.1, for tests.

    python -m nova.tests.functional.old_rpc_compute --config-file F

The real nova-compute, serving compute RPC API 2.0 only (as a host not
yet upgraded does while the others run 2.1): oslo.messaging's
dispatcher refuses any 2.1 message, such as get_console_output with
``tail_length``. Everything else is real.
"""

import sys

import oslo_messaging

from nova.cmd import compute
from nova.compute import manager

OLD_VERSION = '2.0'


def main():
    manager.ComputeManager.target = oslo_messaging.Target(
        version=OLD_VERSION)
    return compute.main()


if __name__ == '__main__':
    sys.exit(main())
