"""nova-manage: the database's schema; the images and flavors the
compute API offers.

    nova-manage [--config-file F] db sync [VERSION]
    nova-manage [--config-file F] db version
    nova-manage [--config-file F] image create NAME --kernel K [--ramdisk R]
                [--disk D] [--property KEY=VALUE ...] [--id ID]
    nova-manage [--config-file F] image list
    nova-manage [--config-file F] flavor create NAME --ram MB --vcpus N
                [--extra-spec KEY=VALUE ...] [--id ID]
    nova-manage [--config-file F] flavor list
    nova-manage [--config-file F] flavor defaults

``flavor defaults`` creates the two flavors the embedded set-up offers when
they are missing: ``m1.tiny`` (id 1) and ``m1.serial2`` (id 2, with
``hw:serial_port_count=2``). Prints what it made as JSON on stdout.

``db sync`` brings the database of ``[database] connection`` to the
newest schema (or to VERSION, an alembic revision) and prints the
revision it is at; ``db version`` prints that revision (``null`` for a
database alembic never ran on). Every service also upgrades on start;
``db sync`` lets an operator do it first, e.g. before starting several
API workers at once.
"""

import argparse
import json
import sys

from alembic import util as alembic_util
from oslo_config import cfg
from oslo_db import exception as db_exc

import nova.conf
from nova.compute import api as compute_api
from nova import context
from nova.db import api as db
from nova.db import migration
from nova import exception

CONF = nova.conf.CONF

DEFAULT_FLAVORS = (
    dict(flavor_id='1', name='m1.tiny', ram=128, vcpus=1, extra_specs={}),
    dict(flavor_id='2', name='m1.serial2', ram=128, vcpus=1,
         extra_specs={'hw:serial_port_count': '2'}),
)


def _pairs(values, what):
    result = {}
    for item in values or ():
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise exception.Invalid(reason='%s %r is not KEY=VALUE' % (
                what, item))
        result[key] = value
    return result


def ensure_default_flavors(api, ctx):
    made = []
    existing = {f['id'] for f in api.flavor_list(ctx, is_public=None)}
    for flavor in DEFAULT_FLAVORS:
        if flavor['flavor_id'] not in existing:
            made.append(api.flavor_create(ctx, **flavor))
    return made


def _parser():
    parser = argparse.ArgumentParser(prog='nova-manage')
    parser.add_argument('--config-file', action='append', default=[])
    kinds = parser.add_subparsers(dest='kind', required=True)
    database = kinds.add_parser('db').add_subparsers(
        dest='action', required=True)
    sync = database.add_parser('sync')
    sync.add_argument('version', nargs='?', default='head')
    database.add_parser('version')
    image = kinds.add_parser('image').add_subparsers(
        dest='action', required=True)
    create = image.add_parser('create')
    create.add_argument('name')
    create.add_argument('--kernel')
    create.add_argument('--ramdisk')
    create.add_argument('--disk')
    create.add_argument('--disk-format', default='raw')
    create.add_argument('--property', action='append')
    create.add_argument('--id')
    image.add_parser('list')
    flavor = kinds.add_parser('flavor').add_subparsers(
        dest='action', required=True)
    create = flavor.add_parser('create')
    create.add_argument('name')
    create.add_argument('--ram', type=int, required=True)
    create.add_argument('--vcpus', type=int, required=True)
    create.add_argument('--extra-spec', action='append')
    create.add_argument('--id')
    flavor.add_parser('list')
    flavor.add_parser('defaults')
    return parser


def run_db(args):
    """``db sync`` / ``db version``: the engine without the upgrade that
    ``db.configure()`` runs, so that ``version`` changes nothing."""
    engine = db.make_engine()
    try:
        if args.action == 'sync':
            migration.upgrade(engine, args.version)
        return {'version': migration.version(engine)}
    finally:
        engine.dispose()


def run(args):
    api = compute_api.API()  # flavors and images only: no compute started
    ctx = context.get_admin_context()
    if args.kind == 'image' and args.action == 'create':
        return api.image_create(
            ctx, args.name, kernel_path=args.kernel,
            ramdisk_path=args.ramdisk, disk_path=args.disk,
            disk_format=args.disk_format,
            properties=_pairs(args.property, '--property'),
            image_id=args.id)
    if args.kind == 'flavor' and args.action == 'create':
        return api.flavor_create(
            ctx, args.name, args.ram, args.vcpus,
            extra_specs=_pairs(args.extra_spec, '--extra-spec'),
            flavor_id=args.id)
    if args.kind == 'flavor' and args.action == 'defaults':
        return ensure_default_flavors(api, ctx)
    return getattr(api, '%s_list' % args.kind)(ctx)


def main(argv=None):
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        CONF([], project='nova', default_config_files=args.config_file)
        if args.kind == 'db':
            result = run_db(args)
        else:
            db.configure()
            result = run(args)
    except (exception.NovaException, cfg.Error, db_exc.DBError,
            alembic_util.CommandError) as e:
        print('nova-manage: %s' % e, file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main())
