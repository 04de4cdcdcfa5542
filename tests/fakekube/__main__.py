"""Run fake clusters from the command line (from the repository root)::

    python -m tests.fakekube --clusters 2 --kubeconfig kc.yaml [--seed-snapshot DIR] [--verbose]
    python -m tests.fakekube --simulate --nodes 3 --kubeconfig kc.yaml     # try meshctl by hand
    python -m tests.fakekube --kubeconfig kc.yaml --fault 'status=429,path=/pods$,times=3,retry-after=1'

Prints ``<name> <url>`` for each cluster, then serves until SIGINT or SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import re
import secrets
import signal
import sys
import threading
from typing import Any

from . import controllers as ctl
from .cluster import FakeKube, write_kubeconfig
from .snapshot import seed_from_snapshot, snapshot_clusters

# --fault keys -> Faults.add keyword (retry_after may be spelled either way)
FAULT_KEYS = {"status": "status", "times": "times", "method": "method", "path": "path", "retry-after": "retry_after",
              "retry_after": "retry_after", "delay": "delay", "drop": "drop", "message": "message",
              "cluster": "cluster"}
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
FOREVER = ("forever", "always", "inf")
FAULT_HELP = ("fail matching requests: comma-separated key=value pairs out of status=CODE, times=N|forever "
              "(default 1), method=VERB, path=REGEX (searched in the URL path), retry-after=SECONDS (429s; "
              "default 1), delay=SECONDS, drop (close the connection unanswered), message=TEXT, cluster=NAME "
              "(default: every cluster); a fault needs status, delay or drop. Repeatable; the first matching "
              "fault fires. E.g. 'status=429,path=/pods$,times=3,retry-after=1'")
# Split at commas that start a new setting (a word and "=", or "drop"), so a path regex may hold commas
# ("a{1,3}").
_FAULT_SPLIT = re.compile(r",(?=\s*(?:[A-Za-z][\w-]*\s*=|drop\s*(?:,|$)))")


def parse_fault(text: str) -> dict[str, Any]:
    """A --fault value as ``Faults.add`` keywords (plus ``cluster``); ArgumentTypeError when invalid."""
    fault: dict[str, Any] = {}
    for part in _FAULT_SPLIT.split(text.strip()):
        key, eq, value = part.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not key:
            raise argparse.ArgumentTypeError(f"empty fault setting in {text!r}")
        if key not in FAULT_KEYS:
            known = ", ".join(sorted(set(FAULT_KEYS) - {"retry_after"}))
            raise argparse.ArgumentTypeError(f"unknown fault setting {key!r} (known: {known})")
        name = FAULT_KEYS[key]
        if name in fault:
            raise argparse.ArgumentTypeError(f"fault setting {key!r} given twice")
        if not eq and name != "drop":
            raise argparse.ArgumentTypeError(f"fault setting {key!r} needs a value ({key}=...)")
        fault[name] = _fault_value(name, key, value if eq else "true")
    if not any(fault.get(k) for k in ("status", "delay", "drop")):
        raise argparse.ArgumentTypeError(f"a fault needs status=CODE, delay=SECONDS or drop: {text!r}")
    return fault


def _fault_value(name: str, key: str, value: str) -> Any:
    def number(kind: type, low: float, high: float | None = None) -> Any:
        try:
            n = kind(value)
        except ValueError:
            n = None
        if n is None or n != n or n < low or (high is not None and n > high):
            bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"{key}={value!r}: expected a {kind.__name__} {bound}")
        return n

    if name == "status":
        return number(int, 100, 599)
    if name == "times":
        return None if value.lower() in FOREVER else number(int, 1)
    if name == "retry_after":
        return number(int, 0)
    if name == "delay":
        return number(float, 0, 3600)
    if name == "method":
        if value.upper() not in HTTP_METHODS:
            raise argparse.ArgumentTypeError(f"method={value!r}: expected one of {', '.join(HTTP_METHODS)}")
        return value.upper()
    if name == "path":
        try:
            re.compile(value)
        except re.error as e:
            raise argparse.ArgumentTypeError(f"path={value!r} is not a regular expression: {e}") from None
        return value
    if name == "drop":
        if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise argparse.ArgumentTypeError(f"drop={value!r}: expected true or false")
        return value.lower() in ("true", "yes", "1")
    return value  # message, cluster


def describe_fault(fault: dict[str, Any]) -> str:
    parts = [f"{k.replace('_', '-')}={v}" for k, v in fault.items() if k not in ("cluster", "drop", "times")]
    parts.append(f"times={'forever' if fault.get('times', 1) is None else fault.get('times', 1)}")
    if fault.get("drop"):
        parts.append("drop")
    return ",".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakekube", description="Fake Kubernetes API servers for tests.")
    parser.add_argument("--clusters", type=int, default=None,
                        help="how many clusters to start (default: 1, or one per snapshot cluster)")
    parser.add_argument("--kubeconfig", required=True, help="where to write a kubeconfig with one context per cluster")
    parser.add_argument("--seed-snapshot", metavar="DIR", help="load a meshctl snapshot (directory or .tar.gz)")
    parser.add_argument("--no-controllers", action="store_true", help="do not simulate controllers")
    parser.add_argument("--simulate", action="store_true",
                        help="also simulate the kubelet, kube-controller-manager (ReplicaSets, DaemonSet pods, "
                             "EndpointSlices) and, once installed, istiod (webhook CA bundles, GatewayClasses, "
                             "gateway Deployments) and istio-cni (ambient redirection): a cluster to try "
                             "meshctl install/check/status on")
    parser.add_argument("--nodes", type=int, metavar="N", default=None,
                        help="add N Ready Linux nodes to each cluster (default: 1 with --simulate, else 0)")
    parser.add_argument("--fault", action="append", type=parse_fault, default=[], metavar="SPEC", help=FAULT_HELP)
    parser.add_argument("--require-token", action="store_true",
                        help="answer 401 to requests without the bearer token; kubectl never sends a token over "
                             "plain http, so only the Python client works then (by default only a wrong token "
                             "is refused)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (keep to 127.0.0.0/8; link the clusters with "
                             "'meshctl multicluster link --allow-loopback')")
    args = parser.parse_args(argv)
    if args.simulate and args.no_controllers:
        parser.error("--simulate and --no-controllers contradict each other")
    nodes = args.nodes if args.nodes is not None else (1 if args.simulate else 0)
    if nodes < 0 or nodes > 250:
        parser.error("--nodes must be from 0 to 250")

    try:
        cluster_dirs, tmp = snapshot_clusters(args.seed_snapshot) if args.seed_snapshot else ([], None)
    except (OSError, ValueError) as e:
        parser.error(str(e))
    count = args.clusters if args.clusters is not None else max(1, len(cluster_dirs))
    if count < 1:
        parser.error("--clusters must be at least 1")
    names = [f"cluster{i + 1}" for i in range(count)]
    for fault in args.fault:
        if fault.get("cluster") is not None and fault["cluster"] not in names:
            parser.error(f"argument --fault: cluster={fault['cluster']!r} is not one of {', '.join(names)}")

    # Handlers first: a signal that arrives while the servers start still means a clean exit.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    controllers: Any = False if args.no_controllers else (ctl.SIMULATE if args.simulate else True)
    kubes = [FakeKube(name, controllers=controllers, token=secrets.token_hex(16), anonymous=not args.require_token,
                      verbose=args.verbose, host=args.host) for name in names]
    try:
        for kube in kubes:
            version = kube.version.get("gitVersion", "v1.32.2")
            for node in ctl.simulated_nodes(kube.name, nodes, version):
                kube.add(node)
        for kube, cluster_dir in zip(kubes, cluster_dirs):
            report = seed_from_snapshot(kube, cluster_dir)
            for line in report.skipped:
                print(f"fakekube: {kube.name}: skipped {line}", file=sys.stderr)
        if tmp is not None:
            tmp.cleanup()
        for fault in args.fault:
            settings = {k: v for k, v in fault.items() if k != "cluster"}
            for kube in kubes:
                if fault.get("cluster") in (None, kube.name):
                    kube.faults.add(**settings)
                    print(f"fakekube: {kube.name}: fault {describe_fault(fault)}", file=sys.stderr)
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
