#!/bin/bash
# run-tempest.sh - run stock tempest (tools/setup-tempest.sh) against the running
# services: Keystone (tools/setup-keystone.sh), the compute API at the catalog's compute
# endpoint, Glance when the catalog's image endpoint answers.
#
# Usage:
#   tools/run-tempest.sh [--image ID] [--image-alt ID] [--flavor ID] [--flavor-alt ID]
#                        [--neutron-claimed] [--block-migration] [--concurrency N]
#                        REGEX...
#
# Writes $WORKSPACE/etc/tempest.conf (tools/lib/tempest_conf.py) from what the services
# say: the admin of /etc/nova-keystone/clouds.yaml for tempest's dynamic credentials
# (users admin/demo/alt exist; tempest makes its own projects and users), the compute
# API's microversion range, image and flavor refs (by default the first ACTIVE bootable
# image and the two smallest flavors), the number of compute hosts up, the features this
# project serves (console_output and serial_console true, what it does not serve false)
# and no Neutron: [service_available] neutron = false, no fixed network, no validation
# over ssh. Then "tempest run --regex REGEX" (several REGEX: joined with "|") in the
# workspace.
#
#   --neutron-claimed  [service_available] neutron = true, for the tests tempest skips
#                      without Neutron (create_default_network): pre-provisioned
#                      credentials (etc/accounts.yaml: demo, alt, admin) instead of
#                      dynamic ones, no isolated networks, no fixed network: tempest then
#                      calls no network API for the tests that only need the flag (see
#                      doc/source/admin/tempest.rst). Not for a whole run: tests that use
#                      Neutron for real would run and fail.
#   --block-migration  [compute-feature-enabled] block_migration_for_live_migration
#                      = true: tempest's live migrations ask for a block migration
#                      (hosts without shared instance storage, as the two-host rig).
#   --concurrency N    tempest workers (default 1: one machine, real guests)
#
# stdout: the configuration summary, tempest's output, then the ids of failed tests and
# a last line "N passed, N failed, N skipped".  Exit codes: 0 no failure, 1 a test
# failed or the set-up failed, 2 bad usage.
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH
readonly TOOLS_DIR="${SCRIPT_PATH%/*}"
readonly VENV=/opt/nova-tempest/venv
readonly WORKSPACE=/var/lib/nova-tempest
readonly CLOUDS_YAML=/etc/nova-keystone/clouds.yaml
readonly PROG=run-tempest
# shellcheck source=lib/common.sh
source "$TOOLS_DIR/lib/common.sh"
usage() { header 6,8; exit 2; }

image="" image_alt="" flavor="" flavor_alt="" neutron=no block=no concurrency=1
regexes=()
while [ $# -gt 0 ]; do
    case "$1" in
        --image|--image-alt|--flavor|--flavor-alt|--concurrency)
            [ $# -ge 2 ] && [ -n "$2" ] || usage
            case "$1" in
                --image) image="$2" ;;
                --image-alt) image_alt="$2" ;;
                --flavor) flavor="$2" ;;
                --flavor-alt) flavor_alt="$2" ;;
                --concurrency) concurrency="$2" ;;
            esac
            shift ;;
        --neutron-claimed) neutron=claimed ;;
        --block-migration) block=yes ;;
        -h|--help) header '2,/^set -euo/'; exit 0 ;;
        -*) printf '%s: unknown option: %s\n' "$PROG" "$1" >&2; usage ;;
        *) regexes+=("$1") ;;
    esac
    shift
done
[ ${#regexes[@]} -gt 0 ] || { printf '%s: a REGEX is needed\n' "$PROG" >&2; usage; }
[[ "$concurrency" =~ ^[1-9][0-9]?$ ]] \
    || { printf '%s: --concurrency must be 1..99\n' "$PROG" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root (the credentials in $CLOUDS_YAML are root's)"
[ -r "$CLOUDS_YAML" ] || die "no $CLOUDS_YAML: run tools/setup-keystone.sh first"

"$TOOLS_DIR/setup-tempest.sh" 2>/dev/null || "$TOOLS_DIR/setup-tempest.sh"
regex="$(IFS='|'; printf '%s' "${regexes[*]}")"

# One run at a time: the workspace's config and stestr repository are shared.
exec 9<"$SCRIPT_PATH"
flock -w 3600 9 || die "another tools/run-tempest.sh still runs"

NOVA_TEMPEST_CLOUDS="$CLOUDS_YAML" NOVA_TEMPEST_WORKSPACE="$WORKSPACE" \
NOVA_TEMPEST_IMAGE="$image" NOVA_TEMPEST_IMAGE_ALT="$image_alt" \
NOVA_TEMPEST_FLAVOR="$flavor" NOVA_TEMPEST_FLAVOR_ALT="$flavor_alt" \
NOVA_TEMPEST_NEUTRON="$neutron" NOVA_TEMPEST_BLOCK_MIGRATION="$block" \
    "$VENV/bin/python" -I "$TOOLS_DIR/lib/tempest_conf.py" || exit 1

cd "$WORKSPACE"
# stestr numbers its runs: the counts below are this run's only when it made one.
next_run() { cat "$WORKSPACE/.stestr/next-stream" 2>/dev/null || echo 0; }
before="$(next_run)"
rc=0
"$VENV/bin/tempest" run --config-file "$WORKSPACE/etc/tempest.conf" \
    --concurrency "$concurrency" --regex "$regex" || rc=$?

[ "$(next_run)" != "$before" ] || die "tempest ran nothing (exit $rc): see its output above"
# The counts of this run from the stestr repository (tempest's own totals are in the
# output above; this line is the one tools/count-results.py and CI read).
"$VENV/bin/stestr" last --subunit 2>/dev/null | "$VENV/bin/python" -I -c '
import sys, subunit, testtools
counts = {"success": 0, "fail": 0, "skip": 0}
failed = []
def on_test(test):
    status = test["status"]
    if status in ("fail", "uxsuccess"):
        counts["fail"] += 1
        failed.append(test["id"])
    elif status in counts:
        counts[status] += 1
stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer)
result = testtools.StreamToDict(on_test)
result.startTestRun()
stream.run(result)
result.stopTestRun()
for test_id in failed:
    print("FAILED: %s" % test_id)
print("%d passed, %d failed, %d skipped" % (
    counts["success"], counts["fail"], counts["skip"]))
' || { [ "$rc" != 0 ] || rc=1; }
exit "$rc"
