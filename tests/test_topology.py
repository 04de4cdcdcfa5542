"""`meshctl topology` on the demo snapshot: golden outputs, focus/depth/group-by, links between
clusters, the inference chain, source parity with fake API servers, SVG through Graphviz."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from meshctl.kube import kinds as K
from meshctl.kube.snapshot import load_snapshot
from meshctl.kube.state import Resource
from meshctl.mesh.topology import describe_topology
from tests.conftest import DEMO
from tests.fakekube import FakeKube, seed_from_snapshot, write_kubeconfig

SUMMARY = ("Draw the mesh as a graph: clusters, namespaces, workloads, services, waypoints, gateways and "
           "inference pools.")


def topology(cli, *args: str) -> str:
    r = cli("topology", "--snapshot", str(DEMO), *args)
    assert r.code == 0 and r.err == "", r.err
    return r.out


def demo_json(cli, *args: str) -> dict:
    return json.loads(topology(cli, "-o", "json", *args))


def ids(data: dict) -> set[str]:
    return {n["id"] for n in data["nodes"]}


def links(data: dict, relation: str | None = None) -> set[tuple[str, str]]:
    return {(e["source"], e["target"]) for e in data["links"] if relation in (None, e["relation"])}


# -- golden outputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("output, name", [
    ("tree", "topology-demo.txt"),
    ("dot", "topology-demo.dot"),
    ("mermaid", "topology-demo.mmd"),
    ("json", "topology-demo.json"),
])
def test_demo_topology_matches_the_golden_file(cli, golden, output, name):
    golden(name, topology(cli, "-o", output))


def test_tree_is_the_default_output(cli):
    assert topology(cli) == topology(cli, "-o", "tree")


def test_tree_grouped_by_namespace(cli, golden):
    golden("topology-demo-by-namespace.txt", topology(cli, "--group-by", "namespace"))


def test_focus_tree(cli, golden):
    golden("topology-demo-focus-reviews.txt", topology(cli, "--focus", "Service/bookinfo/reviews", "--depth", "2"))


def test_output_does_not_depend_on_the_order_objects_are_read_in():
    states = load_snapshot(str(DEMO)).select([])
    shuffled = [Edited(s, reverse=True) for s in reversed(states)]
    assert describe_topology(shuffled).to_dict() == describe_topology(states).to_dict()


# -- the model ------------------------------------------------------------------------------------------


def test_json_is_node_link_with_stable_ids(cli):
    data = demo_json(cli)
    assert (data["directed"], data["multigraph"]) == (True, False)
    assert data["graph"] == {"clusters": ["cluster1", "cluster2"], "scope": "mesh"}
    assert len(ids(data)) == len(data["nodes"])
    assert all(s in ids(data) and t in ids(data) for s, t in links(data))
    node = {n["id"]: n for n in data["nodes"]}
    reviews = node["cluster1/Service/bookinfo/reviews"]
    assert (reviews["type"], reviews["kind"], reviews["cluster"], reviews["namespace"], reviews["name"]) == \
        ("service", "Service", "cluster1", "bookinfo", "reviews")
    assert reviews["details"]["global"] is True
    assert {"cluster1", "cluster2", "Network/network1", "Network/network2", "cluster1/Namespace/bookinfo",
            "cluster1/Deployment/istio-system/istiod", "cluster2/DaemonSet/istio-system/ztunnel"} <= ids(data)
    assert links(data, "selects") >= {("cluster1/Service/bookinfo/reviews", "cluster1/Deployment/bookinfo/reviews-v1"),
                                      ("cluster2/Service/bookinfo/reviews", "cluster2/Deployment/bookinfo/reviews-v3")}
    assert ("cluster1/Service/bookinfo/reviews", "cluster2/Service/bookinfo/reviews") in links(data, "global")


def test_nodes_carry_their_health(cli):
    data = demo_json(cli)
    node = {n["id"]: n for n in data["nodes"]}
    curl = node["cluster1/Deployment/bookinfo/curl"]  # started while istio-cni restarted: not captured
    assert curl["status"] == "warning"
    assert curl["health"] == {"desired": 1, "pods": 1, "ready": 1, "enrolled": 1, "captured": 0}
    httpbin = node["cluster1/Deployment/legacy/httpbin"]
    assert httpbin["health"]["sidecars"] == 2 and httpbin["status"] == "warning"
    assert node["cluster1/Namespace/legacy"]["details"]["mode"] == "conflict"
    assert node["cluster1/Namespace/bookinfo"]["health"] == {"pods": 8, "ready": 8, "enrolled": 7, "captured": 6}
    gateway = node["cluster1/Gateway/bookinfo/bookinfo-gateway"]  # its Deployment and Service fold into it
    assert gateway["status"] == "ok" and gateway["details"]["role"] == "ingress"
    assert {"type": "Programmed", "status": "True", "reason": "Programmed"} in gateway["health"]["conditions"]
    assert gateway["health"]["ready"] == gateway["health"]["desired"] == 1
    assert "cluster1/Deployment/bookinfo/bookinfo-gateway-istio" not in node
    assert "cluster1/Service/bookinfo/bookinfo-gateway-istio" not in node
    istiod = node["cluster1/Deployment/istio-system/istiod"]
    assert istiod["type"] == "control-plane" and istiod["details"]["version"] == "1.30.3"
    assert ("cluster1", "cluster1/Deployment/istio-system/istiod") in links(data, "runs")


def test_a_waypoint_that_does_not_exist_is_a_missing_node(cli):
    data = demo_json(cli)
    node = {n["id"]: n for n in data["nodes"]}
    missing = "cluster1/Gateway/payments/missing-waypoint"
    assert node[missing]["status"] == "missing" and node[missing]["type"] == "waypoint"
    assert ("cluster1/Namespace/payments", missing) in links(data, "use-waypoint")
    assert node["cluster1/Namespace/payments"]["status"] == "error"
    assert ("cluster1/Namespace/bookinfo", "cluster1/Gateway/bookinfo/waypoint") in links(data, "use-waypoint")


# -- links between clusters -----------------------------------------------------------------------------


def test_the_remote_secret_only_in_cluster1_is_a_one_way_link(cli):
    data = demo_json(cli)
    secrets = [e for e in data["links"] if e["relation"] == "remote-secret"]
    assert secrets == [{"source": "cluster1", "target": "cluster2", "relation": "remote-secret",
                        "secret": "istio-remote-secret-cluster2", "twoWay": False}]
    # cluster1 reaches cluster2's network through cluster2's east-west gateway; not the other way
    assert links(data, "east-west") == {("cluster1", "cluster2/Gateway/istio-system/istio-eastwestgateway")}
    tree = topology(cli)
    assert ("\u2192 reads cluster cluster2 (remote secret istio-remote-secret-cluster2; "
            "one-way: cluster2 has no remote secret for") in tree
    assert "\u2190 read by cluster cluster1 (one-way: cluster2 has no remote secret for cluster1)" in tree
    dot = topology(cli, "-o", "dot")
    edge = [line for line in dot.splitlines() if line.startswith('  "cluster1" -> "cluster2"')]
    assert len(edge) == 1 and 'label="remote secret (one-way)"' in edge[0] and "dir=both" not in edge[0]
    assert '"cluster2" -> "cluster1"' not in dot
    mermaid = topology(cli, "-o", "mermaid")
    assert re.search(r'^  n\d+ ==>\|"remote secret \(one-way\)"\| n\d+$', mermaid, re.M)
    assert "linkStyle" in mermaid


def test_remote_secrets_both_ways_make_a_two_way_link():
    c1, c2 = load_snapshot(str(DEMO)).select([])
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "istio-remote-secret-cluster1", "namespace": "istio-system", "labels": {"istio/multiCluster": "true"},
        "annotations": {"networking.istio.io/cluster": "cluster1"}}}
    topo = describe_topology([c1, Edited(c2, extra=[Resource(secret, K.SECRET)])])
    secrets = {(e.source, e.target): e.data for e in topo.edges if e.relation == "remote-secret"}
    assert secrets == {("cluster1", "cluster2"): {"secret": "istio-remote-secret-cluster2", "twoWay": True},
                       ("cluster2", "cluster1"): {"secret": "istio-remote-secret-cluster1", "twoWay": True}}
    from meshctl.render.topology import render_topology

    dot = render_topology(topo, "dot")
    drawn = [line for line in dot.splitlines() if "remote secret" in line and "->" in line]
    assert len(drawn) == 1 and "dir=both" in drawn[0]
    assert '<-->|"remote secrets (two-way)"|' in render_topology(topo, "mermaid")
    assert "one-way" not in render_topology(topo, "tree")


def test_a_peer_that_was_not_read_is_shown_as_unknown(cli):
    data = demo_json(cli, "--context", "cluster1")
    node = {n["id"]: n for n in data["nodes"]}
    assert node["cluster2"]["status"] == "unknown" and node["cluster2"]["details"] == {"read": False}
    assert [e["twoWay"] for e in data["links"] if e["relation"] == "remote-secret"] == [None]
    assert "cluster2 not read" in topology(cli, "--context", "cluster1")


# -- inference --------------------------------------------------------------------------------------------


def test_the_inference_chain_in_llm(cli):
    data = demo_json(cli, "-n", "llm")
    node = {n["id"]: n for n in data["nodes"]}
    gateway, route = "cluster1/Gateway/llm/inference-gateway", "cluster1/HTTPRoute/llm/llm-route"
    pool, epp_service = "cluster1/InferencePool/llm/vllm-llama3-8b", "cluster1/Service/llm/vllm-llama3-8b-epp"
    epp, model = "cluster1/Deployment/llm/vllm-llama3-8b-epp", "cluster1/Deployment/llm/vllm-llama3-8b"
    assert (gateway, route) in links(data, "routes")
    assert (route, pool) in links(data, "backend")
    assert (pool, epp_service) in links(data, "endpoint-picker")
    assert (pool, model) in links(data, "selects") and (epp_service, epp) in links(data, "selects")
    assert node[pool]["status"] == "ok" and node[pool]["details"]["targetPorts"] == [8000]
    assert node[epp]["type"] == "endpoint-picker"
    assert node[model]["type"] == "model-server" and node[model]["health"]["ready"] == 3
    # the canary names the old group: its backend is missing and the route carries Istio's verdict
    canary = node["cluster1/HTTPRoute/llm/llm-route-canary"]
    old = "cluster1/InferencePool.inference.networking.x-k8s.io/llm/vllm-llama3-8b"
    assert ("cluster1/HTTPRoute/llm/llm-route-canary", old) in links(data, "backend")
    assert node[old]["status"] == "missing" and node[old]["type"] == "inference-pool"
    assert canary["status"] == "error"
    assert {"type": "ResolvedRefs", "status": "False", "reason": "InvalidKind"} in canary["health"]["conditions"]


def test_focus_on_the_inference_gateway_follows_the_chain(cli):
    near = ids(demo_json(cli, "--focus", "Gateway/llm/inference-gateway"))
    assert near == {"cluster1/Gateway/llm/inference-gateway", "cluster1/HTTPRoute/llm/llm-route",
                    "cluster1/HTTPRoute/llm/llm-route-canary"}
    far = ids(demo_json(cli, "--focus", "gtw/llm/inference-gateway", "--depth", "3"))
    assert {"cluster1/Service/llm/vllm-llama3-8b-epp", "cluster1/Deployment/llm/vllm-llama3-8b"} <= far


# -- scope, focus, depth, grouping ------------------------------------------------------------------------


def namespaces(data: dict) -> set[tuple[str, str]]:
    return {(n["cluster"], n["namespace"]) for n in data["nodes"] if n["namespace"]}


def test_default_scope_is_the_mesh_and_A_is_everything(cli):
    mesh = namespaces(demo_json(cli))
    assert {ns for _, ns in mesh} == {"bookinfo", "istio-system", "legacy", "llm", "payments"}
    everything = namespaces(demo_json(cli, "-A"))
    assert {("cluster1", "kube-system"), ("cluster2", "default"), ("cluster1", "local-path-storage")} <= everything
    assert demo_json(cli, "-A")["graph"]["scope"] == "all"


def test_one_namespace_keeps_the_clusters_and_what_it_refers_to(cli):
    data = demo_json(cli, "-n", "bookinfo")
    outside = {n["id"] for n in data["nodes"] if n["namespace"] not in ("", "bookinfo")}
    # the control plane is the cluster's; the east-west gateway carries cluster1's link to cluster2
    assert outside == {f"{c}/{w}" for c in ("cluster1", "cluster2") for w in (
        "Deployment/istio-system/istiod", "DaemonSet/istio-system/istio-cni-node", "DaemonSet/istio-system/ztunnel")} \
        | {"cluster2/Gateway/istio-system/istio-eastwestgateway"}
    assert {"cluster1", "cluster2", "cluster1/Deployment/istio-system/istiod"} <= ids(data)
    assert data["graph"]["scope"] == "namespace bookinfo"


def test_focus_and_depth(cli):
    one = ids(demo_json(cli, "--focus", "Service/bookinfo/reviews"))
    assert one == {"cluster1/Service/bookinfo/reviews", "cluster2/Service/bookinfo/reviews",
                   "cluster1/HTTPRoute/bookinfo/reviews", "cluster1/Deployment/bookinfo/reviews-v1",
                   "cluster1/Deployment/bookinfo/reviews-v2", "cluster2/Deployment/bookinfo/reviews-v3"}
    two = ids(demo_json(cli, "--focus", "svc/bookinfo/reviews", "--depth", "2"))
    assert one < two and {"cluster1/Service/bookinfo/reviews-v1", "cluster1/Service/bookinfo/reviews-v2"} <= two
    assert ids(demo_json(cli, "--focus", "Service/bookinfo/reviews", "--depth", "0")) == {
        "cluster1/Service/bookinfo/reviews", "cluster2/Service/bookinfo/reviews"}
    only = ids(demo_json(cli, "--focus", "cluster2/Service/bookinfo/reviews"))
    assert only == {"cluster2/Service/bookinfo/reviews", "cluster2/Deployment/bookinfo/reviews-v3",
                    "cluster1/Service/bookinfo/reviews"}
    data = demo_json(cli, "--focus", "Cluster/cluster2")
    assert {"cluster1", "Network/network2", "cluster2/Deployment/istio-system/istiod"} <= ids(data)
    assert data["graph"] == {"clusters": ["cluster1", "cluster2"], "scope": "all",
                             "focus": "Cluster/cluster2", "depth": 1}
    assert "cluster1/Gateway/bookinfo/waypoint" in ids(demo_json(cli, "--focus", "Namespace/bookinfo"))


def test_focus_and_option_errors(cli):
    r = cli("topology", "--snapshot", str(DEMO), "--focus", "Service/bookinfo/nope")
    assert r.code == 1 and "no such object" in r.err and "Hint:" in r.err
    r = cli("topology", "--snapshot", str(DEMO), "--focus", "Frobnicator/x/y")
    assert r.code == 2 and "unknown resource kind" in r.err
    r = cli("topology", "--snapshot", str(DEMO), "--focus", "reviews")
    assert r.code == 2 and "KIND/NAMESPACE/NAME" in r.err
    for args, words in ((["--depth", "2"], "--depth needs --focus"), (["-n", "llm", "-A"], "-n and -A"),
                        (["-o", "png"], "--output 'png'"), (["--group-by", "node"], "--group-by 'node'"),
                        (["--focus", "Service/bookinfo/reviews", "--depth", "-1"], "negative")):
        r = cli("topology", "--snapshot", str(DEMO), *args)
        assert r.code == 2 and words in r.err, (args, r.err)
    r = cli("topology", "--snapshot", str(DEMO), "-n", "nowhere")
    assert r.code == 1 and "namespace nowhere not found" in r.err


def test_group_by_namespace_boxes_each_namespace_across_clusters(cli):
    dot = topology(cli, "-o", "dot", "--group-by", "namespace")
    bookinfo = dot[dot.index('label="namespace bookinfo"'):]
    bookinfo = bookinfo[:bookinfo.index('label="namespace istio-system"')]
    assert 'label="cluster cluster1"' in bookinfo and 'label="cluster cluster2"' in bookinfo
    assert '"cluster2/Deployment/bookinfo/reviews-v3"' in bookinfo
    by_cluster = topology(cli, "-o", "mermaid")
    by_namespace = topology(cli, "-o", "mermaid", "--group-by", "namespace")
    assert by_cluster != by_namespace
    assert sorted(by_cluster.splitlines()[-20:]) == sorted(by_namespace.splitlines()[-20:])  # same edges


def test_analyze_puts_findings_on_the_objects(cli):
    data = demo_json(cli, "--analyze")
    node = {n["id"]: n for n in data["nodes"]}
    ledger = node["cluster1/Service/payments/ledger"]["findings"]
    assert [f["code"] for f in ledger] == ["IST0118"]
    # objects the graph does not draw (DestinationRules, VirtualServices) report on their namespace
    codes = {f["code"] for f in node["cluster1/Namespace/bookinfo"]["findings"]}
    assert {"IST0101", "IST0173"} <= codes and node["cluster1/Namespace/bookinfo"]["status"] == "error"
    assert "findings" not in node["cluster2/Service/bookinfo/reviews"]
    assert "IST0118 Service payments/ledger" in topology(cli, "--analyze")


# -- other sources ------------------------------------------------------------------------------------------


def test_same_graph_from_two_fake_api_servers_and_the_snapshot(cli, tmp_path):
    with FakeKube(name="c1") as one, FakeKube(name="c2") as two:
        seed_from_snapshot(one, DEMO / "cluster1")
        seed_from_snapshot(two, DEMO / "cluster2")
        kc = write_kubeconfig(tmp_path / "kc.yaml", [one, two], contexts=["kind-cluster1", "kind-cluster2"])
        live = cli("topology", "--kubeconfig", str(kc), "--context", "kind-cluster1", "--context", "kind-cluster2",
                   "-o", "json")
        live_tree = cli("topology", "--kubeconfig", str(kc), "--context", "kind-cluster1", "--context",
                        "kind-cluster2")
    assert live.code == live_tree.code == 0, live.err
    assert json.loads(live.out) == demo_json(cli)
    assert live_tree.out == topology(cli)


def test_manifests_draw_the_structure_with_unknown_health(cli, tmp_path):
    (tmp_path / "app.yaml").write_text("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{name: ingress}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
""")
    r = cli("topology", "-f", str(tmp_path), "-o", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    node = {n["id"]: n for n in data["nodes"]}
    assert node["files/Deployment/shop/web"]["status"] == "unknown"
    assert ("files/Service/shop/web", "files/Deployment/shop/web") in links(data, "selects")
    assert ("files/HTTPRoute/shop/web", "files/Service/shop/web") in links(data, "backend")
    assert node["files/Gateway/shop/ingress"]["status"] == "missing"


# -- SVG ------------------------------------------------------------------------------------------------------


def test_svg_through_graphviz(cli):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz not installed (apt-get install graphviz)")
    svg = topology(cli, "-o", "svg")
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert svg.count('class="node"') == len(demo_json(cli)["nodes"])


def test_svg_without_graphviz_names_the_package(cli, monkeypatch):
    import meshctl.render.topology_graph as writer

    monkeypatch.setattr(writer.shutil, "which", lambda name, *a, **k: None)
    r = cli("topology", "--snapshot", str(DEMO), "-o", "svg")
    assert r.code == 1 and r.out == ""
    assert "Graphviz" in r.err and "apt-get install graphviz" in r.err


def test_help_names_the_command_summary():
    import typer

    import meshctl.cli.topology as command

    assert typer.main.get_command(command.app).get_short_help_str(limit=500) == SUMMARY


# -- helpers ---------------------------------------------------------------------------------------------------


class Edited:
    """A ClusterState over another one: objects listed in reverse, or extra objects added."""

    def __init__(self, base, extra=(), reverse: bool = False) -> None:
        self.base, self.extra, self.reverse = base, list(extra), reverse
        self.info = base.info

    def serves(self, kind) -> bool:
        return self.base.serves(kind)

    def list(self, kind, namespace=None, *, labels=None):
        items = self.base.list(kind, namespace, labels=labels)
        items += [r for r in self.extra if r.kind is kind and namespace in (None, r.namespace)
                  and all(r.labels.get(k) == v for k, v in (labels or {}).items())]
        return items[::-1] if self.reverse else items

    def get(self, kind, name, namespace=None):
        return self.base.get(kind, name, namespace)
