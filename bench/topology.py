"""Topology benchmark (prints figures and ratios; not a timed test).

Writes a synthetic two-cluster snapshot to a temporary directory: 50 ambient namespaces per cluster,
N Services split between the clusters, each with a Deployment of 4 ready, captured pods (and its
ReplicaSet), a waypoint in every fifth namespace, an ingress Gateway and HTTPRoute in every tenth,
the control plane, east-west gateways and remote secrets both ways. Then times
`meshctl topology --snapshot DIR -o dot` and `-o html` end to end (a fresh process, best of 2) and,
in process, the phases: reading the snapshot, building the graph, writing DOT, writing the page.
Budget (issue): N=5,000 <= 3 s for -o dot; N=5,000 <= 5.5x N=1,000 (checked for both formats).

    python bench/topology.py [--sizes 1000 5000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMESPACES = 50
PODS = 4
CLUSTERS = ("cluster1", "cluster2")
KINDS = ("namespaces", "pods", "services", "secrets", "deployments.apps", "daemonsets.apps", "statefulsets.apps",
         "replicasets.apps", "gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io")
# Runs the command whether or not the CLI has registered it yet.
CHILD = ("import sys; from meshctl.cli.app import COMMANDS, run; "
         "COMMANDS.setdefault('topology', ('meshctl.cli.topology', '')); sys.exit(run(sys.argv[1:]))")


def _meta(name: str, namespace: str = "", labels: dict | None = None, **extra) -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {}), **extra}
    if labels:
        meta["labels"] = labels
    return meta


def _ready() -> dict:
    return {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}


def _gateway(name: str, ns: str, gw_class: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": _meta(name, ns, labels),
            "spec": {"gatewayClassName": gw_class, "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]},
            "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"},
                                      {"type": "Programmed", "status": "True", "reason": "Programmed"}]}}


def _deployment(name: str, ns: str, labels: dict, replicas: int, objects: dict, extra_labels: dict | None = None,
                captured: bool = True) -> None:
    rs = f"{name}-7d4b9c8f6d"
    objects["deployments.apps"].append({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, ns, {**labels, **(extra_labels or {})}),
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "x"}]}}},
        "status": {"replicas": replicas, "readyReplicas": replicas}})
    objects["replicasets.apps"].append({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": _meta(rs, ns, labels, ownerReferences=[{"kind": "Deployment", "name": name, "controller": True}])})
    for p in range(replicas):
        annotations = {"ambient.istio.io/redirection": "enabled"} if captured else {}
        objects["pods"].append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": _meta(f"{rs}-{p:05d}", ns, {**labels, "pod-template-hash": "7d4b9c8f6d"},
                              annotations=annotations,
                              ownerReferences=[{"kind": "ReplicaSet", "name": rs, "controller": True}]),
            "status": _ready()})


def cluster_objects(cluster: str, index: int, services: int) -> dict[str, list[dict]]:
    objects: dict[str, list[dict]] = {k: [] for k in KINDS}
    network = f"network{index + 1}"
    objects["namespaces"].append({"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": _meta("istio-system", labels={"topology.istio.io/network": network})})
    _deployment("istiod", "istio-system", {"app": "istiod", "istio": "pilot"}, 1, objects, captured=False)
    for ds, labels in (("istio-cni-node", {"k8s-app": "istio-cni-node"}), ("ztunnel", {"app": "ztunnel"})):
        objects["daemonsets.apps"].append({
            "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": _meta(ds, "istio-system", labels),
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}}},
            "status": {"desiredNumberScheduled": 3, "numberReady": 3}})
    objects["gateways.gateway.networking.k8s.io"].append(
        _gateway("istio-eastwestgateway", "istio-system", "istio-east-west", {"topology.istio.io/network": network}))
    for peer in CLUSTERS:
        if peer != cluster:
            objects["secrets"].append({"apiVersion": "v1", "kind": "Secret", "metadata": _meta(
                f"istio-remote-secret-{peer}", "istio-system", {"istio/multiCluster": "true"},
                annotations={"networking.istio.io/cluster": peer})})
    for n in range(NAMESPACES):
        ns = f"team-{n:02d}"
        labels = {"istio.io/dataplane-mode": "ambient"}
        if n % 5 == 0:
            labels["istio.io/use-waypoint"] = "waypoint"
            objects["gateways.gateway.networking.k8s.io"].append(
                _gateway("waypoint", ns, "istio-waypoint", {"istio.io/waypoint-for": "service"}))
        if n % 10 == 0:
            objects["gateways.gateway.networking.k8s.io"].append(_gateway("ingress", ns, "istio"))
        objects["namespaces"].append({"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns, labels=labels)})
    for s in range(index, services, len(CLUSTERS)):
        ns, name = f"team-{s % NAMESPACES:02d}", f"svc-{s:05d}"
        labels = {"app": name, "version": "v1"}
        _deployment(name, ns, labels, PODS, objects)
        objects["services"].append({"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, ns, {"app": name}),
                                    "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80}]}})
        if s % NAMESPACES % 10 == 0 and s < NAMESPACES * 4:
            objects["httproutes.gateway.networking.k8s.io"].append({
                "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": _meta(name, ns),
                "spec": {"parentRefs": [{"name": "ingress"}], "rules": [{"backendRefs": [{"name": name, "port": 80}]}]},
                "status": {"parents": [{"conditions": [{"type": "Accepted", "status": "True"},
                                                       {"type": "ResolvedRefs", "status": "True"}]}]}})
    return objects


def write_snapshot(services: int, directory: Path) -> int:
    """The snapshot in ``directory``; returns how many objects it holds."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    total = 0
    (directory / "meta.yaml").write_text(yaml.dump({"format": "meshctl.dev/snapshot/v1", "meshctlVersion": "bench",
                                                    "created": "2026-11-20T09:00:00Z", "clusters": list(CLUSTERS)}))
    for i, cluster in enumerate(CLUSTERS):
        folder = directory / cluster
        folder.mkdir()
        objects = cluster_objects(cluster, i, services)
        for kind, items in objects.items():
            total += len(items)
            (folder / f"{kind}.yaml").write_text(
                yaml.dump({"apiVersion": "v1", "kind": "List", "items": items}, Dumper=dumper, sort_keys=False))
        (folder / "meta.yaml").write_text(yaml.dump({"cluster": cluster, "context": f"kind-{cluster}",
                                                     "serverVersion": "v1.32.2", "kinds": list(KINDS)}))
    return total


