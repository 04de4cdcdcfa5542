"""How much real-server behaviour the fake API server's own tests check, per area.

    python bench/fake_fidelity.py            # run the fake's tests, print behaviours checked per area
    python bench/fake_fidelity.py --list     # also list each behaviour (test) under its area

Each test of tests/fakekube is one behaviour compared with a real kube-apiserver (through the
official client or kubectl). This runs them all and prints, per area, how many were checked and how
many hold. It is a figure, not a gate: the suite itself fails on any of them.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# (file, test-name pattern, area): the first match names a test's area.
AREAS: tuple[tuple[str, str, str], ...] = (
    ("test_fakekube_schema.py", r"cel|rule|transition|old_?self|message_expression", "CRD: CEL rules"),
    ("test_fakekube_schema.py", r"prun|unknown|strict|preserve|embedded", "CRD: pruning and strict decoding"),
    ("test_fakekube_schema.py", r"default", "CRD: defaulting"),
    ("test_fakekube_schema.py", r"ratchet", "CRD: ratcheting"),
    ("test_fakekube_schema.py", r".", "CRD: structural validation"),
    ("test_fakekube_builtins.py", r"default", "built-in kinds: defaults"),
    ("test_fakekube_builtins.py", r".", "built-in kinds: validation"),
    ("test_fakekube_validation.py", r".", "validation through the API"),
    ("test_fakekube_deletion.py", r".", "deletion: finalizers, Terminating, grace, GC"),
    ("test_fakekube_patch.py", r"update|no_op|manager|create_records", "field ownership (Update managers)"),
    ("test_fakekube_patch.py", r"server_side_apply|apply", "server-side apply"),
    ("test_fakekube_patch.py", r".", "merge / JSON / strategic merge patch"),
    ("test_fakekube_watch.py", r".", "watch"),
    ("test_fakekube_tokens.py", r".", "authentication"),
    ("test_fakekube_api.py", r".", "REST verbs, lists, discovery, CRDs"),
    ("test_fakekube_cluster.py", r".", "Python API and controllers"),
    ("test_fakekube_kubectl.py", r".", "real kubectl against the standalone server"),
    ("test_fakekube_standalone.py", r".", "standalone --simulate with meshctl"),
)


def area_of(nodeid: str) -> str:
    path, _, name = nodeid.partition("::")
    for file, pattern, area in AREAS:
        if path.endswith(file) and re.search(pattern, name):
            return area
    return "other"


class Tally:
    def __init__(self) -> None:
        self.results: dict[str, dict[str, str]] = defaultdict(dict)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.results[area_of(report.nodeid)][report.nodeid] = report.outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="list each behaviour under its area")
    args = parser.parse_args()
    files = sorted({str(p) for p in (REPO / "tests").glob("test_fakekube_*.py")})
    tally = Tally()
    started = time.perf_counter()
    code = pytest.main(["-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=", *files], plugins=[tally])
    took = time.perf_counter() - started
    print()
    print(f"{'area':52} {'checked':>8} {'hold':>6} {'skipped':>8}")
    total = held = 0
    order = [a for _, _, a in AREAS] + ["other"]
    for area in dict.fromkeys(order):
        outcomes = tally.results.get(area)
        if not outcomes:
            continue
        passed = sum(1 for o in outcomes.values() if o == "passed")
        skipped = sum(1 for o in outcomes.values() if o == "skipped")
        checked = len(outcomes) - skipped
        total += checked
        held += passed
        print(f"{area:52} {checked:8d} {passed:6d} {skipped:8d}")
        if args.list:
            for nodeid, outcome in sorted(outcomes.items()):
                print(f"    {outcome:8} {nodeid.partition('::')[2]}")
    print(f"{'all':52} {total:8d} {held:6d}   ({took:.1f} s)")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
