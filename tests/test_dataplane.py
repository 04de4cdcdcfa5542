"""Which data plane serves each Gateway (meshctl.mesh.gateways), as `status` and `topology` show it in every
format, read from manifests and from a fake API server; and the agentgateway switch `status` checks."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from meshctl.mesh.gateways import data_plane
from tests.fakekube import FakeKube

# (class, controller of its GatewayClass or None when none is visible) -> (role, what users read)
MAPPING = [
    ("istio", None, "ingress", "Envoy (ingress)"),
    ("istio-waypoint", None, "waypoint", "waypoint (Envoy)"),
    ("istio-east-west", None, "east-west", "east-west (Envoy)"),
    ("istio-agentgateway", None, "ingress", "agentgateway"),
    ("istio-agentgateway-waypoint", None, "waypoint", "agentgateway waypoint"),
    ("agentgateway", "agentgateway.dev/agentgateway", "gateway", "agentgateway (not Istio-managed)"),
    ("istio-remote", None, "remote", "unmanaged/remote"),
    ("mesh-edge", "istio.io/gateway-controller", "ingress", "Envoy (ingress)"),  # a custom class on istiod's
    ("ai-waypoint", "istio.io/agentgateway-waypoint-controller", "waypoint", "agentgateway waypoint"),
    ("nginx", "nginx.org/nginx-gateway-controller", "gateway", "nginx.org/nginx-gateway-controller"),
    ("ghost", None, "gateway", "unknown"),
]


@pytest.mark.parametrize("class_name, controller, role, label", MAPPING, ids=[m[0] for m in MAPPING])
def test_the_class_names_the_data_plane(class_name, controller, role, label):
    plane = data_plane(class_name, controller)
    assert (plane.role, plane.label) == (role, label)
    # istiod's own class names win over whatever controller a GatewayClass of that name claims
    if controller is None and class_name != "ghost":
        assert data_plane(class_name, "example.com/other") == plane


def test_only_istio_served_agentgateway_needs_the_istiod_switch():
    needing = {c for c, controller, _, _ in MAPPING if data_plane(c, controller).needs_agentgateway_switch}
    assert needing == {"istio-agentgateway", "istio-agentgateway-waypoint", "ai-waypoint"}


# -- one scenario, two sources ---------------------------------------------------------------------------

GATEWAY_API = "gateway.networking.k8s.io"


def gateway_crd(plural: str, kind: str, scope: str) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{GATEWAY_API}"},
            "spec": {"group": GATEWAY_API, "scope": scope, "names": {"plural": plural, "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True}]}}


def istiod(env: dict[str, str] | None = None, revision: str = "") -> dict:
    name = f"istiod-{revision}" if revision else "istiod"
    labels = {"app": "istiod", **({"istio.io/rev": revision} if revision else {})}
    container = {"name": "discovery", "image": "registry.istio.io/release/pilot:1.31.0",
                 "env": [{"name": k, "value": v} for k, v in (env or {}).items()]}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "istio-system", "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
            "status": {"replicas": 1, "readyReplicas": 1}}


def gateway(name: str, class_name: str, labels: dict | None = None) -> dict:
    return {"apiVersion": f"{GATEWAY_API}/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": "edge", "labels": labels or {}},
            "spec": {"gatewayClassName": class_name, "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}


def scenario(*control_plane: dict) -> list[dict]:
    """istiod (as given), a GatewayClass for each class with a controller in MAPPING, one Gateway per class."""
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in ("istio-system", "edge")]
    objects += control_plane
    objects += [{"apiVersion": f"{GATEWAY_API}/v1", "kind": "GatewayClass", "metadata": {"name": c},
                 "spec": {"controllerName": controller}} for c, controller, _, _ in MAPPING if controller]
    objects += [gateway(f"gw-{c}", c) for c, _, _, _ in MAPPING]
    return objects


EXPECTED = {f"gw-{c}": (role, label) for c, _, role, label in MAPPING}


@pytest.fixture(params=["files", "live"])
def source(request, tmp_path):
    """``source(objects)`` -> the meshctl options that read them: -f a file, or a fake API server."""
    with FakeKube(name="edge") as kube:
        def args(objects: list[dict]) -> list[str]:
            if request.param == "files":
                path = tmp_path / "scenario.yaml"
                path.write_text(yaml.safe_dump_all(objects))
                return ["-f", str(path)]
            kube.add_all([gateway_crd("gatewayclasses", "GatewayClass", "Cluster"),
                          gateway_crd("gateways", "Gateway", "Namespaced")])
            kube.add_all(objects)
            return ["--kubeconfig", str(kube.write_kubeconfig(tmp_path / "kc.yaml"))]

        yield args


def status_json(cli, args: list[str]) -> dict:
    r = cli("status", *args, "-o", "json")
    assert r.code == 0, r.err
    [cluster] = json.loads(r.out)
    return cluster


def test_status_names_the_data_plane_of_every_gateway(cli, source):
    data = status_json(cli, source(scenario(istiod({"PILOT_ENABLE_AGENTGATEWAY": "true"}))))
    assert {g["name"]: (g["role"], g["data_plane"]) for g in data["gateways"]} == EXPECTED
    by_name = {g["name"]: g for g in data["gateways"]}
    assert by_name["gw-istio-agentgateway"]["gateway_class"] == "istio-agentgateway"
    # istiod's revision for what it serves; nothing for what it does not
    assert {n for n, g in by_name.items() if g["revision"] == "default"} == {
        "gw-istio", "gw-istio-waypoint", "gw-istio-east-west", "gw-istio-agentgateway",
        "gw-istio-agentgateway-waypoint", "gw-mesh-edge", "gw-ai-waypoint"}
    assert all(g["revision"] == "" for n, g in by_name.items() if n in (
        "gw-agentgateway", "gw-istio-remote", "gw-nginx", "gw-ghost"))
    # not programmed yet: a problem for istiod's Gateways only, other controllers explain their own
    unprogrammed = {p["what"].split()[-3] for p in data["problems"] if "not programmed" in p["what"]}
    assert unprogrammed == {f"edge/gw-{c}" for c in ("istio", "istio-east-west", "istio-agentgateway", "mesh-edge")} \
        | {f"edge/gw-{c}" for c in ("istio-waypoint", "istio-agentgateway-waypoint", "ai-waypoint")}
    assert not any("PILOT_ENABLE_AGENTGATEWAY" in p["what"] for p in data["problems"])


def test_status_text_shows_the_data_plane_column(cli, source):
    r = cli("status", *source(scenario(istiod({"PILOT_ENABLE_AGENTGATEWAY": "true"}))))
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    first = lines.index(next(line for line in lines if line.startswith("  waypoints")))
    last = lines.index(next(line for line in lines if line.startswith("  remote clusters")))
    rows = [re.split(r"\s{2,}", line.strip())[-3:] for line in lines[first:last]]  # name, data plane, state
    assert [(name.removeprefix("edge/"), plane) for name, plane, _ in rows] == [
        (f"gw-{c}", EXPECTED[f"gw-{c}"][1]) for c in (
            "ai-waypoint", "istio-agentgateway-waypoint", "istio-waypoint",  # the waypoints row first, by name
            "agentgateway", "ghost", "istio", "istio-agentgateway", "istio-east-west", "istio-remote", "mesh-edge",
            "nginx")]
    assert {state for _, _, state in rows} == {"not programmed"}
    assert lines[first + 3].startswith("  gateways        edge/gw-agentgateway ")
    # one column: the data plane starts at the same place on every line
    assert len({line.rindex(plane) for line, (_, plane, _) in zip(lines[first:last], rows)}) == 1


def test_istiod_without_the_agentgateway_switch_is_a_problem(cli, source):
    data = status_json(cli, source(scenario(istiod())))
    [problem] = [p for p in data["problems"] if "PILOT_ENABLE_AGENTGATEWAY" in p["what"]]
    assert problem == {
        "severity": "error",
        "what": "istiod default runs without PILOT_ENABLE_AGENTGATEWAY=true, so nothing serves 3 agentgateway "
                "Gateway(s): edge/gw-ai-waypoint, edge/gw-istio-agentgateway, edge/gw-istio-agentgateway-waypoint",
        "hint": "turn agentgateway on: meshctl upgrade --set features.agentgateway=true"}
    assert data["problems"][0] == problem  # errors first


def test_the_switch_is_read_from_the_revision_that_serves_the_gateway(cli, source):
    objects = [istiod({"PILOT_ENABLE_AGENTGATEWAY": "1"}), istiod({"PILOT_ENABLE_AGENTGATEWAY": "false"}, "canary"),
               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge"}},
               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}},
               gateway("on-default", "istio-agentgateway"),
               gateway("on-canary", "istio-agentgateway", {"istio.io/rev": "canary"}),
               gateway("envoy-on-canary", "istio", {"istio.io/rev": "canary"})]
    data = status_json(cli, source(objects))
    switch = [p for p in data["problems"] if "PILOT_ENABLE_AGENTGATEWAY" in p["what"]]
    assert [(p["what"].split(": ")[-1], p["hint"]) for p in switch] == [
        ("edge/on-canary", "turn agentgateway on: meshctl upgrade --revision canary --set features.agentgateway=true")]


def test_no_istiod_means_no_switch_problem(cli, source):
    data = status_json(cli, source(scenario()))
    assert [p["what"] for p in data["problems"] if "istiod" in p["what"]] == ["no istiod found"]


# -- topology ------------------------------------------------------------------------------------------


def topology(cli, args: list[str], *more: str) -> str:
    r = cli("topology", *args, "-n", "edge", *more)
    assert r.code == 0, r.err
    return r.out


def test_topology_json_carries_the_data_plane_of_every_gateway(cli, source):
    args = source(scenario(istiod()))
    data = json.loads(topology(cli, args, "-o", "json"))
    gateways = {n["name"]: n for n in data["nodes"] if n["kind"] == "Gateway"}
    assert {name: (n["details"]["role"], n["details"]["dataPlane"]) for name, n in gateways.items()} == EXPECTED
    # waypoints of either data plane are drawn as waypoints
    assert {name for name, n in gateways.items() if n["type"] == "waypoint"} == {
        "gw-istio-waypoint", "gw-istio-agentgateway-waypoint", "gw-ai-waypoint"}


def test_every_topology_format_shows_the_data_plane(cli, source):
    args = source(scenario(istiod()))
    tree = topology(cli, args)
    assert "Gateway gw-istio-agentgateway  class istio-agentgateway · data plane agentgateway\n" in tree
    assert "Gateway gw-istio-agentgateway-waypoint  waypoint for service · data plane agentgateway waypoint" in tree
    assert "Gateway gw-nginx  class nginx · data plane nginx.org/nginx-gateway-controller" in tree
    dot = topology(cli, args, "-o", "dot")
    assert 'label="Gateway\\ngw-agentgateway\\nagentgateway (not Istio-managed)' in dot
    assert 'label="Gateway\\ngw-ghost\\nunknown' in dot
    mermaid = topology(cli, args, "-o", "mermaid")
    assert '"Gateway<br/>gw-istio-remote<br/>unmanaged/remote' in mermaid
    assert '"Gateway<br/>gw-istio-east-west<br/>east-west (Envoy)' in mermaid
    page = topology(cli, args, "-o", "html")
    assert '"dataPlane":"agentgateway waypoint"' in page and '"data plane agentgateway waypoint"' in page


def test_a_missing_gateway_has_no_data_plane(cli, tmp_path):
    path = tmp_path / "route.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": f"{GATEWAY_API}/v1", "kind": "HTTPRoute",
                                    "metadata": {"name": "r", "namespace": "edge"},
                                    "spec": {"parentRefs": [{"name": "nowhere"}]}}))
    data = json.loads(topology(cli, ["-f", str(path)], "-o", "json"))
    [missing] = [n for n in data["nodes"] if n["kind"] == "Gateway"]
    assert missing["status"] == "missing" and "dataPlane" not in missing["details"]
