"""Analysis benchmark (prints figures and ratios; not a timed test).

Generates N resources of mixed kinds (Namespaces, Deployments, Services, VirtualServices,
DestinationRules, Gateways, HTTPRoutes, AuthorizationPolicies; about 5% with broken references), then
times `meshctl analyze --use-kube=false -A -o json` against a plain parse of the same files with
PyYAML's C loader, and reports peak memory. Budgets (issue 3): at N=10,000 analysis <= 1.5x the parse;
N=10,000 <= 2.2x N=5,000; peak RSS at N=10,000 <= 400 MB. With --live it also counts the requests
`analyze -A` makes against the fake API server (one paginated LIST per kind read, plus discovery).

    python bench/analyze.py [--sizes 5000 10000] [--live]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS_PER_APP = 8  # objects generated per application (see app_objects)


def app_objects(i: int, rng: random.Random) -> list[dict]:
    """One application: a namespace's worth of objects, some with broken references."""
    ns = f"team-{i // 10}"
    name = f"app-{i}"
    labels = {"app": name, "version": "v1"}
    broken = rng.random() < 0.05
    gateway = f"{ns}/gw-{i}" if not broken else f"{ns}/missing-{i}"
    objects = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, "labels": labels},
         "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [{"name": "app", "image": f"example/{name}:1.0",
                                                        "ports": [{"containerPort": 8080}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
         "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": f"gw-{i}", "namespace": ns},
         "spec": {"selector": {"istio": "ingressgateway"},
                  "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"},
                               "hosts": [f"{name}.example.com"]}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name, "namespace": ns},
         "spec": {"hosts": [f"{name}.example.com"], "gateways": [gateway],
                  "http": [{"match": [{"uri": {"prefix": "/v1"}}],
                            "route": [{"destination": {"host": name if not broken else f"{name}-gone",
                                                       "subset": "v1"}}]},
                           {"route": [{"destination": {"host": name, "subset": "v1"}}]}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": name, "namespace": ns},
         "spec": {"host": name, "subsets": [{"name": "v1", "labels": {"version": "v1" if not broken else "v9"}}]}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": name, "namespace": ns},
         "spec": {"parentRefs": [{"name": f"gw-{i}"}], "hostnames": [f"{name}.example.org"],
                  "rules": [{"backendRefs": [{"name": name, "port": 80}]}]}},
        {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
         "metadata": {"name": name, "namespace": ns},
         "spec": {"selector": {"matchLabels": {"app": name if not broken else f"{name}-x"}},
                  "action": "ALLOW", "rules": [{"from": [{"source": {"namespaces": [ns]}}]}]}},
    ]
    if i % 10 == 0:
        objects.insert(0, {"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": ns, "labels": {"istio.io/dataplane-mode": "ambient"}}})
    return objects


def generate(n: int, directory: Path) -> list[Path]:
    import yaml

    class PlainDumper(yaml.CSafeDumper):  # manifests as people write them: no anchors and aliases
        def ignore_aliases(self, data):
            return True

    rng = random.Random(n)
    docs: list[dict] = []
    i = 0
    while len(docs) < n:
        docs.extend(app_objects(i, rng))
        i += 1
    docs = docs[:n]
    files = []
    for start in range(0, n, 500):
        path = directory / f"part-{start // 500:04d}.yaml"
        path.write_text(yaml.dump_all(docs[start:start + 500], Dumper=PlainDumper, sort_keys=False))
        files.append(path)
    return files


def parse_seconds(files: list[Path]) -> float:
    import yaml

    start = time.perf_counter()
    for f in files:
        for _ in yaml.load_all(f.read_text(), Loader=yaml.CSafeLoader):
            pass
    return time.perf_counter() - start


