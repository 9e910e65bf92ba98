#!/usr/bin/env python3
"""What console output costs, layer by layer, on a real guest (not a test).

Run as root from the repository:

    python tools/bench/bench_console_cost.py [--calls 300] [--clients 32]

It starts nova-all (``benchlib.NovaAll``: the real libvirtd, virtlogd and
QEMU), boots one server, fills its console log with over 100 KiB (the
guest runs ``chatty 1600`` on its serial console), then prints, each
figure next to its baseline measured in the same run (medians of
``--calls`` calls, interleaved so that the machine's load falls on both):

1. driver: ``LibvirtDriver.get_console_output`` on that guest (a driver
   of this process, on nova-all's configuration) against the
   ``read_log_tail`` it performs (the privsep daemon's read of the same
   log) and against one libvirt domain look-up. Target: <= 2x the read
   plus one look-up.
2. REST, one client: ``os-getConsoleOutput {"length": null}`` on
   nova-all, one request at a time on a keep-alive connection, against
   the driver call of 1 (target: <= 2x), and the same on the baseline
   of 3 (what the WSGI app alone costs).
3. REST, ``--clients`` clients for ``--duration`` s each: nova-all against
   the same WSGI app and configuration answering the same 100 KiB from
   memory (``bench_api.py``'s baseline). Target: >= 0.7x its req/s.

Only ratios mean anything: the machine is shared. Figures go to stdout,
progress to stderr. The server is deleted and every process stopped in
every case. Exit 0 on success, 1 with a message on failure.
"""

import argparse
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback

import bench_api  # noqa: I100 (benchlib first: the repository on sys.path)
from benchlib import BenchFailed
from benchlib import boot_server
from benchlib import NovaAll
from benchlib import out
from benchlib import prepare_host
from benchlib import progress
from benchlib import reproduce_command


def median_us(samples):
    return statistics.median(samples) * 1e6


def timed(call):
    t0 = time.perf_counter()
    result = call()
    return time.perf_counter() - t0, result


def driver_cost(services, server_id, calls):
    """(driver, read, look-up) medians in seconds, as lists of samples."""
    import nova.conf
    from nova.objects import instance as objects
    from nova.privsep import console as privsep_console
    from nova.virt.libvirt import driver as libvirt_driver

    conf = nova.conf.CONF
    conf(['--config-file', services.conf_file], project='nova',
         prog='bench-console-cost')
    driver = libvirt_driver.LibvirtDriver()
    inst = objects.Instance(uuid=server_id)
    folder = driver.instance_dir(inst)
    euid = os.geteuid()
    max_bytes = libvirt_driver.MAX_CONSOLE_BYTES

    def read():
        return privsep_console.read_log_tail(folder, euid, max_bytes)

    def output():
        return driver.get_console_output(None, inst)

    def lookup():
        return driver.host.get_domain(inst)

    first = output()
    if len(first) != max_bytes or first != read():
        raise BenchFailed('the driver and the read disagree on the log '
                          '(%d bytes)' % len(first))
    samples = {'driver': [], 'read': [], 'lookup': []}
    for _ in range(calls):
        for name, call in (('read', read), ('driver', output),
                           ('lookup', lookup)):
            samples[name].append(timed(call)[0])
    return samples


def rest_one_client(port, server_id, calls):
    conn = http.client.HTTPConnection(bench_api.HOST, port,
                                      timeout=bench_api.REQUEST_TIMEOUT)
    headers = {'Content-Type': 'application/json',
               'X-Auth-Token': 'demo:demo'}
    path = '/v2.1/servers/%s/action' % server_id

    def one():
        conn.request('POST', path, bench_api.CONSOLE_OUTPUT_BODY, headers)
        resp = conn.getresponse()
        return resp.status, resp.read()

    try:
        problem = bench_api.check_console_response(*one())
        if problem:
            raise BenchFailed('os-getConsoleOutput: %s' % problem)
        return [timed(one)[0] for _ in range(calls)]
    finally:
        conn.close()


