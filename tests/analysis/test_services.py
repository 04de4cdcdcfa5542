"""services.MultiClusterServiceAnalyzer: IST0170 when a Service merged across clusters differs between them."""

import pytest

from tests.analysis.conftest import cluster_codes, namespace, run_on_demo, run_two_clusters

ANALYZER = "services.MultiClusterServiceAnalyzer"
GLOBAL_BY_SCOPE = {"serviceScopeConfigs": [{"scope": "GLOBAL", "servicesSelector": {
    "matchExpressions": [{"key": "istio.io/global", "operator": "In", "values": ["true"]}]}}]}
GLOBAL_BY_NAMESPACE = {"serviceScopeConfigs": [{"scope": "GLOBAL", "namespaceSelector": {
    "matchLabels": {"shared": "yes"}}}]}


def service(ports, *, ns="shop", name="cart", labels=None, type_="ClusterIP", cluster_ip="10.0.0.1"):
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}, labels: {labels or {}}}}
spec: {{type: {type_}, clusterIP: "{cluster_ip}", selector: {{app: {name}}}, ports: {ports}}}
"""


HTTP = [{"name": "http", "port": 9080, "targetPort": 9080, "protocol": "TCP"}]
HTTP_8080 = [{"name": "http", "port": 8080, "targetPort": 9080, "protocol": "TCP"}]
AMBIENT = {"istio.io/dataplane-mode": "ambient"}
GLOBAL = {"istio.io/global": "true"}


def two_clusters(tmp_path, first, second, mesh=None):
    """(cluster, code, origin) of the analyzer's messages over two clusters sharing one mesh config."""
    return cluster_codes(run_two_clusters(tmp_path, first, second, ANALYZER, mesh_configs=[(mesh or {}, {})] * 2))


CART = ("cluster1", "IST0170", "Service shop/cart")


@pytest.mark.parametrize("first, second, expected", [
    (service(HTTP), service(HTTP), []),
    (service(HTTP), service(HTTP_8080), [CART]),
    (service(HTTP), service(HTTP + [{"name": "grpc", "port": 9090}]), [CART]),
    (service(HTTP), service([{**HTTP[0], "targetPort": 8000}]), [CART]),
    (service(HTTP), service([{**HTTP[0], "appProtocol": "http"}]), [CART]),
    (service(HTTP), service(HTTP, type_="NodePort"), [CART]),
    (service(HTTP), service(HTTP, cluster_ip="None"), [CART]),
    # same meaning, written differently: defaults and port order do not matter, nodePorts are per cluster
    (service([{"name": "http", "port": 9080}]), service(HTTP), []),
    (service(HTTP + [{"name": "grpc", "port": 9090, "targetPort": 9090, "protocol": "TCP"}]),
     service([{"name": "grpc", "port": 9090, "targetPort": 9090, "protocol": "TCP"}] + HTTP), []),
    (service([{**HTTP[0], "nodePort": 30001}], type_="NodePort"),
     service([{**HTTP[0], "nodePort": 30002}], type_="NodePort"), []),
    (service(HTTP), service(HTTP_8080, name="other"), []),
    (service(HTTP), service(HTTP_8080, ns="other"), []),
    (service(HTTP, ns="kube-system"), service(HTTP_8080, ns="kube-system"), []),
], ids=["same", "port-number", "port-count", "target-port", "app-protocol", "type", "headless", "defaults",
        "order", "node-ports", "other-name", "other-namespace", "system-namespace"])
def test_sidecar_mode_services_are_merged_by_name(tmp_path, first, second, expected):
    assert two_clusters(tmp_path, first, second) == expected


@pytest.mark.parametrize("labels, mesh, expected", [
    (None, None, []),  # ambient: local unless global
    (GLOBAL, None, [CART]),
    ({"app": "cart"}, GLOBAL_BY_SCOPE, []),
    (GLOBAL, GLOBAL_BY_SCOPE, [CART]),
], ids=["local", "global-label", "scope-not-matching", "scope-matching"])
def test_ambient_services_are_merged_only_when_global(tmp_path, labels, mesh, expected):
    ns = namespace("shop", AMBIENT)
    first = ns + service(HTTP, labels=labels)
    second = ns + service(HTTP_8080, labels=labels)
    assert two_clusters(tmp_path, first, second, mesh) == expected


def test_scope_config_can_select_namespaces(tmp_path):
    ns = namespace("shop", {**AMBIENT, "shared": "yes"})
    assert two_clusters(tmp_path, ns + service(HTTP), ns + service(HTTP_8080), GLOBAL_BY_NAMESPACE) == [CART]


def test_message_names_clusters_and_reasons(tmp_path):
    [message] = run_two_clusters(tmp_path, service(HTTP), service(HTTP_8080, type_="NodePort"), ANALYZER,
                                 names=("east", "west"))
    assert message.text == ("The service cart in namespace shop is inconsistent across clusters east, west: "
                            "service ports differ; service types differ")


def test_a_single_cluster_has_nothing_to_compare(analyze):
    assert analyze(service(HTTP) + service(HTTP_8080, name="other"), ANALYZER) == []


def test_demo_snapshot_flags_the_global_ratings_service():
    """ratings is global in both clusters with different ports; waypoint Services (ambient, local) and the
    identical istiod/east-west Services are not reported."""
    messages = run_on_demo([ANALYZER])
    assert [(m.cluster, m.code, m.origin) for m in messages] == [
        ("cluster1", "IST0170", "Service bookinfo/ratings"),
    ]
    assert "cluster1, cluster2" in messages[0].text


def test_demo_snapshot_with_every_family_of_this_group():
    """The demo's planted problems these families own (IST0118 ledger, IST0170 ratings), the ambient/sidecar
    conflict in legacy (IST0123), and istioctl's usual IST0102 for the unlabelled default namespace: nothing
    else (no IST0102/IST0103 for the ambient namespaces, no overlap in the default-tag webhooks)."""
    families = ["injection", "meshnetworks", "services", "service", "sidecar", "telemetry", "webhook"]
    assert cluster_codes(run_on_demo(families)) == [
        ("cluster1", "IST0102", "Namespace default"),
        ("cluster1", "IST0118", "Service payments/ledger"),
        ("cluster1", "IST0123", "Namespace legacy"),
        ("cluster1", "IST0170", "Service bookinfo/ratings"),
        ("cluster2", "IST0102", "Namespace default"),
    ]
