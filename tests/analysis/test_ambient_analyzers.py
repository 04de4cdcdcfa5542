"""ambient.* analyzers (MSH0001-MSH0005), run as `meshctl analyze -f` runs them."""

from __future__ import annotations

import textwrap

import pytest

from meshctl.analysis.session import AnalyzeRequest, run_request
from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without, codes, run_on_demo

# An ambient namespace with a waypoint (istioctl's shape) and an app whose Deployment runs pods through
# a ReplicaSet, as a cluster would hold them.
BASE = """
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {istio.io/dataplane-mode: ambient}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: shop
  labels: {istio.io/waypoint-for: service}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{name: http, port: 80}]
"""


def deployment(labels: str = "{app: cart}", annotations: str = "{}", namespace: str = "shop") -> str:
    return f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: cart, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: cart}}}}
  template:
    metadata:
      labels: {labels}
      annotations: {annotations}
    spec:
      containers: [{{name: cart, image: example/cart:1}}]
"""


def replica_set_and_pod(labels: str, namespace: str = "shop") -> str:
    """The ReplicaSet the Deployment made and its pod, both owned as Kubernetes owns them."""
    return f"""
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: cart-5d4f
  namespace: {namespace}
  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: cart, controller: true}}]
spec:
  selector: {{matchLabels: {{app: cart}}}}
  template:
    metadata: {{labels: {labels}}}
    spec: {{containers: [{{name: cart, image: example/cart:1}}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: cart-5d4f-x1
  namespace: {namespace}
  labels: {labels}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: cart-5d4f, controller: true}}]
spec:
  containers: [{{name: cart, image: example/cart:1}}]
"""


def analyze(tmp_path, text: str, analyzer: str = "ambient"):
    path = tmp_path / "objects.yaml"
    path.write_text(textwrap.dedent(text))
    return run_request(AnalyzeRequest(paths=[str(path)], analyzers=[analyzer], use_kube=False)).messages


def label(text: str, kind_line: str, labels: str) -> str:
    """Put ``labels`` on the object whose metadata line is ``kind_line``."""
    assert kind_line in text
    return text.replace(kind_line, kind_line.rstrip("}") + f", labels: {labels}}}", 1)


def test_base_is_clean(tmp_path):
    text = BASE + deployment() + replica_set_and_pod("{app: cart}")
    assert analyze(tmp_path, text) == []


# -- MSH0001 -------------------------------------------------------------------------------------------


def test_msh0001_namespace_uses_a_waypoint_that_does_not_exist(tmp_path):
    text = BASE.replace("labels: {istio.io/dataplane-mode: ambient}",
                        "labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: missing}")
    [m] = analyze(tmp_path, text)
    assert (m.code, m.origin, m.level.label) == ("MSH0001", "Namespace shop", "Error")
    assert m.text.startswith("istio.io/use-waypoint names waypoint shop/missing, which does not exist; "
                             "traffic to this namespace goes through no waypoint")
    assert m.extra == {"field": "metadata.labels.istio.io/use-waypoint"}


def test_msh0001_service_and_workload_users_name_a_missing_waypoint(tmp_path):
    text = label(BASE, "metadata: {name: cart, namespace: shop}", "{istio.io/use-waypoint: gone}")
    text += deployment(labels="{app: cart, istio.io/use-waypoint: gone}")
    text += replica_set_and_pod("{app: cart, istio.io/use-waypoint: gone}")
    messages = analyze(tmp_path, text)
    # the pod and its ReplicaSet inherit the label from the Deployment: reported there, once
    assert codes(messages) == [("MSH0001", "Deployment shop/cart"), ("MSH0001", "Service shop/cart")]
    deployment_message = next(m for m in messages if m.kind == "Deployment")
    assert deployment_message.extra == {"field": "spec.template.metadata.labels.istio.io/use-waypoint"}
    assert "traffic to this workload" in deployment_message.text


def test_msh0001_a_pod_labelled_by_hand_is_reported_itself(tmp_path):
    text = BASE + deployment() + replica_set_and_pod("{app: cart}").replace(
        "  labels: {app: cart}\n  ownerReferences",
        "  labels: {app: cart, istio.io/use-waypoint: gone}\n  ownerReferences")
    assert codes(analyze(tmp_path, text)) == [("MSH0001", "Pod shop/cart-5d4f-x1")]


def test_msh0001_waypoint_namespace_label_is_followed(tmp_path):
    text = BASE + """
---
apiVersion: v1
kind: Namespace
metadata:
  name: web
  labels: {istio.io/use-waypoint: waypoint, istio.io/use-waypoint-namespace: edge}
