#!/usr/bin/env bash
# Quick start 1: set up meshctl and run its read commands on the bundled two-cluster demo snapshot.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
demo=testdata/clusters/demo
set -x
meshctl version --snapshot "$demo"
meshctl snapshot show "$demo"
meshctl snapshot show "$demo" --context cluster1 --kind gateways.gateway.networking.k8s.io
meshctl status --snapshot "$demo"
meshctl namespace list --snapshot "$demo"
meshctl waypoint list --snapshot "$demo"
meshctl topology --snapshot "$demo" -n bookinfo
meshctl multicluster status --snapshot "$demo"
# The demo's inference pool has planted problems too: status lists them and exits 1.
meshctl inference status --snapshot "$demo" -A || [ $? -eq 1 ]
# The demo has planted problems, so analyze exits 79 ("issues found"); anything else is a failure.
meshctl analyze --snapshot "$demo" -A && status=0 || status=$?
{ set +x; } 2>/dev/null
if [ "$status" -ne 79 ]; then
  echo "meshctl analyze exited $status; expected 79 (the demo's planted problems)" >&2
  exit 1
fi
echo "demo done: meshctl analyze found the demo's planted problems (exit 79, as expected)" >&2
