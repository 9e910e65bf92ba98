#!/bin/bash
# run-tests.sh - set the host up and run every test and check, as CI does.
#
# Usage: sudo tools/run-tests.sh [TOX_ENVS]   (default: every env below)
# Runs tox envs py3 (unit), functional (real libvirtd/virtlogd/QEMU and
# RabbitMQ: tools/setup-rabbitmq.sh runs first when functional is asked for; needs
# root), pep8, docs, releasenotes and genconfig, then prints one line
#     N passed, N failed
# counting each unit and functional test from stestr's subunit streams and
# each of the other envs as one check. No test run at all counts as failed.
# Exit 0 only when every env passed.
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

envs=${1:-py3,functional,pep8,docs,releasenotes,genconfig}

if [ "$(id -u)" = 0 ]; then
    tools/setup-host.sh || { echo "run-tests: host set-up failed" >&2; }
    case ",$envs," in
        # The functional tests' compute services talk over RabbitMQ.
        *,functional,*) tools/setup-rabbitmq.sh || echo "run-tests: rabbitmq set-up failed" >&2 ;;
    esac
else
    echo "run-tests: not root: the functional env will fail" >&2
fi
tox=$(tools/ensure-tox.sh) ||
    { echo "run-tests: cannot install tox" >&2; echo "0 passed, 1 failed"; exit 1; }

rm -f .tox/*.subunit .tox/*.result
status=0
IFS=, read -r -a env_list <<<"$envs"
for env in "${env_list[@]}"; do
    echo "=== tox -e $env" >&2
    if "$tox" -e "$env"; then
        echo pass >".tox/$env.result"
    else
        echo fail >".tox/$env.result"
        status=1
    fi
done

python3 tools/count-results.py .tox "${env_list[@]}" || status=1
exit $status
