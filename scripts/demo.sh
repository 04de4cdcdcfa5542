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
