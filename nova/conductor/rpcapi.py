"""Client side of the conductor topic: a compute service's heartbeat."""

import oslo_messaging

from nova import rpc

TOPIC = 'conductor'
BINARY = 'nova-compute'


class ConductorAPI:
    def __init__(self, conf):
        self.client = rpc.get_client(conf, TOPIC, '1.0')

    def report_state(self, ctx, host, report, up=True):
        """Send one heartbeat (a cast); False when it could not be sent.

        Never retried: the next heartbeat is as good, and a service must
        not block on a broker that is away.
        """
        try:
            self.client.prepare(retry=0).cast(
                ctx, 'report_state', host=host, binary=BINARY,
                topic='compute', report=report, up=up)
        except oslo_messaging.MessagingException:
            return False
        return True
