"""Who is asking: the request context every API and compute call carries."""

import dataclasses
import uuid


@dataclasses.dataclass
class RequestContext:
    user_id: str
    project_id: str
    is_admin: bool = False
    roles: tuple = ()
    request_id: str = dataclasses.field(
        default_factory=lambda: 'req-%s' % uuid.uuid4())


def get_admin_context():
    return RequestContext(user_id='admin', project_id='admin', is_admin=True,
                          roles=('admin',))
