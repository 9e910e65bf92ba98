"""Headless Chromium (Debian's chromium + chromium-driver) for the tests
of nova-serialproxy's web terminal (unit: the page against a scripted
proxy; functional: against nova-all).

``tools/setup-host.sh`` installs both packages; selenium talks to
``/usr/bin/chromedriver`` and never downloads a driver. Each ``Browser``
has a fresh profile folder, removed when it quits, and flags that keep
Chromium off the network except for the pages it is sent to.
"""

import atexit
import os
import re
import shutil
import subprocess
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome import service
from selenium.webdriver.common import by

CHROMEDRIVER = '/usr/bin/chromedriver'
INSTALL = os.path.join(os.path.dirname(__file__), '..', '..', 'tools',
                       'install-web-console.sh')
FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync',
         '--window-size=1100,700')

_web_root = []


def web_root():
    """A web root filled by tools/install-web-console.sh from this tree
    (once per test process; npm reads its cache first)."""
    if not _web_root:
        path = tempfile.mkdtemp(prefix='nova-web-root-')
        atexit.register(shutil.rmtree, path, True)
        proc = subprocess.run([INSTALL, '--web-root', path],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError('tools/install-web-console.sh failed (exit '
                               '%d):\n%s' % (proc.returncode,
                                             proc.stderr[-3000:]))
        _web_root.append(path)
    return _web_root[0]


class Browser:
    def __init__(self):
        if not os.access(CHROMEDRIVER, os.X_OK):
            raise RuntimeError('%s is missing: run tools/setup-host.sh (it '
                               'installs chromium and chromium-driver)'
                               % CHROMEDRIVER)
        self.profile = tempfile.mkdtemp(prefix='nova-chromium-')
        options = webdriver.ChromeOptions()
        for flag in FLAGS + ('--user-data-dir=%s' % self.profile,):
            options.add_argument(flag)
        options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
        try:
            self.driver = webdriver.Chrome(
                service=service.Service(executable_path=CHROMEDRIVER),
                options=options)
        except Exception:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self.log = []

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, url):
        self.driver.get(url)

    def text(self):
        """Everything the terminal holds (scrollback too), as text."""
        return self.driver.execute_script(
            'return window.novaConsole ? window.novaConsole.text() : "";')

    def state(self):
        return self.driver.execute_script(
            'return window.novaConsole && window.novaConsole.state();')

    def wait_text(self, pattern, timeout=60, count=1):
        """The terminal's text once ``pattern`` (a regex) occurs ``count``
        times; AssertionError with the text's end otherwise."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        text = ''
        while time.monotonic() < deadline:
            text = self.text()
            if len(regex.findall(text)) >= count:
                return text
            time.sleep(0.3)
        raise AssertionError('%r not shown %d time(s) within %d s; the '
                             'terminal ends with %r; bar: %r'
                             % (pattern, count, timeout, text[-600:],
                                self.bar()))

    def type(self, keys):
        """Type into the terminal as a user would (key events)."""
        self.driver.find_element(
            by.By.CSS_SELECTOR, '.xterm-helper-textarea').send_keys(keys)

    def element(self, element_id):
        return self.driver.find_element(by.By.ID, element_id)

    def bar(self):
        return self.element('bar').text

    def console_log(self):
        """The page's console messages so far (errors, CSP reports)."""
        self.log.extend(self.driver.get_log('browser'))
        return self.log

    def screenshot(self, path):
        self.driver.save_screenshot(path)
