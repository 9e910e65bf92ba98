"""The compute API (v2.1) for a WSGI server, as Nova's module:

    gunicorn --bind 127.0.0.1:8774 --workers 2 --threads 8 \\
        nova.wsgi.osapi_compute:application
    uwsgi --http-socket 127.0.0.1:8774 --processes 2 --threads 8 \\
        --module nova.wsgi.osapi_compute:application

Configuration files from ``OS_NOVA_CONFIG_DIR`` / ``OS_NOVA_CONFIG_FILES``
(see nova.api.openstack.wsgi_app). Each worker process imports this
module and so connects to the broker itself: do not preload it in the
server's master process (gunicorn ``--preload``, uWSGI without
``--lazy-apps``), whose broker connection would be shared by the
forked workers.
"""

from nova.api.openstack import wsgi_app

application = wsgi_app.init_application('nova-api')
