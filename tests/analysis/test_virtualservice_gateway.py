"""virtualservice.GatewayAnalyzer: IST0101 for a missing gateway, IST0132 for hosts a gateway does not admit,
IST0165 for references to the Istio Gateways istiod generates from Gateway API ones."""

import pytest

from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without

GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: edge}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com"]
"""


def vs(gateways, hosts=("shop.example.com",)):
    return f"""
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: shop, namespace: web}}
spec:
  hosts: {list(hosts)}
  gateways: {list(gateways)}
  http:
  - route:
    - destination: {{host: shop}}
"""


def test_missing_gateway_is_ist0101(analyze):
    assert analyze(GATEWAY + vs(["edge/private"]), "virtualservice.GatewayAnalyzer") == [
        ("IST0101", "VirtualService web/shop")
    ]


def test_short_gateway_name_is_looked_up_in_the_virtualservice_namespace(analyze):
    assert analyze(GATEWAY + vs(["public"]), "virtualservice.GatewayAnalyzer") == [
        ("IST0101", "VirtualService web/shop")
    ]


def test_existing_gateway_and_mesh_are_clean(analyze):
    assert analyze(GATEWAY + vs(["edge/public", "mesh"]), "virtualservice.GatewayAnalyzer") == []


def test_host_not_admitted_by_gateway_is_ist0132(analyze):
    assert analyze(GATEWAY + vs(["edge/public"], hosts=["shop.example.org"]), "virtualservice.GatewayAnalyzer") == [
        ("IST0132", "VirtualService web/shop")
    ]


def test_suppress_annotation_silences_the_code(analyze):
    text = (GATEWAY + vs(["edge/private"])).replace(
        "metadata: {name: shop, namespace: web}",
        "metadata: {name: shop, namespace: web, annotations: {galley.istio.io/analyze-suppress: IST0101}}")
    assert analyze(text, "virtualservice.GatewayAnalyzer") == []


# -- hosts: Istio's matching ---------------------------------------------------------------------

ANALYZER = "virtualservice.GatewayAnalyzer"


def gateway(hosts, namespace="edge", name="public"):
    return f"""
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: 80, name: http, protocol: HTTP}}
    hosts: {list(hosts)}
"""


@pytest.mark.parametrize("server_hosts, vs_hosts, expected", [
    (["*"], ["anything.test"], []),
    (["*/*"], ["anything.test"], []),
    (["web/*.example.com"], ["shop.example.com"], []),  # the VirtualService's namespace
    (["other/*.example.com"], ["shop.example.com"], [("IST0132", "VirtualService web/shop")]),
    (["./*.example.com"], ["shop.example.com"], [("IST0132", "VirtualService web/shop")]),  # "." is edge
    (["*/shop.example.com"], ["shop.example.com"], []),
    (["shop.example.com"], ["*.example.com"], []),  # a wildcard VirtualService host overlaps
    (["*.example.com"], ["example.com"], [("IST0132", "VirtualService web/shop")]),
    # As in Istio, one admitted host is enough: the others may be served by another gateway.
    (["*.example.com"], ["shop.example.com", "shop.example.org"], []),
], ids=str)
def test_server_hosts_admit_virtualservice_hosts(analyze, server_hosts, vs_hosts, expected):
    assert analyze(gateway(server_hosts) + vs(["edge/public"], hosts=vs_hosts), ANALYZER) == expected


def test_dot_namespace_admits_the_gateway_namespace(analyze):
    text = gateway(["./*.example.com"], namespace="web") + vs(["web/public"])
    assert analyze(text, ANALYZER) == []


def test_route_level_gateway_is_checked(analyze):
    text = GATEWAY + """
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: web}
spec:
  hosts: [shop.example.com]
  gateways: [edge/public, mesh]
  http:
  - match: [{gateways: [edge/gone]}]
    route: [{destination: {host: shop}}]
"""
    assert analyze(text, ANALYZER) == [("IST0101", "VirtualService web/shop")]


# -- Gateway API gateways and istiod's internal ones ---------------------------------------------

K8S_GATEWAY = """
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ingress, namespace: edge}
spec:
  gatewayClassName: istio
  listeners:
  - {name: shop, port: 80, protocol: HTTP, hostname: "shop.example.com"}
  - {name: api, port: 8080, protocol: HTTP, hostname: "api.example.com"}
"""


@pytest.mark.parametrize("ref, hosts, expected", [
    ("edge/ingress", ["shop.example.com"], []),
    ("edge/ingress", ["blog.example.com"], [("IST0132", "VirtualService web/shop")]),
    ("edge/gateway.networking.k8s.io:ingress.shop", ["shop.example.com"], []),
    ("edge/gateway.networking.k8s.io:ingress.api", ["shop.example.com"], [("IST0132", "VirtualService web/shop")]),
    ("edge/gateway.networking.k8s.io:gone.shop", ["shop.example.com"], [("IST0101", "VirtualService web/shop")]),
], ids=str)
def test_gateway_api_gateways_are_found(analyze, ref, hosts, expected):
    assert analyze(K8S_GATEWAY + vs([ref], hosts=hosts), ANALYZER) == expected


def test_listener_without_hostname_admits_every_host(analyze):
    text = K8S_GATEWAY.replace(', hostname: "shop.example.com"', "") + vs(["edge/ingress"], hosts=["x.test"])
    assert analyze(text, ANALYZER) == []


@pytest.mark.parametrize("ref", [
    "edge/ingress~istio-autogenerated-k8s-gateway~shop",
    "ingress-istio-autogenerated-k8s-gateway-shop",
])
def test_internal_gateway_reference_is_ist0165(analyze, ref):
    assert analyze(K8S_GATEWAY + vs([ref]), ANALYZER) == [("IST0165", "VirtualService web/shop")]


def test_missing_gateway_is_not_reported_when_gateways_are_unknown(tmp_path):
    assert analyze_without(tmp_path, vs(["edge/private"]), ANALYZER, (K.ISTIO_GATEWAY,)) == []


def test_gateway_is_not_missing_when_only_istio_gateways_are_unknown(tmp_path):
    text = K8S_GATEWAY + vs(["edge/ingress"], hosts=["blog.example.com"])
    assert analyze_without(tmp_path, text, ANALYZER, (K.ISTIO_GATEWAY,)) == [
        ("IST0132", "VirtualService web/shop")
    ]