def report_layers(samples, rest, rest_base):
    driver = median_us(samples['driver'])
    read = median_us(samples['read'])
    lookup = median_us(samples['lookup'])
    out('== 1. driver get_console_output on a real guest (100 KiB log) ==')
    out('%-44s %10s' % ('call', 'median us'))
    for name, value in (('read_log_tail (privsep daemon), baseline', read),
                        ('libvirt domain look-up alone', lookup),
                        ('driver get_console_output', driver)):
        out('%-44s %10.1f' % (name, value))
    out('ratio driver/read %.2fx; (driver - look-up)/read %.2fx (target '
        '<= 2: twice the read plus one look-up)'
        % (driver / read, (driver - lookup) / read))
    out()
    one, base = median_us(rest), median_us(rest_base)
    out('== 2. REST os-getConsoleOutput {"length": null}, one client ==')
    out('%-44s %10s' % ('server', 'median us'))
    for name, value in (('real (nova-all)', one),
                        ('baseline (same app, fixed answer)', base)):
        out('%-44s %10.1f' % (name, value))
    out('ratio real/driver %.2fx (target <= 2); baseline/driver %.2fx (the '
        'app alone); real/baseline %.2fx' % (one / driver, base / driver,
                                             one / base))
    out()


def main(argv=None):
    from nova.cmd import api as api_cmd
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--calls', type=int, default=300,
                        help='calls per figure of 1 and 2 (default 300)')
    parser.add_argument('--clients', type=int, default=32,
                        help='client threads of 3 (default 32)')
    parser.add_argument('--duration', type=float, default=8.0,
                        help='seconds of load per target in 3 (default 8)')
    args = parser.parse_args(argv)
    if not (10 <= args.calls <= 5000 and 1 <= args.clients <= 64 and
            1 <= args.duration <= 30):
        parser.error('keep it bounded: --calls 10..5000, --clients 1..64, '
                     '--duration 1..30')
    out('$ ' + reproduce_command())
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix='nova-bench-cost-')
    virt_type, kernel, initrd, cmdline, how = prepare_host()
    out('host: %d CPU(s), virt type %s; libvirtd/virtlogd %s'
        % (os.cpu_count(), virt_type, how))
    out()
    services = NovaAll(kernel, initrd, cmdline, virt_type)
    baseline = None
    failure = None
    try:
        progress('starting nova-all (%s)', services.workdir)
        services.start()
        server_id = boot_server(services)
        log_file, _got, _typed = bench_api.fill_console_log(services,
                                                            server_id)
        progress('1: driver, %d calls each', args.calls)
        samples = driver_cost(services, server_id, args.calls)

        from nova.virt.libvirt import console_log
        data_file = os.path.join(workdir, 'baseline-output.bin')
        with open(data_file, 'wb') as f:
            f.write(console_log.read_log_tail(log_file))
        baseline = bench_api.Child(
            workdir, 'baseline', '--conf-file', services.conf_file,
            '--data-file', data_file, '--log-file',
            os.path.join(workdir, 'baseline.log'), '--threads',
            str(api_cmd.THREADS)).wait_ready()
        problem = bench_api.check_console_response(
            *bench_api.http_post_console_output(baseline.port, server_id))
        if problem:
            raise BenchFailed('the baseline answers wrong: %s' % problem)
        progress('2: REST, one client, %d calls each', args.calls)
        rest = rest_one_client(services.api_port, server_id, args.calls)
        rest_base = rest_one_client(baseline.port, server_id, args.calls)
        report_layers(samples, rest, rest_base)
        path = '/v2.1/servers/%s/action' % server_id
        results = []
        for name, port, pid in (
                ('real', services.api_port, services.process.pid),
                ('baseline', baseline.port, baseline.pid)):
            progress('3: %s, %d clients for %g s', name, args.clients,
                     args.duration)
            meter = bench_api.CpuMeter({'server': [pid],
                                        'client': [os.getpid()]})
            results.append((name, bench_api.http_load(
                port, path, args.clients, args.duration, meter)))
        bench_api.report_load(results, args.clients, args.duration,
                              api_cmd.THREADS)
    except BenchFailed as e:
        failure = e
    except Exception as e:  # libvirt, OSError, ServicesFailed
        traceback.print_exc(file=sys.stderr)
        failure = '%s: %s' % (type(e).__name__, e)
    finally:
        if baseline is not None:
            baseline.stop()
        progress('deleting the server and stopping nova-all')
        services.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    if failure is not None:
        print('bench: FAILED: %s' % failure, file=sys.stderr, flush=True)
        return 1
    out('total %.0f s' % (time.monotonic() - started))
    return 0


if __name__ == '__main__':
    sys.exit(main())
