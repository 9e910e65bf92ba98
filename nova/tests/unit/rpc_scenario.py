"""One RPC scenario for every transport: what a caller observes.

:func:`observe` runs the same calls and casts on the transport of a
configuration and returns what each gave, in a form that does not
depend on the transport (exception classes and messages, results,
whether a time-out came after the ``timeout``). ``EXPECTED`` is the
contract: the unit tests hold the in-process transport (``fake://``,
nova-all) to it, and the functional tests hold RabbitMQ to it and
compare both transports' answers in one run
(``nova/tests/functional/test_rpc_transports.py``).

Not a test module: imported by both.
"""

import datetime
import threading
import time

import oslo_messaging

from nova.compute import rpcapi
from nova.console import type as ctype
from nova import context
from nova import exception
from nova.objects import instance as objects
from nova import rpc
from nova.tests.unit import fake_uuids as ids

TOPIC = 'rpc-scenario'
SERVER = 'h1'
# The ``timeout`` of the calls that must time out (seconds; the compute
# API's rpc_response_timeout is an integer).
TIMEOUT = 1
# A time-out later than this after TIMEOUT is not the caller's timeout
# (generous: the machine is shared; today's in-process transport ignored
# time-outs and answered after SLOW).
SLACK = 2.5
# How long the slow method takes: well past TIMEOUT + SLACK.
SLOW = TIMEOUT + SLACK + 2
WAIT = 10  # for a cast to arrive (it takes milliseconds)
ALICE = dict(user_id='alice', project_id='pa', roles=('member', 'reader'),
             request_id='req-3f1c8a52-5b7e-4c1d-9a0e-7d2b6c4e8f10')


class ScenarioError(Exception):
    """An error of a module outside ``nova.rpc.ALLOWED_EXMODS``."""


class Probe:
    """The scenario's endpoint (RPC API 2.1)."""

    target = oslo_messaging.Target(version='2.1')

    def __init__(self):
        self.casts = []
        self.cast_arrived = threading.Event()
        self.release = threading.Event()  # ends a slow call early

    def echo(self, ctxt, **kwargs):
        seen = {key: getattr(ctxt, key) for key in (
            'user_id', 'project_id', 'roles', 'request_id', 'is_admin')}
        seen['roles'] = list(seen['roles'])
        return {'context': seen, 'kwargs': kwargs}

    def console(self, ctxt, instance):
        return ctype.ConsoleSerial(host=instance.host, port=10000)

    def ping(self, ctxt):
        return 'pong'

    def fail(self, ctxt, error):
        raise {'nova': exception.ComputeHostNotFound(host=SERVER),
               'builtin': RuntimeError('secret detail'),
               'other': ScenarioError('other detail')}[error]

    def slow(self, ctxt):
        self.release.wait(SLOW)
        return 'late'

    def record(self, ctxt, value):
        self.casts.append(value)
        self.cast_arrived.set()

    def _private(self, ctxt):
        return 'never served'


def _elapsed(seconds):
    """A time-out's moment, as the contract words it."""
    if seconds < TIMEOUT * 0.9:
        return 'before the timeout'
    if seconds > TIMEOUT + SLACK:
        return 'long after the timeout'
    return 'after the timeout'


def outcome(func):
    """What ``func()`` gave a caller, independent of the transport."""
    start = time.monotonic()
    try:
        result = func()
    except oslo_messaging.MessagingTimeout:
        return ('MessagingTimeout', _elapsed(time.monotonic() - start))
    except oslo_messaging.RemoteError as e:
        return ('RemoteError', e.exc_type)
    except exception.NovaException as e:
        return (type(e).__name__, e.message, e.code)
    except Exception as e:
        text = str(e)
        return (type(e).__name__, text.splitlines()[0],
                'remote traceback' if 'Traceback' in text else 'local')
    return ('returned', result)


