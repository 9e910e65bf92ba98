#!/usr/bin/env python3
"""What RPC adds to a console call (not a test).

One compute manager, on a driver that serves a real 100 KiB console log
from disk (read_log_tail, as the libvirt driver does), answers
``get_console_output`` and ``get_serial_console`` three ways, in the same
run:

* direct: the manager's method called in-process (the baseline);
* in-process (fake://, nova-all on one host): nova.rpc_local, and for
  comparison oslo.messaging's own in-process driver, which it replaces;
* rabbit://: through RabbitMQ on loopback (several hosts), when
  tools/setup-rabbitmq.sh has set a broker up (run it first, as root).

Each row gives the median and p95 of N calls and the ratio of the median
to the direct call's. Usage:

    python tools/bench/bench_rpc.py [--calls N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib  # first: it puts the repository on sys.path

import nova.conf  # noqa: E402
from nova.compute import manager  # noqa: E402
from nova.compute import rpcapi  # noqa: E402
from nova.console import type as ctype  # noqa: E402
from nova import context  # noqa: E402
from nova.objects import instance as objects  # noqa: E402
from nova import rpc  # noqa: E402
from nova.virt.libvirt import console_log  # noqa: E402
import oslo_messaging  # noqa: E402,I100

RABBITMQ = os.path.join(benchlib.REPO, 'tools', 'setup-rabbitmq.sh')
LOG_BYTES = 100 * 1024


class LogDriver:
    """The two driver calls the benchmark makes, on a real file."""

    host_name = 'bench-host'

    def __init__(self, path):
        self.path = path

    def get_console_output(self, ctx, instance):
        return console_log.read_log_tail(self.path)

    def get_serial_console(self, ctx, instance):
        return ctype.ConsoleSerial(host='127.0.0.1', port=10000)


def timed(func, calls):
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def conf_for(url):
    conf = nova.conf.new_conf()
    conf([], project='nova', default_config_files=[])
    rpc.register_opts(conf)
    conf.set_override('transport_url', url)
    return conf


def rabbit_url():
    try:
        return subprocess.run(
            ['bash', RABBITMQ, '--print-transport-url', '127.0.0.1'],
            capture_output=True, text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, OSError):
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--calls', type=int, default=300)
    args = parser.parse_args()
    benchlib.out('# reproduce: ' + benchlib.reproduce_command())
    folder = tempfile.mkdtemp(prefix='bench-rpc-')
    path = os.path.join(folder, 'console.log')
    with open(path, 'wb') as f:
        f.write(os.urandom(LOG_BYTES // 2).hex().encode())
    compute = manager.ComputeManager(LogDriver(path))
    ctx = context.get_admin_context()
    instance = objects.Instance(uuid='11111111-2222-3333-4444-555555555555')

    def direct_output():
        return compute.driver.get_console_output(ctx, instance)

    def direct_console():
        return compute.driver.get_serial_console(ctx, instance)

    rows = [('direct', direct_output, direct_console)]
    transports = [('in-process (nova.rpc_local)', 'fake://'),
                  ("oslo.messaging's fake driver", None)]
    url = rabbit_url()
    if url:
        transports.append(('rabbit:// (loopback)', url))
    else:
        benchlib.progress('no broker: run tools/setup-rabbitmq.sh for the '
                          'rabbit:// row')
    servers = []
    for label, url in transports:
        conf = conf_for(url or 'fake://')
        if url is None:
            # Bypass nova.rpc's choice: oslo.messaging's driver itself.
            rpc._transports[id(conf)] = oslo_messaging.get_rpc_transport(
                conf, allowed_remote_exmods=rpc.ALLOWED_EXMODS)
        server = rpc.get_server(conf, rpcapi.TOPIC, compute.host, [compute])
        server.start()
        servers.append((server, conf))
        client = rpcapi.ComputeAPI(conf)

        def output(client=client):
            data = client.get_console_output(ctx, compute.host, instance)
            assert len(data) == LOG_BYTES
            return data

        def console(client=client):
            return client.get_serial_console(ctx, compute.host, instance,
                                             'serial')
        output()  # connect and declare before timing
        rows.append((label, output, console))
    try:
        benchlib.out('| path | console output (100 KiB) median | p95 | '
                     'vs direct | serial console median | p95 | '
                     'vs direct |')
        benchlib.out('|---|---|---|---|---|---|---|')
        base = None
        for label, output, console in rows:
            out_med, out_p95 = timed(output, args.calls)
            con_med, con_p95 = timed(console, args.calls)
            if base is None:
                base = (out_med, con_med)
            benchlib.out('| %s | %.3f ms | %.3f ms | x%.0f | %.3f ms | '
                         '%.3f ms | x%.0f |' % (
                             label, out_med * 1e3, out_p95 * 1e3,
                             out_med / base[0], con_med * 1e3,
                             con_p95 * 1e3, con_med / base[1]))
    finally:
        for server, conf in servers:
            server.stop()
            server.wait()
            rpc.cleanup(conf)
        os.unlink(path)
        os.rmdir(folder)


if __name__ == '__main__':
    sys.exit(main())