def phases(directory: Path) -> tuple[float, float, float, float, int, int, int]:
    """In-process seconds for (read, build, DOT, HTML), the node and edge counts and the page's size."""
    from meshctl.kube import kinds as K
    from meshctl.kube.snapshot import load_snapshot
    from meshctl.mesh.topology import describe_topology
    from meshctl.render.topology_graph import render_dot
    from meshctl.render.topology_html import render_html

    start = time.perf_counter()
    states = load_snapshot(str(directory)).select([])
    for state in states:  # read every kind up front, so "build" times the graph alone
        for kind in (K.NAMESPACE, K.POD, K.SERVICE, K.SECRET, K.DEPLOYMENT, K.DAEMON_SET, K.STATEFUL_SET,
                     K.GATEWAY, K.HTTP_ROUTE):
            state.list(kind)
    read = time.perf_counter() - start
    start = time.perf_counter()
    topo = describe_topology(states)
    build = time.perf_counter() - start
    start = time.perf_counter()
    render_dot(topo)
    dot = time.perf_counter() - start
    start = time.perf_counter()
    page = render_html(topo)
    html = time.perf_counter() - start
    return read, build, dot, html, len(topo.nodes), len(topo.edges), len(page.encode())


def end_to_end(directory: Path, output: str) -> float:
    cmd = [sys.executable, "-c", CHILD, "topology", "--snapshot", str(directory), "-o", output]
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"meshctl topology failed: {done.stderr.decode()[-500:]}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    args = parser.parse_args()
    results = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            objects = write_snapshot(n, Path(tmp))
            wall = {output: end_to_end(Path(tmp), output) for output in ("dot", "html")}
            read, build, dot, html, nodes, edges, size = phases(Path(tmp))
        results.append((n, wall))
        print(f"services={n:>6}  objects={objects:>7}  nodes={nodes:>6}  edges={edges:>6}  "
              f"topology -o dot: {wall['dot']:6.2f} s  -o html: {wall['html']:6.2f} s ({size / 1e6:.1f} MB)  "
              f"(in process: read {read:.2f} s, build {build:.2f} s, dot {dot:.2f} s, html {html:.2f} s)")
    if len(results) >= 2:
        (n1, t1), (n2, t2) = results[0], results[-1]
        for output in ("dot", "html"):
            ratio = t2[output] / t1[output]
            growth = "ok" if ratio <= 5.5 else "OVER BUDGET (5.5x)"
            line = f"-o {output:<4} ratio {n2}/{n1}: {ratio:.2f}x ({growth}); {n2} services: {t2[output]:.2f} s"
            if output == "dot":
                line += " (ok)" if t2[output] <= 3.0 else " (OVER BUDGET: 3 s)"
            print(line)


if __name__ == "__main__":
    main()
