"""A compute API's console follow calls, as ISSUE16-SPEC section 1 says.

``follow_console_log`` answers from in-memory logs that tests write to:
the first call of a follower hands out the last ``history_bytes``, later
calls what was written since (waiting up to ``wait`` seconds, capped by
``max_wait`` so tests stay quick), at most ``MAX_READ`` bytes at a time.
"""

import collections
import threading
import uuid

from nova import exception
from nova.tests.unit.console import test_websocketproxy as helpers

HOST = 'compute-1'
MAX_READ = 256 * 1024


class FakeFollowAPI(helpers.FakeComputeAPI):
    def __init__(self, max_wait=0.2):
        super().__init__()
        self.max_wait = max_wait
        self.cond = threading.Condition()
        self.logs = collections.defaultdict(bytearray)
        self.followers = {}  # follow id: [instance uuid, offset]
        self.follow_calls = []
        self.ended_follows = []
        self.gaps = set()  # instances whose next answer says gap
        self.gone = set()  # instances no longer on the host
        self.errors = {}  # instance uuid: exception for its next call

    def write(self, instance_uuid, data, gap=False):
        with self.cond:
            if gap:
                self.gaps.add(instance_uuid)
            self.logs[instance_uuid] += data
            self.cond.notify_all()

    def leave(self, instance_uuid):
        """The instance leaves the host: followers end."""
        with self.cond:
            self.gone.add(instance_uuid)
            self.cond.notify_all()

    def open_followers(self, instance_uuid):
        with self.cond:
            return [fid for fid, (uid, _) in self.followers.items()
                    if uid == instance_uuid]

    def follow_console_log(self, ctxt, instance_uuid, host=None,
                           follow_id=None, history_bytes=None, wait=0):
        with self.cond:
            self.follow_calls.append((ctxt, instance_uuid, host, follow_id,
                                      history_bytes, wait))
            error = self.errors.pop(instance_uuid, None)
            if error is not None:
                raise error
            log = self.logs[instance_uuid]
            if follow_id is None:
                follow_id = str(uuid.uuid4())
                history = len(log) if history_bytes is None else min(
                    history_bytes, len(log))
                self.followers[follow_id] = [instance_uuid,
                                             len(log) - history]
            elif self.followers.get(follow_id, [None])[0] != instance_uuid:
                raise exception.ConsoleFollowNotFound(
                    instance_uuid=instance_uuid, host=HOST, idle=60)
            entry = self.followers[follow_id]

            def news():
                # end_console_follow wakes a read waiting on its follower,
                # as the compute host's FollowerTable does.
                return (len(log) > entry[1] or instance_uuid in self.gone or
                        instance_uuid in self.gaps or
                        follow_id not in self.followers)
            if wait and not news():
                self.cond.wait_for(news, min(wait, self.max_wait))
            if follow_id not in self.followers:
                # Ended while it waited: an empty answer.
                return {'host': HOST, 'follow_id': follow_id, 'data': b'',
                        'gap': False, 'ended': False}
            data = bytes(log[entry[1]:entry[1] + MAX_READ])
            entry[1] += len(data)
            gap = instance_uuid in self.gaps
            self.gaps.discard(instance_uuid)
            ended = instance_uuid in self.gone and entry[1] == len(log)
            if ended:
                del self.followers[follow_id]
            return {'host': HOST, 'follow_id': follow_id, 'data': data,
                    'gap': gap, 'ended': ended}

    def end_console_follow(self, ctxt, instance_uuid, host, follow_id):
        with self.cond:
            self.ended_follows.append((instance_uuid, host, follow_id))
            self.followers.pop(follow_id, None)
            self.cond.notify_all()
