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
2b. the floors under 2, same run: the HTTP floor (the same 100 KiB as
   JSON, encoded per request, on the same server and threads, with no
   middleware, routing, authentication, policy or validation:
   ``bench_api.py --child bare``), the path's one database read
   (``instance_get_with_service`` on nova-all's database), and a bare RPC
   call answering the guest's log (a compute manager over a driver that
   only reads it: no libvirt look-up, no HTTP, no database) on the
   in-process transport and, with ``--broker-floor`` or
   ``--api-workers``, through RabbitMQ. Their sum is what the REST call
   cannot go below; the ratios say how far above it each layer is.
3. REST, ``--clients`` clients for ``--duration`` s each: nova-all against
   the same WSGI app and configuration answering the same 100 KiB from
   memory (``bench_api.py``'s baseline). Target: >= 0.7x its req/s.
   With ``--api-workers N`` again with both under gunicorn, N workers
   each (``nova.wsgi.osapi_compute`` and ``bench_wsgi_baseline``), as a
   deployer runs the API; nova-all is then the compute host, reached
   over a RabbitMQ vhost of its own (``tools/setup-rabbitmq.sh``). Its
   RPC then goes through the broker in every section, 1 to 3 included.
   The CPU per request of the API workers, of nova-all (the compute
   host) and of the broker (RabbitMQ's ``beam.smp``, which also serves
   anything else on this host) is printed, with the ratio that CPU
   alone allows when the host's cores are the limit.

Only ratios mean anything: the machine is shared. Figures go to stdout,
progress to stderr. The server is deleted and every process stopped in
every case. Exit 0 on success, 1 with a message on failure.
"""

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

import bench_api  # noqa: I100 (benchlib first: the repository on sys.path)
from benchlib import BenchFailed
from benchlib import boot_server
from benchlib import free_port
from benchlib import NovaAll
from benchlib import out
from benchlib import pids_of
from benchlib import prepare_host
from benchlib import progress
from benchlib import REPO
from benchlib import reproduce_command
from benchlib import run_tool


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


# -- 2b: the floors under the REST call --------------------------------------

def rpc_floor(log_file, calls, broker_url):
    """{transport: samples} of a bare RPC call: a compute manager whose
    driver reads the guest's console log (``read_log_tail``, no libvirt
    look-up) answers ``get_console_output`` over oslo.messaging, called
    from this process: in-process (``fake://``, nova-all's transport)
    and, with ``broker_url``, through RabbitMQ. No HTTP, no database."""
    import bench_rpc
    from nova.compute import manager
    from nova.compute import rpcapi
    from nova import context
    from nova.objects import instance as objects
    from nova import rpc

    compute = manager.ComputeManager(bench_rpc.LogDriver(log_file))
    ctx = context.get_admin_context()
    inst = objects.Instance(uuid='11111111-2222-3333-4444-555555555555')
    samples = {}
    for name, url in (('in-process', 'fake://'), ('rabbit', broker_url)):
        if url is None:
            continue
        conf = bench_rpc.conf_for(url)
        server = rpc.get_server(conf, rpcapi.TOPIC, compute.host, [compute])
        server.start()
        try:
            client = rpcapi.ComputeAPI(conf)

            def call(client=client):
                return client.get_console_output(ctx, compute.host, inst)
            if len(call()) != bench_api.LOG_BYTES:
                raise BenchFailed('the bare RPC call answered %d bytes'
                                  % len(call()))
            samples[name] = [timed(call)[0] for _ in range(calls)]
        finally:
            server.stop()
            server.wait()
            rpc.cleanup(conf)
    return samples


def report_floors(samples, rest, rest_base, bare, rpc, db):
    driver = median_us(samples['driver'])
    one, base = median_us(rest), median_us(rest_base)
    out('== 2b. the floors under the REST call (same run) ==')
    out('%-52s %10s' % ('call', 'median us'))
    rows = [('HTTP floor: same server, same JSON, no middleware',
             median_us(bare)),
            ('one database read of the path '
             '(instance_get_with_service)', median_us(db))]
    for name in ('in-process', 'rabbit'):
        if name in rpc:
            rows.append(('bare RPC call, %s, 100 KiB answer' % name,
                         median_us(rpc[name])))
    for name, value in rows:
        out('%-52s %10.1f' % (name, value))
    floor = median_us(bare) + median_us(rpc['in-process'])
    out('REST real / driver %.2fx; floor (HTTP floor + in-process RPC) / '
        'driver %.2fx; real / floor %.2fx' % (one / driver, floor / driver,
                                              one / floor))
    out('the app above the HTTP floor (baseline - HTTP floor): %.0f us; '
        'real above the baseline: %.0f us' % (base - median_us(bare),
                                              one - base))
    if 'rabbit' in rpc:
        floor = median_us(bare) + median_us(rpc['rabbit'])
        out('through RabbitMQ the floor alone is %.2fx the driver call '
            '(HTTP floor + bare RPC call)' % (floor / driver))
    out()


def db_read_cost(services, server_id, calls):
    """Samples of the path's one database read, on nova-all's database
    (a second process reading it, as an API worker would)."""
    from nova.db import api as db
    db.configure()
    try:
        return [timed(lambda: db.instance_get_with_service(server_id))[0]
                for _ in range(calls)]
    finally:
        db.dispose()


# -- 3 with API workers under gunicorn ---------------------------------------

def broker_transport_url():
    """The transport URL of the host's RabbitMQ (tools/setup-rabbitmq.sh)."""
    from nova.tests.functional import rabbitmq_vhost
    return run_tool(rabbitmq_vhost.SETUP_RABBITMQ, '--print-transport-url',
                    '127.0.0.1').strip().splitlines()[-1]


def with_broker(services):
    """Give nova-all a RabbitMQ vhost of its own (the API workers in
    other processes reach its compute service through it); returns a
    function that deletes the vhost, and the vhost's transport URL."""
    from nova.tests.functional import rabbitmq_vhost
    vhost = rabbitmq_vhost.create()
    url = rabbitmq_vhost.with_vhost(broker_transport_url(), vhost)
    with open(services.conf_file) as f:
        text = f.read()
    text = text.replace('[DEFAULT]\n', '[DEFAULT]\ntransport_url = %s\n'
                        % url, 1)
    with open(services.conf_file, 'w') as f:
        f.write(text)
    return (lambda: rabbitmq_vhost.delete(vhost)), url


def family(pid):
    """``pid`` and its descendants (gunicorn's master and workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir('/proc/%d/task' % current):
                with open('/proc/%d/task/%s/children' % (current, task)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


class Gunicorn:
    """gunicorn serving ``app`` with ``workers`` processes."""

    def __init__(self, app, workers, threads, env, pythonpath=None):
        self.port = free_port()
        argv = [sys.executable, '-m', 'gunicorn', '--bind',
                '%s:%d' % (bench_api.HOST, self.port), '--workers',
                str(workers), '--threads', str(threads), '--log-level',
                'warning']
        if pythonpath:
            argv += ['--pythonpath', pythonpath]
        path = os.environ.get('PYTHONPATH')
        env = dict(os.environ, PYTHONPATH=REPO + (':' + path if path
                                                  else ''), **env)
        self.process = subprocess.Popen(argv + [app], env=env, cwd=REPO,
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)

    def wait_ready(self, server_id, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchFailed('gunicorn exited with %d: %s' % (
                    self.process.returncode,
                    self.process.stderr.read()[-2000:]))
            try:
                status, body = bench_api.http_post_console_output(
                    self.port, server_id)
            except OSError:
                time.sleep(0.3)
                continue
            problem = bench_api.check_console_response(status, body)
            if problem:
                raise BenchFailed('gunicorn on port %d: %s'
                                  % (self.port, problem))
            return self
        raise BenchFailed('gunicorn did not answer within %d s' % timeout)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stderr.close()


def gunicorn_load(services, server_id, data_file, args):
    """Section 3 again, both sides under gunicorn with the same workers."""
    threads = 8
    path = '/v2.1/servers/%s/action' % server_id
    results = []
    for name, app, env, pythonpath in (
            ('real', 'nova.wsgi.osapi_compute:application',
             {'OS_NOVA_CONFIG_FILES': services.conf_file}, None),
            ('baseline', 'bench_wsgi_baseline:application',
             {'BENCH_CONF_FILE': services.conf_file,
              'BENCH_DATA_FILE': data_file},
             os.path.join(REPO, 'tools', 'bench'))):
        server = Gunicorn(app, args.api_workers, threads, env, pythonpath)
        try:
            server.wait_ready(server_id)
            progress('3b: %s under gunicorn (%d workers), %d clients for '
                     '%g s', name, args.api_workers, args.clients,
                     args.duration)
            pids = {'server': family(server.process.pid),
                    'client': [os.getpid()]}
            if name == 'real':
                pids['nova-all'] = [services.process.pid]
                # The broker's share of each call (RabbitMQ's Erlang VM).
                pids['broker'] = pids_of('beam.smp')
            meter = bench_api.CpuMeter(pids)
            results.append((name, bench_api.http_load(
                server.port, path, args.clients, args.duration, meter)))
        finally:
            server.stop()
    out('== 3b. the same under gunicorn: %d workers x %d threads each '
        '(nova.wsgi.osapi_compute), nova-all as the compute host over '
        'RabbitMQ ==' % (args.api_workers, threads))
    out('%-10s %8s %7s %8s %8s %8s %9s %9s %9s' % (
        'target', 'ok', 'errors', 'req/s', 'p50 ms', 'p99 ms', 'API CPU',
        'nova-all', 'broker'))
    for name, r in results:
        out('%-10s %8d %7d %8.1f %8.2f %8.2f %9.2f %9.2f %9.2f' % (
            name, r.ok, r.errors, r.rate, r.percentile(50) * 1e3,
            r.percentile(99) * 1e3, r.cpu.get('server', 0.0),
            r.cpu.get('nova-all', 0.0), r.cpu.get('broker', 0.0)))
    real, base = results[0][1], results[1][1]
    out('ratio real/baseline: req/s %.3f (target >= 0.7)'
        % (real.rate / base.rate if base.rate else float('nan')))
    if real.ok and base.ok:
        per = {key: real.cpu.get(key, 0.0) / real.ok * 1e3
               for key in ('server', 'nova-all', 'broker')}
        out('CPU ms per request: real %.2f (API workers %.2f, nova-all as '
            'the compute host %.2f, broker %.2f), baseline %.2f; on %d '
            'cores a CPU-bound real path reaches at most about %.2fx the '
            "baseline's req/s" % (
                sum(per.values()), per['server'], per['nova-all'],
                per['broker'], base.cpu.get('server', 0.0) / base.ok * 1e3,
                os.cpu_count(), base.cpu.get('server', 0.0) / base.ok /
                (sum(per.values()) / 1e3)))
    out()


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
    parser.add_argument('--api-workers', type=int, default=0,
                        help='also run 3 with the API (and the baseline) '
                             'under gunicorn with this many workers, '
                             'nova-all reached over RabbitMQ '
                             '(tools/setup-rabbitmq.sh; default 0: not)')
    parser.add_argument('--broker-floor', action='store_true',
                        help='also time a bare RPC call through RabbitMQ '
                             '(tools/setup-rabbitmq.sh) in 2b (implied '
                             'by --api-workers)')
    args = parser.parse_args(argv)
    if not (10 <= args.calls <= 5000 and 1 <= args.clients <= 64 and
            1 <= args.duration <= 30 and 0 <= args.api_workers <= 8):
        parser.error('keep it bounded: --calls 10..5000, --clients 1..64, '
                     '--duration 1..30, --api-workers 0..8')
    out('$ ' + reproduce_command())
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix='nova-bench-cost-')
    virt_type, kernel, initrd, cmdline, how = prepare_host()
    out('host: %d CPU(s), virt type %s; libvirtd/virtlogd %s'
        % (os.cpu_count(), virt_type, how))
    out()
    services = NovaAll(kernel, initrd, cmdline, virt_type)
    baseline = bare = None
    failure = None
    drop_vhost = None
    broker_url = None
    try:
        if args.api_workers:
            drop_vhost, broker_url = with_broker(services)
        elif args.broker_floor:
            broker_url = broker_transport_url()
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
        bare = bench_api.Child(
            workdir, 'bare', '--data-file', data_file, '--threads',
            str(api_cmd.THREADS)).wait_ready()
        progress('2: REST, one client, %d calls each', args.calls)
        rest = rest_one_client(services.api_port, server_id, args.calls)
        rest_base = rest_one_client(baseline.port, server_id, args.calls)
        rest_bare = rest_one_client(bare.port, server_id, args.calls)
        bare.stop()
        bare = None
        report_layers(samples, rest, rest_base)
        progress('2b: floors: a bare RPC call, %d calls each', args.calls)
        rpc_samples = rpc_floor(log_file, args.calls, broker_url)
        db_samples = db_read_cost(services, server_id, args.calls)
        report_floors(samples, rest, rest_base, rest_bare, rpc_samples,
                      db_samples)
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
        if args.api_workers:
            gunicorn_load(services, server_id, data_file, args)
    except BenchFailed as e:
        failure = e
    except Exception as e:  # libvirt, OSError, ServicesFailed
        traceback.print_exc(file=sys.stderr)
        failure = '%s: %s' % (type(e).__name__, e)
    finally:
        if baseline is not None:
            baseline.stop()
        if bare is not None:
            bare.stop()
        progress('deleting the server and stopping nova-all')
        services.cleanup()
        if drop_vhost is not None:
            drop_vhost()
        shutil.rmtree(workdir, ignore_errors=True)
    if failure is not None:
        print('bench: FAILED: %s' % failure, file=sys.stderr, flush=True)
        return 1
    out('total %.0f s' % (time.monotonic() - started))
    return 0


if __name__ == '__main__':
    sys.exit(main())
