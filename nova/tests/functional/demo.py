"""The main job: a logged *and* interactive serial console, end to end.

Starts the embedded cloud (nova-all: compute API, compute service on the
local qemu:///system with ``[serial_console] enabled = True``, and
nova-serialproxy), then, as a user with openstacksdk and a websocket:
boots a server, reads its console output, opens its serial console, types
a command, sees the answer, finds that interaction in the console output
(both at once: the either/or is gone), hard reboots it and shows the
first boot is still in the log, and deletes it. Progress goes to stderr,
the story to stdout; exit status 1 with a clear message if a step fails.

Run by ``tools/demo.sh``, which sets the host up and builds the image.
It lives with the functional tests, not in the installed package, because
it drives the cloud with their fixtures (``services.NovaServices``).
"""

import argparse
import re
import sys
import time

import openstack
import websocket

from nova.tests.functional import services

BANNER = r'NOVA-GUEST-BANNER ([0-9a-f-]{36})'
PROMPT = b'nova-guest# '
# Terminal control sequences (busybox's shell asks for the cursor position
# after each prompt) would garble the display.
_CONTROL = re.compile(r'\x1b?\[[0-9;?]*[A-Za-z]')


class DemoFailed(Exception):
    pass


def progress(msg, *args):
    print('demo: ' + msg % args, file=sys.stderr, flush=True)


def show(title, text):
    print('\n--- %s ---\n%s' % (title, _CONTROL.sub('', text).rstrip()),
          flush=True)


def poll(what, check, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise DemoFailed('%s did not happen within %d s' % (what, timeout))


class Demo:
    def __init__(self, cloud):
        self.cloud = cloud
        self.conn = openstack.connection.Connection(
            auth_type='admin_token',
            auth={'endpoint': cloud.endpoint, 'token': services.USER_TOKEN},
            compute_api_version='2.6')

    def output(self, server, length=None):
        return self.conn.compute.get_server_console_output(
            server, length=length)['output']

    def wait_output(self, server, pattern, count=1):
        return poll('%r in the console output' % pattern, lambda: (
            lambda out: out if len(re.findall(pattern, out)) >= count
            else None)(self.output(server)))

    def wait_active(self, server):
        def active():
            current = self.conn.compute.get_server(server.id)
            if current.status == 'ERROR':
                raise DemoFailed('server went to ERROR: %s' % current.fault)
            return current if (current.status == 'ACTIVE' and
                               not current.task_state) else None
        return poll('server ACTIVE', active)

    def type_on_serial_console(self, server, command):
        url = self.conn.compute.create_console(
            server, console_type='serial')['url']
        progress('serial console URL: %s', url.split('?')[0] + '?token=...')
        ws = websocket.create_connection(url, timeout=30)
        try:
            received = b''
            ws.send_binary(b'\r')
            while PROMPT not in received:
                received += ws.recv()
            ws.send_binary(command.encode() + b'\r')
            while received.count(PROMPT) < 2:
                received += ws.recv()
        finally:
            ws.close()
        return received.split(command.encode(), 1)[1].decode(
            'utf-8', 'replace')

    def run(self):
        started = time.monotonic()
        server = self.conn.compute.create_server(
            name='demo', image_id=services.IMAGE_ID, flavor_id='1',
            networks='none')
        try:
            self._story(server, started)
        finally:
            progress('deleting the server')
            self.conn.compute.delete_server(server, ignore_missing=True)
            self.conn.compute.wait_for_delete(server, wait=60)

    def _story(self, server, started):
        server = self.wait_active(server)
        progress('server %s ACTIVE after %.1f s', server.id,
                 time.monotonic() - started)
        output = self.wait_output(server, BANNER)
        progress('boot banner in the console output after %.1f s',
                 time.monotonic() - started)
        show('os-getConsoleOutput, length=6', self.output(server, length=6))

        answer = self.type_on_serial_console(server, 'echo hello-$((6*7))')
        show('typed on the serial console (websocket): '
             'echo hello-$((6*7))', answer)
        if 'hello-42' not in answer:
            raise DemoFailed('unexpected answer on the serial console: %r'
                             % answer)
        self.wait_output(server, r'\nhello-42')
        show('the same interaction in os-getConsoleOutput, length=3',
             self.output(server, length=3))

        first_boot = re.search(BANNER, output).group(1)
        progress('hard reboot')
        self.conn.compute.reboot_server(server, 'HARD')
        server = self.wait_active(server)
        output = self.wait_output(server, BANNER, count=2)
        boots = re.findall(BANNER, output)
        show('boot banners in the console output after the hard reboot',
             '\n'.join(boots))
        if boots[0] != first_boot or 'hello-42' not in output:
            raise DemoFailed('the first boot is missing from the console '
                             'output after the hard reboot')
        print('\nOK: console log and interactive serial console at once; '
              'history kept across a hard reboot.', flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kernel', required=True)
    parser.add_argument('--initrd', required=True)
    parser.add_argument('--cmdline-file', required=True)
    parser.add_argument('--virt-type', default='qemu')
    args = parser.parse_args(argv)
    with open(args.cmdline_file) as f:
        cmdline = f.read().strip()
    cloud = services.NovaServices(args.kernel, args.initrd, cmdline,
                                  args.virt_type)
    try:
        progress('starting nova-all (API %s, serial proxy port %d)',
                 cloud.endpoint, cloud.proxy_port)
        cloud.start()
        Demo(cloud).run()
    except (DemoFailed, services.ServicesFailed, OSError,
            openstack.exceptions.SDKException,
            websocket.WebSocketException) as e:
        print('demo: FAILED: %s' % e, file=sys.stderr)
        print('demo: last lines of nova-all.log:\n%s' % cloud.log_tail(15),
              file=sys.stderr)
        return 1
    finally:
        cloud.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
