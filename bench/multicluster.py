"""Multicluster link benchmark (prints figures; not a timed test).

Links N = 2, 4, 8 fake clusters (tests/fakekube, each seeded with an installed control plane) with
`meshctl multicluster link -y`, verification included, and prints per N the wall time and the API
requests of a first link and of a re-run (which should write nothing: its POSTs are the verification's
access reviews, sent with each remote secret's credentials), then the ratio N=8 / N=4.

The number of remote secrets grows as N*(N-1), so the work must run in parallel across clusters and
within each cluster for N=8 to take well under 4x N=4. Every request also waits --latency ms at the
fake server (default 10), as a remote API server would: waiting in parallel is what parallel work saves.
The fake servers run in this process, so their own CPU time is shared with meshctl's (the figures are
pessimistic for the CPU part).

    python bench/multicluster.py [--latency MS]
"""

from __future__ import annotations

import argparse
import collections
import io
import secrets
import sys
import tempfile
import time
from contextlib import ExitStack, redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_clusters(stack: ExitStack, n: int, ca, latency: float, host: str) -> list:
    from tests.fakekube import FakeKube
    from tests.multicluster.conftest import CLUSTERS, CONTEXTS, control_plane, seed

    kubes = []
    for i in range(n):
        kube = stack.enter_context(FakeKube(name=CONTEXTS[i], controllers=True, token=secrets.token_hex(16),
                                            host=host))
        seed(kube, control_plane(CLUSTERS[i], network=f"net-{CLUSTERS[i]}", ca=ca))
        if latency:
            kube.faults.add(delay=latency, times=None)
        kubes.append(kube)
    return kubes


REVIEWS = ("selfsubjectaccessreviews", "selfsubjectrulesreviews", "tokenreviews", "subjectaccessreviews")


def writes(kubes: list) -> int:
    """Requests that changed objects (the verification's access reviews are POSTs that change nothing)."""
    return sum(1 for kube in kubes for method, path, *_ in kube.requests
               if method in ("POST", "PUT", "PATCH", "DELETE") and not path.endswith(REVIEWS))


def link(kubes: list, kubeconfig: Path, *extra: str) -> tuple[float, int, collections.Counter, str]:
    from meshctl.cli.app import run

    for kube in kubes:
        kube.clear_requests()
    args = ["multicluster", "link", "-y", *extra, "--kubeconfig", str(kubeconfig)]
    for kube in kubes:
        args += ["--context", kube.name]
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with redirect_stdout(out), redirect_stderr(err):
        code = run(args)
    seconds = time.perf_counter() - start
    counts = collections.Counter(r[0] for kube in kubes for r in kube.requests)
    return seconds, code, counts, err.getvalue()


def describe(counts: collections.Counter) -> str:
    return f"{sum(counts.values())} requests (" + ", ".join(f"{m} {n}" for m, n in sorted(counts.items())) + ")"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=10.0, help="ms each fake API server waits per request")
    args = parser.parse_args()

    from tests.fakekube import write_kubeconfig
    from tests.multicluster.conftest import ROUTABLE, TestCA

    host = ROUTABLE or "127.0.0.1"
    ca = TestCA()
    link_seconds = {}
    print(f"fake API servers on {host}, {args.latency:g} ms latency per request")
    if ROUTABLE is None:
        print("(no routable address: the verification reports loopback remote secrets; timings still count)")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (2, 4, 8):
            with ExitStack() as stack:
                kubes = start_clusters(stack, n, ca, args.latency / 1000, host)
                kc = write_kubeconfig(Path(tmp) / f"kc-{n}.yaml", kubes, contexts=[k.name for k in kubes])
                if n == 2:
                    link(kubes, kc, "--dry-run")  # first imports (the kubernetes client) out of the timings
                first, code, counts, err = link(kubes, kc)
                if code not in (0, 1) or (code == 1 and ROUTABLE is not None):
                    raise SystemExit(f"link of {n} clusters failed ({code}): {err}")
                again, code, recounts, err = link(kubes, kc)
                if "nothing to change" not in err:
                    raise SystemExit(f"re-link of {n} clusters changed something: {err}")
                changed = writes(kubes)
                link_seconds[n] = first
                print(f"N={n}: {n * (n - 1):>2} remote secrets; link {first:.2f} s, {describe(counts)}; "
                      f"re-link {again:.2f} s, {describe(recounts)}, {changed} writes")
    ratio = link_seconds[8] / link_seconds[4]
    verdict = "ok" if ratio < 3 else "too slow: work is not parallel enough"
    print(f"link time N=8 / N=4: {ratio:.2f}x ({verdict}; serial work would be about 4x, as remote secrets grow as N^2)")


if __name__ == "__main__":
    main()