def _steps(conf, probe):
    ctxt = context.RequestContext(overwrite=False, **ALICE)
    client = rpc.get_client(conf, TOPIC, '2.0')
    to_h1 = client.prepare(server=SERVER)
    short = client.prepare(server=SERVER, timeout=TIMEOUT)
    instance = objects.Instance(uuid=ids.SRV1, host='h-console')
    bad = rpc.RequestContextSerializer().serialize_entity(ctxt, instance)
    bad['nova_object.data']['uuid'] = '../victim'
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)

    def cast_arrives(value):
        probe.cast_arrived.clear()
        to_h1.cast(ctxt, 'record', value=value)
        if not probe.cast_arrived.wait(WAIT):
            return 'not delivered'
        return probe.casts[-1]

    def quick_cast(method, prepared=to_h1, **kwargs):
        start = time.monotonic()
        result = prepared.cast(ctxt, method, **kwargs)
        return (result, 'at once' if time.monotonic() - start < TIMEOUT
                else 'waited')

    def unknown_host_console_output():
        conf.set_override('rpc_response_timeout', TIMEOUT)
        try:
            return rpcapi.ComputeAPI(conf).get_console_output(
                ctxt, 'nowhere', instance)
        finally:
            conf.clear_override('rpc_response_timeout')

    yield 'call: arguments, result and context cross as JSON', (
        lambda: to_h1.call(ctxt, 'echo', when=when, items=(1, 2),
                           data={'k': [None, 1.5]}, raw=b'ab\xc3\xa9'))
    yield 'call: objects cross as objects', (
        lambda: to_h1.call(ctxt, 'console', instance=instance))
    yield 'call: a bad object is refused before the endpoint', (
        lambda: to_h1.call(ctxt, 'console', instance=bad))
    yield 'call: a nova error crosses as itself', (
        lambda: to_h1.call(ctxt, 'fail', error='nova'))
    yield 'call: a builtin error crosses with the remote traceback', (
        lambda: to_h1.call(ctxt, 'fail', error='builtin'))
    yield 'call: another error crosses as RemoteError', (
        lambda: to_h1.call(ctxt, 'fail', error='other'))
    yield 'call: no such method', (
        lambda: to_h1.call(ctxt, 'missing'))
    yield 'call: a private method is not served', (
        lambda: to_h1.call(ctxt, '_private'))
    yield 'call: a newer minor version is refused by the server', (
        lambda: client.prepare(server=SERVER, version='2.2').call(
            ctxt, 'ping'))
    yield 'call: a version above the cap is not sent', (
        lambda: rpc.get_client(conf, TOPIC, '2.0', version_cap='2.0')
        .prepare(server=SERVER, version='2.1').call(ctxt, 'ping'))
    yield 'call: slower than its timeout', (
        lambda: short.call(ctxt, 'slow'))
    yield 'call: the next call after a time-out', (
        lambda: short.call(ctxt, 'ping'))
    yield 'call: any server of the topic', (
        lambda: client.prepare(timeout=TIMEOUT).call(ctxt, 'ping'))
    yield 'call: a server nobody runs', (
        lambda: client.prepare(server='nowhere', timeout=TIMEOUT).call(
            ctxt, 'ping'))
    yield 'call: a topic nobody serves', (
        lambda: rpc.get_client(conf, TOPIC + '-nowhere', '2.0').prepare(
            timeout=TIMEOUT).call(ctxt, 'ping'))
    yield 'compute API: a host nobody runs', unknown_host_console_output
    yield 'cast: delivered, through JSON', lambda: cast_arrives((1, 'x'))
    yield 'cast: does not wait for the endpoint', (
        lambda: quick_cast('slow'))
    yield 'cast: its error stays on the server', (
        lambda: quick_cast('fail', error='builtin'))
    yield 'cast: to a server nobody runs', (
        lambda: quick_cast('record', client.prepare(server='nowhere'),
                           value=0))


def observe(conf):
    """Run the scenario on ``conf``'s transport: a list of (step,
    outcome), one per step of ``EXPECTED``. Serves ``TOPIC`` on
    ``SERVER`` with a :class:`Probe` meanwhile."""
    probe = Probe()
    server = rpc.get_server(conf, TOPIC, SERVER, [probe])
    server.start()
    try:
        return [(step, outcome(func)) for step, func in _steps(conf, probe)]
    finally:
        probe.release.set()
        server.stop()
        server.wait()


# A nova.exception error arrives as a subclass of its class that
# oslo.messaging makes (``<class>_Remote``): isinstance() holds.
NOVA_ERROR = ('ComputeHostNotFound_Remote',
              'Compute host h1 could not be found.', 404)
TIMED_OUT = ('MessagingTimeout', 'after the timeout')

EXPECTED = [
    ('call: arguments, result and context cross as JSON', ('returned', {
        'context': {'user_id': 'alice', 'project_id': 'pa',
                    'roles': ['member', 'reader'],
                    'request_id': ALICE['request_id'], 'is_admin': False},
        'kwargs': {'when': '2026-01-02T03:04:05.000000', 'items': [1, 2],
                   'data': {'k': [None, 1.5]}, 'raw': 'ab\xe9'}})),
    ('call: objects cross as objects',
     ('returned', ctype.ConsoleSerial(host='h-console', port=10000))),
    ('call: a bad object is refused before the endpoint',
     ('InvalidUUID_Remote', 'instance uuid must be a canonical lower-case '
      "UUID (8-4-4-4-12 hex digits), not '../victim'", 400)),
    ('call: a nova error crosses as itself', NOVA_ERROR),
    ('call: a builtin error crosses with the remote traceback',
     ('RuntimeError', 'secret detail', 'remote traceback')),
    ('call: another error crosses as RemoteError',
     ('RemoteError', 'ScenarioError')),
    ('call: no such method', ('RemoteError', 'NoSuchMethod')),
    ('call: a private method is not served',
     ('RemoteError', 'NoSuchMethod')),
    ('call: a newer minor version is refused by the server',
     ('RemoteError', 'UnsupportedVersion')),
    ('call: a version above the cap is not sent',
     ('RPCVersionCapError', 'Requested message version, 2.1 is '
      'incompatible.  It needs to be equal in major version and less '
      'than or equal in minor version as the specified version cap 2.0.',
      'local')),
    ('call: slower than its timeout', TIMED_OUT),
    ('call: the next call after a time-out', ('returned', 'pong')),
    ('call: any server of the topic', ('returned', 'pong')),
    ('call: a server nobody runs', TIMED_OUT),
    ('call: a topic nobody serves', TIMED_OUT),
    ('compute API: a host nobody runs',
     ('InstanceHostUnavailable', 'Server %s cannot be reached: the compute '
      'service on its host nowhere did not answer within 1 s.' % ids.SRV1,
      409)),
    ('cast: delivered, through JSON', ('returned', [1, 'x'])),
    ('cast: does not wait for the endpoint',
     ('returned', (None, 'at once'))),
    ('cast: its error stays on the server', ('returned', (None, 'at once'))),
    ('cast: to a server nobody runs', ('returned', (None, 'at once'))),
]
