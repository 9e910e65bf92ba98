"""Who may do what: oslo.policy's enforcer over Nova's rules.

The rules and their defaults are in ``nova.policies``; an operator
overrides any of them in the file named by ``[oslo_policy] policy_file``
(``policy.yaml``, looked up beside the config files; a file that is not
there means the defaults). oslo.policy reads the file again when it
changes, so no restart is needed.

Callers use ``RequestContext.can()``; this module holds the one enforcer
of the process.
"""

import sys

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


def init(conf=None):
    """The process's enforcer, made on first use with every default
    registered, reading ``[oslo_policy]`` of ``conf`` (a parsed
    ConfigOpts; None: the global CONF)."""
    global _ENFORCER
    if _ENFORCER is None:
        enforcer = oslo_policy.Enforcer(CONF if conf is None else conf)
        # The file is read by the first check (and again on a change).
        enforcer.register_defaults(policies.list_rules())
        _ENFORCER = enforcer
    return _ENFORCER


def _rules_usable(enforcer, action):
    """Whether the rules could be (re)read; logs why not.

    oslo.policy reads the file again on a change. A file that is not a
    mapping of rule names to check strings (a YAML list or scalar, a rule
    given as a number) makes it raise AttributeError or TypeError rather
    than ValueError; whatever it raises here is the file's fault, and
    refusing is safer than guessing what the file meant (and better than
    a 500 on every request).
    """
    try:
        enforcer.load_rules()
    except Exception as e:
        LOG.error('Refusing %s: the policy file %s cannot be parsed: %s: '
                  '%s', action, enforcer.policy_path,
                  type(e).__name__, e)
        return False
    return True


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
    if not _rules_usable(enforcer, action):
        if fatal:
            raise exception.Forbidden(action=action)
        return False
    try:
        return enforcer.authorize(action, target, context, do_raise=fatal,
                                  exc=exception.Forbidden, action=action)
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
