"""Who may do what: oslo.policy's enforcer over Nova's rules.

The rules and their defaults are in ``nova.policies``; an operator
overrides any of them in the file named by ``[oslo_policy] policy_file``
(``policy.yaml``, looked up beside the config files; a file that is not
there means the defaults). oslo.policy reads the file again when it
changes, so no restart is needed.

Callers use ``RequestContext.can()``; this module holds the one enforcer
of the process.
"""

import os
import sys

from oslo_config import cfg
from oslo_log import log as logging
from oslo_policy import policy as oslo_policy

import nova.conf
from nova import exception
from nova import policies

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

_ENFORCER = None


def reset():
    """Forget the enforcer (tests: the next check reads the config
    again)."""
    global _ENFORCER
    if _ENFORCER is not None:
        _ENFORCER.clear()
        _ENFORCER = None


class _RulesUnusable(Exception):
    """The policy file could not be (re)read: ``args[0]`` is why."""


class _Enforcer(oslo_policy.Enforcer):
    """oslo.policy's enforcer, reading the rules once per check.

    oslo.policy's check (``enforce``) reads the rules again first, which
    looks the policy file and ``policy_dirs`` up beside the config files
    and stats what it finds: nova used to do that a second time before
    each check, to refuse a file it cannot parse. Here the check's own
    read reports that (``_RulesUnusable``), and the folders the file is
    looked for in are worked out once per parsed configuration, not at
    every check (each candidate is still tested every time, so a file
    created later is found, as oslo.policy finds it).
    """

    _dirs = (None, ())

    def load_rules(self, force_reload=False):
        try:
            super().load_rules(force_reload)
        except Exception as e:
            # Whatever a file that is not a mapping of rule names to
            # check strings makes oslo.policy raise (AttributeError,
            # TypeError or ValueError): the file's fault, never a 500.
            raise _RulesUnusable(e) from e

    def _search_dirs(self, namespace):
        # What ConfigOpts.find_file searches, in its order: --config-dir,
        # the config files' folders (last first), the standard folders.
        if self._dirs[0] is not namespace:
            fix = lambda p: os.path.abspath(os.path.expanduser(p))  # noqa
            dirs = [fix(d) for d in namespace._config_dirs or ()]
            dirs += [os.path.dirname(fix(f))
                     for f in reversed(self.conf.config_file)]
            dirs += cfg._get_config_dirs(self.conf.project)
            self._dirs = (namespace, tuple(dirs))
        return self._dirs[1]

    def _get_policy_path(self, path):
        namespace = getattr(self.conf, '_namespace', None)
        if namespace is None or os.path.isabs(path):
            return super()._get_policy_path(path)
        for folder in self._search_dirs(namespace):
            candidate = os.path.join(folder, path)
            if os.path.exists(candidate):
                return candidate
        raise cfg.ConfigFilesNotFoundError([path])


def init(conf=None):
    """The process's enforcer, made on first use with every default
    registered, reading ``[oslo_policy]`` of ``conf`` (a parsed
    ConfigOpts; None: the global CONF)."""
    global _ENFORCER
    if _ENFORCER is None:
        enforcer = _Enforcer(CONF if conf is None else conf)
        # The file is read by the first check (and again on a change).
        enforcer.register_defaults(policies.list_rules())
        _ENFORCER = enforcer
    return _ENFORCER


def authorize(context, action, target, fatal=True):
    """Whether ``context`` may do ``action`` on ``target``.

    :param context: nova.context.RequestContext, the caller.
    :param action: str, a rule name of ``nova.policies``.
    :param target: dict, the resource's owner, e.g. ``{'project_id':
        ..., 'user_id': ...}``; ``%(project_id)s`` in a rule reads it.
    :param fatal: when True, a refusal raises; when False, it returns
        False.
    :returns: True when allowed.
    :raises: exception.Forbidden (403, "Policy doesn't allow <action> to
        be performed.") when refused and ``fatal``, and also while the
        policy file cannot be parsed or is not a mapping of rule names
        to check strings (logged as an error naming the file: refusing
        is safer than guessing what it meant);
        oslo_policy.PolicyNotRegistered for an unknown ``action`` (a bug,
        never the caller's fault).
    """
    enforcer = init()
    try:
        return enforcer.authorize(action, target, context, do_raise=fatal,
                                  exc=exception.Forbidden, action=action)
    except _RulesUnusable as e:
        # oslo.policy reads the file again on a change. A file that is
        # not a mapping of rule names to check strings (a YAML list or
        # scalar, a rule given as a number) makes it raise AttributeError
        # or TypeError rather than ValueError; refusing is safer than
        # guessing what the file meant (and better than a 500 on every
        # request).
        cause = e.args[0]
        LOG.error('Refusing %s: the policy file %s cannot be parsed: %s: '
                  '%s', action, enforcer.policy_path,
                  type(cause).__name__, cause)
        if fatal:
            raise exception.Forbidden(action=action)
        return False
    except oslo_policy.PolicyNotRegistered:
        LOG.exception('Policy %s is not registered', action)
        raise
    except ValueError as e:
        # oslo.policy rereads a changed file on every check and raises
        # this while it is not valid YAML/JSON.
        LOG.error('Refusing %s: the policy file %s cannot be parsed: %s',
                  action, enforcer.policy_path, e)
        if fatal:
            raise exception.Forbidden(action=action)
        return False
    except oslo_policy.InvalidScope:
        # A token of another scope (a system-scoped one) than the rule's.
        LOG.debug('Policy %s refused: token scope %s', action,
                  context.system_scope)
        if fatal:
            raise exception.Forbidden(action=action)
        return False


def check_is_admin(context):
    """Whether the ``context_is_admin`` rule holds for ``context``: what
    makes a request's context an admin one."""
    target = {'project_id': context.project_id,
              'user_id': context.user_id}
    return authorize(context, 'context_is_admin', target, fatal=False)


def get_enforcer():
    """The enforcer, for oslo.policy's command line tools
    (``oslo.policy.enforcer`` entry point: oslopolicy-checker,
    oslopolicy-policy-generator, oslopolicy-list-redundant).

    They pass their own options too; only ``--config-file`` and
    ``--config-dir`` are nova's, so a policy file named in nova.conf is
    the one they read.
    """
    args = []
    argv = sys.argv[1:]
    for index, arg in enumerate(argv):
        if arg.startswith(('--config-file', '--config-dir')):
            args.append(arg)
            if '=' not in arg and index + 1 < len(argv):
                args.append(argv[index + 1])
    CONF(args, project='nova')
    return init()