"""
    [m] = analyze(tmp_path, text)
    assert (m.code, m.origin) == ("MSH0001", "Namespace web") and "names waypoint edge/waypoint," in m.text


def test_msh0001_gateway_of_a_class_that_is_not_a_waypoint(tmp_path):
    text = BASE.replace("gatewayClassName: istio-waypoint", "gatewayClassName: istio")
    text = text.replace("labels: {istio.io/dataplane-mode: ambient}",
                        "labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}")
    [m] = analyze(tmp_path, text, analyzer="ambient.UseWaypointAnalyzer")
    assert m.code == "MSH0001" and "a Gateway of class istio, which is not a waypoint class" in m.text


@pytest.mark.parametrize("value", ["waypoint", "none"])
def test_msh0001_not_reported_for_an_existing_waypoint_or_none(tmp_path, value):
    text = BASE.replace("labels: {istio.io/dataplane-mode: ambient}",
                        f"labels: {{istio.io/dataplane-mode: ambient, istio.io/use-waypoint: {value}}}")
    assert analyze(tmp_path, text) == []


def test_msh0001_not_reported_for_another_controllers_gateway_class(tmp_path):
    text = BASE.replace("gatewayClassName: istio-waypoint", "gatewayClassName: kgateway-waypoint")
    text = text.replace("labels: {istio.io/dataplane-mode: ambient}",
                        "labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}")
    assert analyze(tmp_path, text) == []


def test_msh0001_not_reported_when_gateways_are_not_captured(tmp_path):
    text = BASE.replace("labels: {istio.io/dataplane-mode: ambient}",
                        "labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: missing}")
    assert analyze_without(tmp_path, text, "ambient.UseWaypointAnalyzer", [K.GATEWAY]) == []


# -- MSH0002 -------------------------------------------------------------------------------------------


def test_msh0002_workload_uses_a_service_only_waypoint(tmp_path):
    text = BASE + deployment(labels="{app: cart, istio.io/use-waypoint: waypoint}")
    [m] = analyze(tmp_path, text)
    assert (m.code, m.origin, m.level.label) == ("MSH0002", "Deployment shop/cart", "Warning")
    assert m.text == ("Waypoint shop/waypoint has istio.io/waypoint-for=service, which does not take workload "
                      "traffic, so this workload's istio.io/use-waypoint label has no effect.")


def test_msh0002_service_uses_a_workload_only_waypoint(tmp_path):
    text = label(BASE.replace("istio.io/waypoint-for: service", "istio.io/waypoint-for: workload"),
                 "metadata: {name: cart, namespace: shop}", "{istio.io/use-waypoint: waypoint}")
    assert codes(analyze(tmp_path, text)) == [("MSH0002", "Service shop/cart")]


def test_msh0002_namespace_uses_a_waypoint_for_no_traffic(tmp_path):
    text = BASE.replace("istio.io/waypoint-for: service", "istio.io/waypoint-for: none").replace(
        "labels: {istio.io/dataplane-mode: ambient}",
        "labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}")
    [m] = analyze(tmp_path, text)
    assert m.code == "MSH0002" and "does not take service or workload traffic" in m.text


def test_msh0002_the_gateway_class_label_applies_when_the_gateway_has_none(tmp_path):
    text = BASE.replace("  labels: {istio.io/waypoint-for: service}\n", "") + """
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: istio-waypoint
  labels: {istio.io/waypoint-for: workload}
spec: {controllerName: istio.io/mesh-controller}
"""
    users = deployment(labels="{app: cart, istio.io/use-waypoint: waypoint}")
    assert analyze(tmp_path, text + users) == []  # the class makes it a workload waypoint
    assert codes(analyze(tmp_path, label(text, "metadata: {name: cart, namespace: shop}",
                                         "{istio.io/use-waypoint: waypoint}"))) == [("MSH0002", "Service shop/cart")]


def test_msh0002_not_reported_for_an_all_traffic_waypoint(tmp_path):
    text = label(BASE.replace("istio.io/waypoint-for: service", "istio.io/waypoint-for: all"),
                 "metadata: {name: cart, namespace: shop}", "{istio.io/use-waypoint: waypoint}")
    assert analyze(tmp_path, text + deployment(labels="{app: cart, istio.io/use-waypoint: waypoint}")) == []


# -- MSH0003 -------------------------------------------------------------------------------------------


OTHER_NAMESPACE_USER = """
---
apiVersion: v1
kind: Service
metadata:
  name: ledger
  namespace: payments
  labels: {istio.io/use-waypoint: waypoint, istio.io/use-waypoint-namespace: shop}
spec:
  ports: [{name: http, port: 80}]
