"""The package as a user installs it: ``pip install`` of a fresh clone.

A ``git clone`` of this repository's HEAD (what CI and a user get, so
nothing uncommitted and no build left-overs count) is installed, not
editable, into a new virtualenv by pip, with pip's own index and cache.
Then, from outside the source tree and with no PYTHONPATH: every console
script that setup.cfg declares answers ``--help`` with exit status 0,
every ``nova.cmd`` module imports, every runtime requirement is declared
and installed, the version comes from git (pbr), and no ``nova.tests``
module was installed (product code must work without the tests).

The install is done once for the class (about 15 s with a warm pip cache;
about a minute when libvirt-python must be compiled).
"""

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import testtools

from nova.tests.functional import base

DIST = 'nova-virtlogd'
PIP_TIMEOUT = 900
RUN_TIMEOUT = 120
# What would make the venv's python see the source tree or another
# install instead of what pip put in the venv.
_LEAKY_ENV = ('PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP', 'PYTHONUSERBASE',
              'VIRTUAL_ENV', 'PBR_VERSION', 'PYTHONDONTWRITEBYTECODE')


def _normalize(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def requirement_names(path):
    """Distribution names in a requirements file, normalized (PEP 503)."""
    names = set()
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                names.add(_normalize(re.match(r'[A-Za-z0-9._-]+',
                                              line).group(0)))
    return names


def console_scripts(setup_cfg):
    """Names of the console scripts setup.cfg declares.

    pbr's ``[entry_points]`` or setuptools' ``[options.entry_points]``.
    """
    parser = configparser.ConfigParser()
    parser.read(setup_cfg)
    names = []
    for section in ('entry_points', 'options.entry_points'):
        value = parser.get(section, 'console_scripts', fallback='')
        names += [line.split('=', 1)[0].strip()
                  for line in value.splitlines() if line.strip()]
    return names


class TestPipInstall(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.workdir = tempfile.mkdtemp(prefix='nova-packaging-')
        try:
            cls._install()
        except BaseException:
            shutil.rmtree(cls.workdir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workdir, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def _run(cls, argv, timeout=RUN_TIMEOUT):
        env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
        # Not ~/.local either: only what is in the venv counts.
        env['PYTHONNOUSERSITE'] = '1'
        env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
        return subprocess.run(argv, cwd=cls.workdir, env=env,
                              capture_output=True, text=True,
                              timeout=timeout)

    @classmethod
    def _check(cls, argv, timeout=RUN_TIMEOUT):
        proc = cls._run(argv, timeout)
        if proc.returncode != 0:
            raise AssertionError('%s: exit %d\n%s\n%s' % (
                ' '.join(argv), proc.returncode, proc.stdout[-2000:],
                proc.stderr[-4000:]))
        return proc.stdout

    @classmethod
    def _install(cls):
        cls.src = os.path.join(cls.workdir, 'src')
        cls.venv = os.path.join(cls.workdir, 'venv')
        cls._check(['git', 'clone', '--quiet', base.REPO, cls.src])
        cls.head = cls._check(['git', '-C', cls.src, 'rev-parse', '--short',
                               'HEAD']).strip()
        cls._check([sys.executable, '-m', 'venv', cls.venv])
        cls.python = os.path.join(cls.venv, 'bin', 'python')
        cls._check([cls.python, '-m', 'pip', 'install', '--quiet', cls.src],
                   timeout=PIP_TIMEOUT)

    def _venv_python(self, code, *args):
        return self._check([self.python, '-c', code] + list(args))

    def test_console_scripts_help(self):
        scripts = console_scripts(os.path.join(self.src, 'setup.cfg'))
        self.assertIn('nova-all', scripts)
        # The conductor of a split deployment is a command of its own.
        self.assertIn('nova-conductor', scripts)
        for name in scripts:
            path = os.path.join(self.venv, 'bin', name)
            self.assertTrue(os.path.exists(path),
                            '%s was not installed' % name)
            proc = self._run([path, '--help'])
            self.assertEqual(
                0, proc.returncode,
                '%s --help: exit %d\n%s' % (name, proc.returncode,
                                            proc.stderr[-4000:]))
            self.assertIn('usage: %s' % name, proc.stdout)

    def test_cmd_modules_import(self):
        modules = sorted(
            'nova.cmd.' + f[:-3]
            for f in os.listdir(os.path.join(self.src, 'nova', 'cmd'))
            if f.endswith('.py') and f != '__init__.py')
        self.assertIn('nova.cmd.all', modules)
        for module in modules:
            where = self._venv_python(
                'import importlib, sys\n'
                'print(importlib.import_module(sys.argv[1]).__file__)',
                module)
            # From the venv, never from the clone or this tree.
            self.assertTrue(where.startswith(self.venv + os.sep), where)

    def test_no_tests_installed(self):
        out = json.loads(self._venv_python(
            'import importlib.metadata as md, importlib.util, json, sys\n'
            'files = md.distribution(sys.argv[1]).files\n'
            'print(json.dumps({\n'
            '    "files": [str(f) for f in files],\n'
            '    "spec": importlib.util.find_spec("nova.tests") is not None,\n'
            '}))', DIST))
        self.assertFalse(out['spec'], 'nova.tests is importable')
        installed = [f for f in out['files'] if f.startswith('nova/tests')]
        self.assertEqual([], installed)
        self.assertIn('nova/cmd/all.py', out['files'])

    def test_runtime_requirements_installed(self):
        wanted = requirement_names(os.path.join(self.src, 'requirements.txt'))
        self.assertIn('oslo-config', wanted)
        out = json.loads(self._venv_python(
            'import importlib.metadata as md, json, re, sys\n'
            'norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()\n'
            'declared = [re.match(r"[A-Za-z0-9._-]+", r).group(0)\n'
            '            for r in md.requires(sys.argv[1]) or []]\n'
            'print(json.dumps({\n'
            '    "declared": sorted(norm(n) for n in declared),\n'
            '    "installed": sorted(norm(d.metadata["Name"])\n'
            '                        for d in md.distributions()),\n'
            '}))', DIST))
        self.assertEqual(sorted(wanted), out['declared'])
        self.assertEqual(set(), wanted - set(out['installed']))

    def test_version_from_git(self):
        out = json.loads(self._venv_python(
            'import importlib.metadata as md, json, sys\n'
            'dist = md.distribution(sys.argv[1])\n'
            'print(json.dumps({"version": dist.version,\n'
            '                  "pbr": dist.read_text("pbr.json")}))', DIST))
        self.assertIsNotNone(out['pbr'], 'not built by pbr')
        self.assertEqual(self.head, json.loads(out['pbr'])['git_version'])
        # A PEP 440 version (pbr: X.Y.Z at a tag, a pre-release such as
        # X.Y.Z.0rc1, or X.Y.Z.devN between tags).
        self.assertRegex(out['version'],
                         r'^\d+(\.\d+)*((a|b|rc)\d+)?(\.dev\d+)?$')
