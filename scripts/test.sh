#!/usr/bin/env bash
# Quick start 2: set up meshctl with its test tools and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh test
lint-imports
python -m pytest "$@"
