"""The compute and conductor layers know no hypervisor: they reach the
driver through ``nova.virt.driver.ComputeDriver`` and objects only."""

import os
import subprocess
import sys

import testtools

import nova

_PROBE = '''
import importlib, pkgutil, sys
import nova.compute, nova.conductor
for package in (nova.compute, nova.conductor):
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(package.__name__ + '.' + module.name)
print('\\n'.join(sorted(name for name in sys.modules
                        if name.startswith('nova.virt.libvirt'))))
'''


class LayeringTestCase(testtools.TestCase):
    def test_compute_and_conductor_import_no_libvirt_module(self):
        # In a fresh interpreter: this one has imported the driver for
        # other tests.
        root = os.path.dirname(os.path.dirname(nova.__file__))
        env = dict(os.environ, PYTHONPATH=root)
        result = subprocess.run([sys.executable, '-c', _PROBE], env=env,
                                cwd=root, capture_output=True, text=True,
                                timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('', result.stdout.strip(),
                         'nova.compute or nova.conductor imports these')
