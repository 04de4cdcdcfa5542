"""Run fake clusters from the command line (from the repository root)::

    python -m tests.fakekube --clusters 2 --kubeconfig kc.yaml [--seed-snapshot DIR] [--verbose]

Prints ``<name> <url>`` for each cluster, then serves until SIGINT or SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading

from .cluster import FakeKube, write_kubeconfig
from .snapshot import seed_from_snapshot, snapshot_clusters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakekube", description="Fake Kubernetes API servers for tests.")
    parser.add_argument("--clusters", type=int, default=None,
                        help="how many clusters to start (default: 1, or one per snapshot cluster)")
    parser.add_argument("--kubeconfig", required=True, help="where to write a kubeconfig with one context per cluster")
    parser.add_argument("--seed-snapshot", metavar="DIR", help="load a meshctl snapshot (directory or .tar.gz)")
    parser.add_argument("--no-controllers", action="store_true", help="do not simulate controllers")
    parser.add_argument("--require-token", action="store_true",
                        help="answer 401 to requests without the bearer token; kubectl never sends a token over "
                             "plain http, so only the Python client works then (by default only a wrong token "
                             "is refused)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (a non-loopback one lets linked clusters' checks pass)")
    args = parser.parse_args(argv)

    try:
        cluster_dirs, tmp = snapshot_clusters(args.seed_snapshot) if args.seed_snapshot else ([], None)
    except (OSError, ValueError) as e:
        parser.error(str(e))
    count = args.clusters if args.clusters is not None else max(1, len(cluster_dirs))
    if count < 1:
        parser.error("--clusters must be at least 1")

    # Handlers first: a signal that arrives while the servers start still means a clean exit.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    kubes = [FakeKube(f"cluster{i + 1}", controllers=not args.no_controllers, token=secrets.token_hex(16),
                      anonymous=not args.require_token, verbose=args.verbose, host=args.host) for i in range(count)]
    try:
        for kube, cluster_dir in zip(kubes, cluster_dirs):
            report = seed_from_snapshot(kube, cluster_dir)
            for line in report.skipped:
                print(f"fakekube: {kube.name}: skipped {line}", file=sys.stderr)
        if tmp is not None:
            tmp.cleanup()
        for kube in kubes:
            kube.start()
        write_kubeconfig(args.kubeconfig, kubes)
        for kube in kubes:
            print(f"{kube.name} {kube.url}", flush=True)  # callers may signal us as soon as they read this
        while not stop.wait(0.5):  # a timed wait lets the signal handlers run promptly
            pass
    finally:
        for kube in kubes:
            kube.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
