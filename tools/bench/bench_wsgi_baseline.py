"""The fixed-answer baseline of bench_api.py as a WSGI module (not a test).

For ``bench_console_cost.py --api-workers N``: gunicorn serves it with
the same options as the real API (``nova.wsgi.osapi_compute``), so both
sides of the ratio run under the same server and workers:

    BENCH_CONF_FILE=nova.conf BENCH_DATA_FILE=output.bin \\
        gunicorn --pythonpath tools/bench bench_wsgi_baseline:application

``BENCH_CONF_FILE``: the configuration file of the real API (logging,
auth); ``BENCH_DATA_FILE``: the bytes every console output answers.
"""

import os

import bench_api  # noqa: I100 (puts the repository on sys.path first)


def _application():
    import nova.conf
    from nova.api.openstack.compute import app

    conf = nova.conf.CONF
    conf(['--config-file', os.environ['BENCH_CONF_FILE']], project='nova',
         prog='bench-wsgi-baseline')
    with open(os.environ['BENCH_DATA_FILE'], 'rb') as f:
        data = f.read()
    return app.build_app(bench_api._FixedConsoleAPI(data, project_id='demo'),
                         conf)


application = _application()
