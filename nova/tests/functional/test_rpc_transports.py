"""The same RPC scenario on RabbitMQ and in process, compared.

nova-all's in-process transport (``fake://``) must behave as the broker
of a split deployment does, or what works on one host breaks on
several: call time-outs, casts, servers and topics nobody serves,
version refusal, errors crossing and serialization through
``RequestContextSerializer``. ``nova.tests.unit.rpc_scenario`` runs the
same calls and casts on a transport and says what the caller got; here
it runs on the real RabbitMQ broker (a vhost of this test process's
own, ``rabbitmq_vhost``) and in process, in the same run, and both
answers are compared with each other and with the contract.
"""

import testtools

import nova.conf
from nova import rpc
from nova.tests.functional import base
from nova.tests.functional import rabbitmq_vhost
from nova.tests.unit import rpc_scenario

RABBITMQ = base.REPO + '/tools/setup-rabbitmq.sh'


class _Broker:
    url = None

    @classmethod
    def ensure(cls):
        if cls.url is None:
            # Installs and starts the broker when needed.
            base.run_tool(RABBITMQ)
            cls.url = rabbitmq_vhost.with_vhost(
                base.run_tool(RABBITMQ, '--print-transport-url',
                              '127.0.0.1').strip(),
                rabbitmq_vhost.create())
        return cls.url


class SameOnEveryTransportTestCase(testtools.TestCase):
    def _conf(self, url):
        conf = nova.conf.new_conf()
        conf([], project='nova', default_config_files=[])
        rpc.register_opts(conf)
        conf.set_override('transport_url', url)
        # The calls that must not time out get long enough on a busy
        # machine; those that must, get rpc_scenario.TIMEOUT.
        conf.set_override('rpc_response_timeout', 30)
        self.addCleanup(rpc.cleanup, conf)
        return conf

    def test_rabbitmq_and_in_process_answer_alike(self):
        on_rabbitmq = rpc_scenario.observe(self._conf(_Broker.ensure()))
        in_process = rpc_scenario.observe(self._conf('fake://'))
        self.assertEqual(on_rabbitmq, in_process)
        self.assertEqual(rpc_scenario.EXPECTED, on_rabbitmq)