def run_child(cmd: list[str]) -> tuple[float, float, int, bytes]:
    """Wall seconds, peak RSS (MB), exit code and stdout of a child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - start
        out.seek(0)
        data = out.read()
    return elapsed, usage.ru_maxrss / 1024, proc.returncode, data


def measure(n: int) -> dict:
    import json

    with tempfile.TemporaryDirectory() as tmp:
        files = generate(n, Path(tmp))
        parse = min(parse_seconds(files) for _ in range(2))
        cmd = [sys.executable, "-m", "meshctl", "analyze", "--use-kube=false", "-A", "-o", "json", tmp]
        runs = [run_child(cmd) for _ in range(2)]
        best = min(runs, key=lambda r: r[0])
        messages = json.loads(best[3] or b"[]")
    return {"n": n, "parse": parse, "analyze": best[0], "rss": max(r[1] for r in runs), "exit": best[2],
            "messages": len(messages)}


def live_requests(n: int) -> tuple[int, int, dict]:
    """Requests `analyze -A` makes against the fake API server holding n generated objects."""
    from meshctl.kube.kinds import REGISTRY
    from tests.fakekube import FakeKube, write_kubeconfig

    crds = {("networking.istio.io", "VirtualService"), ("networking.istio.io", "DestinationRule"),
            ("networking.istio.io", "Gateway"), ("security.istio.io", "AuthorizationPolicy"),
            ("gateway.networking.k8s.io", "HTTPRoute")}
    rng = random.Random(n)
    with FakeKube(name="bench") as kube, tempfile.TemporaryDirectory() as tmp:
        for group, kind in sorted(crds):
            plural = REGISTRY.get(group, kind).plural
            kube.add({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                      "metadata": {"name": f"{plural}.{group}"},
                      "spec": {"group": group, "scope": "Namespaced", "names": {"kind": kind, "plural": plural},
                               "versions": [{"name": "v1", "served": True, "storage": True}]}})
        objects: list[dict] = []
        i = 0
        while len(objects) < n:
            objects.extend(app_objects(i, rng))
            i += 1
        namespaces = sorted({o["metadata"].get("namespace") for o in objects if o["metadata"].get("namespace")})
        kube.add_all({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces)
        kube.add_all(o for o in objects[:n] if o["kind"] != "Namespace")
        kc = write_kubeconfig(Path(tmp) / "kc.yaml", [kube])
        kube.clear_requests()
        done = subprocess.run([sys.executable, "-m", "meshctl", "analyze", "-A", "-o", "json", "--kubeconfig",
                               str(kc)], capture_output=True, text=True, check=False)
        print(f"live analyze exit {done.returncode}: {done.stderr.strip()}")
        by_path: dict[str, int] = {}
        for r in kube.requests:
            by_path[r.path] = by_path.get(r.path, 0) + 1
        lists = sum(1 for r in kube.requests if "limit" in r.query)
        return len(kube.requests), lists, by_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000])
    parser.add_argument("--live", action="store_true", help="also count requests against the fake API server")
    args = parser.parse_args()
    results = [measure(n) for n in args.sizes]
    print(f"{'N':>7} {'parse s':>8} {'analyze s':>10} {'ratio':>6} {'peak MB':>8} {'messages':>9} {'exit':>5}")
    for r in results:
        print(f"{r['n']:>7} {r['parse']:>8.2f} {r['analyze']:>10.2f} {r['analyze'] / r['parse']:>6.2f} "
              f"{r['rss']:>8.0f} {r['messages']:>9} {r['exit']:>5}")
    if len(results) >= 2:
        a, b = results[-2], results[-1]
        print(f"scaling: N={b['n']} takes {b['analyze'] / a['analyze']:.2f}x N={a['n']} (budget 2.2x for 2x the input)")
    big = results[-1]
    print(f"budgets at N={big['n']}: analysis/parse {big['analyze'] / big['parse']:.2f}x (<= 1.5x), "
          f"peak RSS {big['rss']:.0f} MB (<= 400 MB)")
    if args.live:
        total, lists, by_path = live_requests(args.sizes[-1])
        print(f"live analyze -A over {args.sizes[-1]} objects: {total} requests, {lists} paginated LIST pages")
        for path, count in sorted(by_path.items()):
            print(f"  {count:>4}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
