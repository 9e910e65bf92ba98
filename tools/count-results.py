"""Print 'N passed, N failed' over tox envs run by tools/run-tests.sh.

Test envs (those that left DIR/ENV.subunit) count each test; other envs
count as one check each. Exit 1 when anything failed or no test ran.
"""

import subprocess
import sys

TEST_ENVS = {'py3', 'functional'}


def count_subunit(tox_dir, env):
    """(passed, failed, skipped) from the env's stestr subunit v2 stream."""
    # subunit2csv comes with stestr in every test env; read its status
    # column instead of re-implementing the subunit protocol here.
    with open('%s/%s.subunit' % (tox_dir, env), 'rb') as stream:
        proc = subprocess.run(['%s/%s/bin/subunit2csv' % (tox_dir, env),
                               '--no-passthrough'],
                              stdin=stream, capture_output=True, text=True)
    # subunit2csv exits 1 when a test failed: that is a result, not an
    # error; no CSV header at all is one.
    csv = proc.stdout.splitlines()
    if not csv or not csv[0].startswith('test,'):
        raise subprocess.CalledProcessError(proc.returncode, proc.args,
                                            proc.stdout, proc.stderr)
    statuses = [line.split(',')[1] for line in csv[1:] if line]
    passed = statuses.count('success')
    skipped = statuses.count('skip')
    return passed, len(statuses) - passed - skipped, skipped


def main(tox_dir, *envs):
    passed = failed = skipped = tests = 0
    for env in envs:
        try:
            with open('%s/%s.result' % (tox_dir, env)) as f:
                ok = f.read().strip() == 'pass'
        except FileNotFoundError:
            ok = False
        if env in TEST_ENVS:
            try:
                p, f, s = count_subunit(tox_dir, env)
            except (OSError, subprocess.CalledProcessError) as e:
                print('count-results: no results for %s: %s' % (env, e),
                      file=sys.stderr)
                p, f, s = 0, 1, 0
            if p + f + s == 0:
                print('count-results: %s ran no test' % env,
                      file=sys.stderr)
                f = 1
            elif not ok and f == 0:
                f = 1  # the runner failed outside any test (import error)
            passed, failed, skipped = passed + p, failed + f, skipped + s
            tests += p + f
        elif ok:
            passed += 1
        else:
            failed += 1
    if tests == 0:
        failed += 1
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))
