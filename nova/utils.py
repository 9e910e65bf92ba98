"""Small helpers shared by the services."""

import resource

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def raise_open_files_limit():
    """Raise this process's soft ``RLIMIT_NOFILE`` as far as allowed.

    The target is the hard limit, or Linux's per-process ceiling
    ``/proc/sys/fs/nr_open`` when the hard limit is unlimited. Servers call
    it at start so that their own connection caps, not the descriptor
    limit (1024 by default), are what holds back a flood of clients.

    Returns the soft limit now in force (an int, or
    ``resource.RLIM_INFINITY``). A refusal by the kernel is logged as a
    warning and the old soft limit returned; nothing is raised.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        try:
            with open('/proc/sys/fs/nr_open') as f:
                target = int(f.read())
        except (OSError, ValueError):
            return soft
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError) as e:
            LOG.warning('Cannot raise the open-file limit from %d to %d: '
                        '%s', soft, target, e)
    return soft
