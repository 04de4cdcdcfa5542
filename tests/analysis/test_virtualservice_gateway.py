"""virtualservice.GatewayAnalyzer: IST0101 for a missing gateway, IST0132 for hosts a gateway does not admit."""

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
