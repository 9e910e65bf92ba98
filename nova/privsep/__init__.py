"""Privilege separation for nova-compute (oslo.privsep), as in Nova.

nova-compute runs as an unprivileged user (``nova``); the few things it
cannot do as that user run in a privsep daemon through the entrypoints of
``nova.privsep.console``. There is one context, and it keeps one
capability:

``console_pctxt`` (options in ``[nova_console_privsep]``):
    CAP_DAC_READ_SEARCH only, i.e. read any file and search any folder.
    It is what reading the guest's console needs: virtlogd (root) creates
    ``console.log`` and its rotated ``console.log.N`` 0600, and QEMU's
    pty (``/dev/pts/N``) belongs to QEMU's user. No entrypoint writes or
    changes a file, and each hands back only bytes or a read-only
    descriptor of a console log file (the live console). The daemon's
    uid is still 0: code run in it by a flaw (not through an entrypoint)
    could write files root owns without any capability. A dedicated
    unprivileged daemon user would close that; it is not done yet.

The daemon is started by the first call, with oslo.privsep's
``helper_command`` (by default ``sudo privsep-helper --config-file ...
--privsep_context nova.privsep.console_pctxt --privsep_sock_path ...``;
see doc/source/admin/deployment.rst for the sudo rule). It runs as root
with that one capability; no option of nova's changes the capabilities
unless the operator writes ``capabilities`` into the section himself.

A nova-compute that runs as root (as it did before) already holds every
privilege: it calls the entrypoints in its own process, without a daemon
or sudo. Unit tests run them in-process too (``PrivsepFixture``).
"""

import copy
import os

from oslo_privsep import capabilities
from oslo_privsep import priv_context

# Read any file, search any folder: nothing else (see the docstring).
CAPABILITIES = (capabilities.CAP_DAC_READ_SEARCH,)

console_pctxt = priv_context.PrivContext(
    'nova',
    cfg_section='nova_console_privsep',
    pypath=__name__ + '.console_pctxt',
    capabilities=CAPABILITIES,
)


def in_process():
    """Whether entrypoints run in this process: it is root already (a
    daemon would only hold less than this process does)."""
    return os.geteuid() == 0


if in_process():
    console_pctxt.set_client_mode(False)


def log_start(log):
    """Say at a service's start how its privileged reads will run; warn
    when it runs unprivileged with no helper_command (oslo.privsep's
    default, ``sudo privsep-helper --config-file ...``, is not what the
    documented sudo rule allows)."""
    if in_process():
        log.info('Running as root: privileged reads (console logs, ptys) '
                 'in this process, no privsep daemon')
    elif console_pctxt.conf.helper_command:
        log.info('Running as uid %d: privileged reads (console logs, '
                 'ptys) in a privsep daemon started by %r',
                 os.geteuid(), console_pctxt.conf.helper_command)
    else:
        log.warning('Running as uid %d with no [%s] helper_command: the '
                    'privsep daemon will be started with oslo.privsep\'s '
                    'default "sudo privsep-helper --config-file ...", '
                    'which needs a sudo rule of its own; see "Running '
                    'nova-compute unprivileged" in the deployment guide',
                    os.geteuid(), console_pctxt.cfg_section)


def list_opts():
    """oslo.privsep's options of our section, for oslo-config-generator."""
    return [(console_pctxt.cfg_section, copy.deepcopy(priv_context.OPTS))]
