"""The main job: one real guest with a logged, interactive serial console.

Boots a guest through ``LibvirtDriver.spawn`` on the local qemu:///system
with ``[serial_console] enabled = True``, then shows that console output
and the interactive serial console work at the same time, and that the log
survives a hard reboot. Progress goes to stderr, the story to stdout.

Run by ``tools/demo.sh`` (which sets the host up and builds the image).
"""

import argparse
import re
import shutil
import sys
import tempfile
import time

import libvirt
from oslo_config import cfg

import nova.conf
from nova.console import tcp_client
from nova import exception
from nova.objects import instance as objects
from nova.virt.libvirt import driver as libvirt_driver

CONF = nova.conf.CONF
BANNER = rb'NOVA-GUEST-BANNER ([0-9a-f-]{36})'
PROMPT = rb'nova-guest# '


class DemoFailed(Exception):
    pass


def progress(msg, *args):
    print('demo: ' + msg % args, file=sys.stderr, flush=True)


# Terminal control sequences (busybox's shell asks for the cursor position
# after each prompt) and other control bytes would garble the display.
_CONTROL = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]')


def show(title, data):
    text = data.decode('utf-8', 'replace') if isinstance(data, bytes) else data
    text = _CONTROL.sub('', text)
    print('\n--- %s ---\n%s' % (title, text.rstrip()), flush=True)


def wait_for_log(driver, inst, pattern, count=1, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = driver.get_console_output(None, inst)
        if len(re.findall(pattern, output)) >= count:
            return output
        time.sleep(0.5)
    raise DemoFailed('%r did not reach the console log within %d s'
                     % (pattern.decode(), timeout))


def tail(data, lines):
    return b'\n'.join(data.splitlines()[-lines:])


def run(args):
    driver = libvirt_driver.LibvirtDriver()
    driver.init_host()
    uses_virtlogd = driver.uses_virtlogd()
    progress('libvirt %s, QEMU %s: virtlogd %s', driver.host.get_lib_version(),
             driver.host.get_hv_version(),
             'in use' if uses_virtlogd else 'NOT usable on this host')
    if not uses_virtlogd:
        raise DemoFailed('this host fails the virtlogd version gate '
                         '(libvirt >= 1.3.3 and QEMU >= 2.6.0 needed)')
    with open(args.cmdline_file) as f:
        cmdline = f.read().strip()
    inst = objects.Instance(flavor=objects.Flavor(memory_mb=128, vcpus=1))
    image = objects.ImageMeta(name='nova-guest', kernel_path=args.kernel,
                              ramdisk_path=args.initrd,
                              properties={'os_command_line': cmdline})
    progress('spawning %s (%s)', inst.name, CONF.libvirt.virt_type)
    started = time.monotonic()
    guest = driver.spawn(None, inst, image)
    try:
        show('serial devices in the guest XML',
             '\n'.join(dev.to_xml().rstrip() for dev in guest.char_devices))
        progress('waiting for the boot banner in the console log')
        output = wait_for_log(driver, inst, BANNER)
        progress('banner in the log %.1f s after spawn',
                 time.monotonic() - started)
        show('get_console_output (last 8 lines)', tail(output, 8))

        console = driver.get_serial_console(None, inst)
        progress('connecting to the serial console at %s:%d',
                 console.host, console.port)
        with tcp_client.SerialConsoleClient(console.host,
                                            console.port) as client:
            client.send_line('')
            client.read_until(PROMPT, timeout=60)
            answer = client.run('echo hello-$((6*7)) from $(uname -n)')
        show('typed on the serial console: echo hello-$((6*7)) ...', answer)
        if b'hello-42' not in answer:
            raise DemoFailed('unexpected answer on the serial console: %r'
                             % answer)
        output = wait_for_log(driver, inst, rb'hello-42')
        show('the same interaction in get_console_output',
             tail(output, 4))

        progress('hard reboot')
        first_boot = re.search(BANNER, output).group(1)
        driver.reboot(None, inst, reboot_type='HARD')
        output = wait_for_log(driver, inst, BANNER, count=2)
        boots = re.findall(BANNER, output)
        show('boot banners in the log after the hard reboot',
             b'\n'.join(boots))
        if boots[0] != first_boot or b'hello-42' not in output:
            raise DemoFailed('the first boot is missing from the log after '
                             'the hard reboot')
        print('\nOK: console log and interactive serial console at once; '
              'history kept across a hard reboot.', flush=True)
    finally:
        progress('destroying %s', inst.name)
        driver.destroy(None, inst)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kernel', required=True)
    parser.add_argument('--initrd', required=True)
    parser.add_argument('--cmdline-file', required=True)
    parser.add_argument('--virt-type', default='qemu')
    args = parser.parse_args(argv)
    CONF([], project='nova', default_config_files=[])
    instances = tempfile.mkdtemp(prefix='nova-demo-instances-')
    for name, value, group in (
            ('virt_type', args.virt_type, 'libvirt'),
            ('connection_uri', 'qemu:///system', 'libvirt'),
            ('enabled', True, 'serial_console'),
            ('instances_path', instances, None)):
        CONF.set_override(name, value, group=group)
    try:
        run(args)
    except (DemoFailed, exception.NovaException, OSError, cfg.Error,
            libvirt.libvirtError, tcp_client.SerialConsoleTimeout) as e:
        print('demo: FAILED: %s' % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(instances, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
