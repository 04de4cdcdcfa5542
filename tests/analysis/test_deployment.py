"""deployment.MultiServiceAnalyzer: IST0116 (one port, two protocols) and IST0137 (one target port, two ports)."""

from __future__ import annotations

import pytest

from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without, run_on_files

NAME = "deployment.MultiServiceAnalyzer"


def namespace(labels):
    return f"""
---
apiVersion: v1
kind: Namespace
metadata: {{name: apps, labels: {dict(labels)}}}
"""


def deployment(labels=None, template_labels=None, annotations=None, containers=None):
    tl = {"app": "web", **(template_labels or {})}
    containers = containers or [{"name": "web", "image": "web:1"}]
    return f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: apps, labels: {dict(labels or {})}}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {tl}, annotations: {dict(annotations or {})}}}
    spec: {{containers: {containers}}}
"""


def service(name, ports, selector=None, ns="apps"):
    selector = {"app": "web"} if selector is None else selector
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec: {{selector: {selector}, ports: {ports}}}
"""


INJECTED = namespace({"istio-injection": "enabled"})
CONFLICT = service("a", [{"port": 53, "name": "dns"}]) + service("b", [{"port": 53, "name": "dns", "protocol": "UDP"}])
IST0116 = [("IST0116", "Deployment apps/web")]
IST0137 = [("IST0137", "Deployment apps/web")]

CASES = [
    ("protocol conflict", INJECTED + deployment() + CONFLICT, IST0116),
    ("protocol conflict inside one Service", INJECTED + deployment() + service(
        "a", [{"port": 53, "name": "dns-tcp"}, {"port": 53, "name": "dns-udp", "protocol": "UDP"}]), IST0116),
    ("same port, same protocol", INJECTED + deployment() + service("a", [{"port": 80}]) + service("b", [{"port": 80}]),
     []),
    ("target port conflict", INJECTED + deployment() + service("a", [{"port": 80, "targetPort": 8080}])
     + service("b", [{"port": 8080}]), IST0137),
    ("named target port conflict", INJECTED + deployment() + service("a", [{"port": 80, "targetPort": "http"}])
     + service("b", [{"port": 8080, "targetPort": "http"}]), IST0137),
    ("same port to same target", INJECTED + deployment() + service("a", [{"port": 80, "targetPort": 8080}])
     + service("b", [{"port": 80, "targetPort": 8080}]), []),
    ("not in the mesh", namespace({}) + deployment() + CONFLICT, []),
    ("ambient workloads are not sidecar workloads", namespace({"istio.io/dataplane-mode": "ambient"}) + deployment()
     + CONFLICT, []),
    ("revision label injects", namespace({"istio.io/rev": "canary"}) + deployment() + CONFLICT, IST0116),
    ("revision label of an ambient namespace does not", namespace(
        {"istio.io/rev": "canary", "istio.io/dataplane-mode": "ambient"}) + deployment() + CONFLICT, []),
    ("template label injects", namespace({}) + deployment(template_labels={"sidecar.istio.io/inject": "true"})
     + CONFLICT, IST0116),
    ("template annotation injects", namespace({}) + deployment(annotations={"sidecar.istio.io/inject": "true"})
     + CONFLICT, IST0116),
    ("template opts out", INJECTED + deployment(template_labels={"sidecar.istio.io/inject": "false"}) + CONFLICT, []),
    ("proxy container in the template", namespace({}) + deployment(
        containers=[{"name": "web", "image": "web"}, {"name": "istio-proxy", "image": "proxyv2"}]) + CONFLICT, IST0116),
    ("waypoints are skipped", INJECTED + deployment(labels={"gateway.istio.io/managed": "istio.io-mesh-controller"})
     + CONFLICT, []),
    ("Services of another namespace do not count", INJECTED + deployment() + service("a", [{"port": 53}])
     + service("b", [{"port": 53, "protocol": "UDP"}], ns="elsewhere"), []),
    ("a Service without selector selects nothing", INJECTED + deployment() + service("a", [{"port": 53}])
     + service("b", [{"port": 53, "protocol": "UDP"}], selector={}), []),
    ("a Service selecting other pods", INJECTED + deployment() + service("a", [{"port": 53}])
     + service("b", [{"port": 53, "protocol": "UDP"}], selector={"app": "web", "tier": "db"}), []),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_multi_service(analyze, text, expected):
    assert analyze(text, NAME) == expected


def test_testdata_scenario(analyze):
    assert analyze("deployment/multi-service.yaml", NAME) == [
        ("IST0116", "Deployment shop/cart"),
        ("IST0137", "Deployment shop/orders"),
    ]


def test_messages(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(INJECTED + deployment() + CONFLICT + service("c", [{"port": 80, "targetPort": 8080},
                                                                      {"port": 81, "targetPort": 8080}]))
    assert sorted(m.text for m in run_on_files([str(path)], NAME)) == [
        "Deployment web is behind services apps/c that send targetPort 8080 to different ports: 80, 81.",
        "Deployment web is behind several services that use port 53 with different protocols: apps/a, apps/b",
    ]


def test_suppression_annotation(analyze):
    text = INJECTED + deployment().replace("labels: {}}", "labels: {}, annotations: "
                                           "{galley.istio.io/analyze-suppress: IST0116}}") + CONFLICT
    assert analyze(text, NAME) == []


def test_kinds_the_source_cannot_provide(tmp_path):
    text = INJECTED + deployment() + CONFLICT
    assert analyze_without(tmp_path, text, NAME, ()) == IST0116
    assert analyze_without(tmp_path, text, NAME, (K.SERVICE,)) == []
    # Without Namespaces the injection label is unknown: the workload is not taken to be in the mesh.
    assert analyze_without(tmp_path, text, NAME, (K.NAMESPACE,)) == []
