"""Who is asking: the request context every API and compute call carries.

A subclass of oslo.context's ``RequestContext``, as Nova's: oslo.log puts
its request id, user and project into every log line written while it is
the thread's current context (``overwrite``, on by default, makes a new
context current), oslo.policy reads its ``to_policy_values()`` and RPC
carries its ``to_dict()``.
"""

from oslo_context import context

from nova import policy


class RequestContext(context.RequestContext):
    """The caller of one request.

    :param user_id: str, the caller's user.
    :param project_id: str, the project the caller acts in.
    :param is_admin: bool, whether the caller is an administrator; None
        asks the policy's ``context_is_admin`` rule (as the API does).
    :param roles: iterable of str, the caller's role names; kept as a
        tuple.
    :param request_id: str ``req-<uuid>``; made up when None.
    Other keyword arguments are oslo.context's.
    """

    def __init__(self, user_id=None, project_id=None, is_admin=False,
                 roles=(), request_id=None, **kwargs):
        super().__init__(user_id=user_id, project_id=project_id,
                         is_admin=bool(is_admin), roles=list(roles or ()),
                         request_id=request_id, **kwargs)
        self.roles = tuple(self.roles)
        if is_admin is None:
            self.is_admin = policy.check_is_admin(self)

    def can(self, action, target=None, fatal=True):
        """Whether this caller may do ``action`` (a rule name of
        ``nova.policies``) on ``target``, as Nova's.

        :param target: dict naming the resource's owner, ``project_id``
            and ``user_id``; None means the caller's own project and
            user, right only for calls on no one resource (a list, a
            create): a call on a server passes the server's owner, or
            a policy file's ``user_id:%(user_id)s`` would compare the
            caller with itself (and an admin's ``project_id`` check
            would pass on any project's server).
        :param fatal: True: a refusal raises exception.Forbidden (403,
            "Policy doesn't allow <action> to be performed."); False: it
            returns False.
        :returns: True when allowed.
        """
        if target is None:
            target = {'project_id': self.project_id,
                      'user_id': self.user_id}
        return policy.authorize(self, action, target, fatal=fatal)

    def to_dict(self):
        """The context as a dict of JSON types (oslo.context's keys)."""
        values = super().to_dict()
        # Nova's names too, beside oslo.context's ``user``/``project``.
        values.update(user_id=self.user_id, project_id=self.project_id,
                      roles=list(self.roles))
        return values

    @classmethod
    def from_dict(cls, values, **kwargs):
        """A context from ``to_dict()``'s output; unknown keys ignored.

        Not oslo.context's ``from_dict``: it would pass ``overwrite``
        and the whole dict on, and this one keeps the keys this class
        takes.
        """
        return cls(user_id=values.get('user_id', values.get('user')),
                   project_id=values.get('project_id',
                                         values.get('project')),
                   is_admin=bool(values.get('is_admin', False)),
                   roles=values.get('roles') or (),
                   request_id=values.get('request_id'),
                   global_request_id=values.get('global_request_id'),
                   # The caller's Keystone token: a compute host fetches
                   # the caller's images from Glance with it, as Nova.
                   auth_token=values.get('auth_token'),
                   **kwargs)

    def __eq__(self, other):
        if not isinstance(other, RequestContext):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None


def get_admin_context():
    """An admin context that does not become the thread's current one."""
    return RequestContext(user_id='admin', project_id='admin', is_admin=True,
                          roles=('admin',), overwrite=False)
