"""Each test's own policy enforcer, on the default rules.

oslo.policy finds its policy file through a parsed ConfigOpts; the
global CONF is not parsed in unit tests (parsing it would stop tests
from registering command line options), so the enforcer reads a
ConfigOpts of its own, parsed with no file.
"""

import fixtures
from oslo_config import cfg

from nova import policy


class PolicyFixture(fixtures.Fixture):
    def _setUp(self):
        self.conf = cfg.ConfigOpts()
        self.conf([], project='nova', default_config_files=[],
                  default_config_dirs=[])
        policy.reset()
        self.addCleanup(policy.reset)
        self.enforcer = policy.init(conf=self.conf)

    def set_policy_file(self, path):
        """Read the rules of ``path`` on top of the defaults, as
        ``[oslo_policy] policy_file = path`` does."""
        self.conf.set_override('policy_file', path, group='oslo_policy')
        policy.reset()
        self.enforcer = policy.init(conf=self.conf)