"""


def test_msh0003_waypoint_admits_only_its_own_namespace_by_default(tmp_path):
    [m] = analyze(tmp_path, BASE + OTHER_NAMESPACE_USER)
    assert (m.code, m.origin, m.level.label) == ("MSH0003", "Service payments/ledger", "Error")
    assert "does not admit users from namespace payments (its HBONE listener's allowedRoutes" in m.text


@pytest.mark.parametrize("allowed, found", [
    ("{namespaces: {from: All}}", []),
    ("{namespaces: {from: Selector, selector: {matchLabels: {kubernetes.io/metadata.name: payments}}}}", []),
    ("{namespaces: {from: Selector, selector: {matchLabels: {team: money}}}}",
     [("MSH0003", "Service payments/ledger")]),
])
def test_msh0003_allowed_routes_of_the_hbone_listener(tmp_path, allowed, found):
    text = BASE.replace("{name: mesh, port: 15008, protocol: HBONE}",
                        f"{{name: mesh, port: 15008, protocol: HBONE, allowedRoutes: {allowed}}}")
    assert codes(analyze(tmp_path, text + OTHER_NAMESPACE_USER)) == found


def test_msh0003_selector_sees_the_namespace_labels(tmp_path):
    text = BASE.replace("{name: mesh, port: 15008, protocol: HBONE}",
                        "{name: mesh, port: 15008, protocol: HBONE, allowedRoutes: "
                        "{namespaces: {from: Selector, selector: {matchLabels: {team: money}}}}}")
    text += OTHER_NAMESPACE_USER + "---\napiVersion: v1\nkind: Namespace\n" \
        "metadata: {name: payments, labels: {team: money}}\n"
    assert analyze(tmp_path, text) == []


# -- MSH0004 -------------------------------------------------------------------------------------------


def test_msh0004_waypoint_without_the_hbone_listener(tmp_path):
    text = BASE.replace("{name: mesh, port: 15008, protocol: HBONE}", "{name: http, port: 80, protocol: HTTP}")
    [m] = analyze(tmp_path, text)
    assert (m.code, m.origin, m.level.label) == ("MSH0004", "Gateway shop/waypoint", "Error")
    assert m.extra == {"field": "spec.listeners"}


def test_msh0004_not_reported_for_ingress_gateways_or_an_inbound_binding(tmp_path):
    ingress = BASE.replace("{name: mesh, port: 15008, protocol: HBONE}", "{name: http, port: 80, protocol: HTTP}")
    assert analyze(tmp_path, ingress.replace("gatewayClassName: istio-waypoint", "gatewayClassName: istio")) == []
    bound = ingress.replace("  labels: {istio.io/waypoint-for: service}\n",
                            "  labels: {istio.io/waypoint-for: service}\n"
                            "  annotations: {ambient.istio.io/waypoint-inbound-binding: PROXY/80}\n")
    assert analyze(tmp_path, bound) == []


# -- MSH0005 -------------------------------------------------------------------------------------------


def test_msh0005_template_labelled_ambient_and_injected(tmp_path):
    labels = "{app: cart, istio.io/dataplane-mode: ambient, sidecar.istio.io/inject: 'true'}"
    text = BASE + deployment(labels=labels) + replica_set_and_pod(labels)
    [m] = analyze(tmp_path, text)
    assert (m.code, m.origin, m.level.label) == ("MSH0005", "Deployment shop/cart", "Warning")
    assert m.text.startswith("istio.io/dataplane-mode=ambient is set, but a sidecar comes too "
                             "(label sidecar.istio.io/inject=true);")
    assert m.text.endswith("so its pods stay out of ambient.")
    assert m.extra == {"field": "spec.template.metadata.labels.istio.io/dataplane-mode"}


def test_msh0005_injection_annotation_or_namespace_label(tmp_path):
    annotated = deployment(labels="{app: cart, istio.io/dataplane-mode: ambient}",
                           annotations="{sidecar.istio.io/inject: 'yes'}")
    assert codes(analyze(tmp_path, BASE + annotated)) == [("MSH0005", "Deployment shop/cart")]
    legacy = """
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: legacy, labels: {istio.io/dataplane-mode: ambient}}
spec: {containers: [{name: sh, image: busybox}]}
"""
    [m] = analyze(tmp_path, BASE + legacy)
    assert (m.code, m.origin) == ("MSH0005", "Pod legacy/debug")
    assert "(namespace legacy has istio-injection=enabled)" in m.text
    assert m.text.endswith("so this pod stays out of ambient.")


def test_msh0005_pod_that_runs_a_sidecar(tmp_path):
    pod = """
---
apiVersion: v1
kind: Pod
metadata: {name: old, namespace: shop, labels: {istio.io/dataplane-mode: ambient}}
spec:
  containers: [{name: app, image: example/app:1}, {name: istio-proxy, image: proxyv2}]
"""
    [m] = analyze(tmp_path, BASE + pod)
    assert (m.code, m.origin) == ("MSH0005", "Pod shop/old") and "(it has an istio-proxy container)" in m.text


@pytest.mark.parametrize("labels", [
    "{app: cart, istio.io/dataplane-mode: ambient, sidecar.istio.io/inject: 'false'}",
    "{app: cart, sidecar.istio.io/inject: 'true'}",
    "{app: cart, istio.io/dataplane-mode: none, sidecar.istio.io/inject: 'true'}",
])
def test_msh0005_not_reported_without_both(tmp_path, labels):
    assert analyze(tmp_path, BASE + deployment(labels=labels)) == []


# -- the demo snapshot ----------------------------------------------------------------------------------


def test_demo_snapshot_planted_ambient_problem():
    """README problem 7 (payments uses a waypoint that does not exist). Problem 5 (legacy: ambient and
    injection labels) is Istio's IST0123; problem 6 (a pod not captured) is runtime state for `status`."""
    found = sorted((m.cluster, m.code, m.origin) for m in run_on_demo(["ambient"]))
    assert found == [("cluster1", "MSH0001", "Namespace payments")]
