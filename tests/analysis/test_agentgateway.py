"""agentgateway.IstioConfigAnalyzer (MSH0201): Istio resources attached to a Gateway agentgateway serves."""

import pytest

from tests.analysis.conftest import run_on_files

ANALYZER = "agentgateway.IstioConfigAnalyzer"

GATEWAYS = """
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ai-edge}
spec: {controllerName: istio.io/agentgateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: envoy-edge}
spec: {controllerName: istio.io/gateway-controller}
"""


def gateway(name: str, class_name: str, namespace: str = "ai") -> str:
    return f"""
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  gatewayClassName: {class_name}
  listeners: [{{name: http, port: 80, protocol: HTTP}}]
"""


def attached(kind: str, api: str, target_kind: str, target: str, name: str = "p", namespace: str = "ai",
             extra: str = "", field: str = "targetRefs") -> str:
    ref = f"{{group: gateway.networking.k8s.io, kind: {target_kind}, name: {target}}}"
    return f"""
---
apiVersion: {api}
kind: {kind}
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  {field}: {f"[{ref}]" if field == "targetRefs" else ref}
  {extra}
"""


ALL_GATEWAYS = GATEWAYS + "".join(gateway(n, c) for n, c in [
    ("agw", "istio-agentgateway"), ("agw-waypoint", "istio-agentgateway-waypoint"),
    ("standalone", "agentgateway"), ("custom", "ai-edge"), ("envoy", "istio"), ("envoy-custom", "envoy-edge"),
    ("waypoint", "istio-waypoint"), ("unknown-class", "no-such-class")])


@pytest.mark.parametrize("target, served_by", [
    ("agw", "agentgateway"),
    ("agw-waypoint", "agentgateway waypoint"),
    ("standalone", "agentgateway (not Istio-managed)"),
    ("custom", "agentgateway"),  # a class of another name on Istio's agentgateway controller
])
def test_a_policy_on_an_agentgateway_gateway_has_no_effect(tmp_path, target, served_by):
    (tmp_path / "in.yaml").write_text(ALL_GATEWAYS + attached(
        "AuthorizationPolicy", "security.istio.io/v1", "Gateway", target, extra="action: DENY"))
    [message] = run_on_files([str(tmp_path)], ANALYZER)
    assert (message.code, message.origin) == ("MSH0201", "AuthorizationPolicy ai/p")
    assert message.level.label == "Warning"
    assert message.text.startswith(f"Gateway ai/{target} is served by {served_by}, ")
    assert message.extra == {"field": "spec.targetRefs[0]"}


@pytest.mark.parametrize("target", ["envoy", "envoy-custom", "waypoint", "unknown-class", "absent"])
def test_envoy_gateways_unknown_classes_and_missing_targets_are_left_alone(tmp_path, target):
    (tmp_path / "in.yaml").write_text(ALL_GATEWAYS + attached(
        "AuthorizationPolicy", "security.istio.io/v1", "Gateway", target, extra="action: DENY"))
    assert run_on_files([str(tmp_path)], ANALYZER) == []


@pytest.mark.parametrize("kind, api", [
    ("RequestAuthentication", "security.istio.io/v1"),
    ("Telemetry", "telemetry.istio.io/v1"),
    ("WasmPlugin", "extensions.istio.io/v1alpha1"),
    ("EnvoyFilter", "networking.istio.io/v1alpha3"),
])
def test_every_attaching_kind_is_checked(tmp_path, kind, api):
    (tmp_path / "in.yaml").write_text(ALL_GATEWAYS + attached(kind, api, "Gateway", "agw"))
    assert [(m.code, m.origin) for m in run_on_files([str(tmp_path)], ANALYZER)] == [("MSH0201", f"{kind} ai/p")]


def test_a_gatewayclass_target_and_the_singular_targetref(tmp_path):
    (tmp_path / "in.yaml").write_text(
        ALL_GATEWAYS
        + attached("AuthorizationPolicy", "security.istio.io/v1", "GatewayClass", "istio-agentgateway",
                   name="by-class", namespace="istio-system", extra="action: DENY")
        + attached("AuthorizationPolicy", "security.istio.io/v1", "GatewayClass", "istio",
                   name="envoy-class", namespace="istio-system", extra="action: DENY")
        + attached("Telemetry", "telemetry.istio.io/v1", "Gateway", "standalone", name="old-style",
                   field="targetRef"))
    messages = sorted(run_on_files([str(tmp_path)], ANALYZER), key=lambda m: m.origin)
    assert [(m.origin, m.extra["field"]) for m in messages] == [
        ("AuthorizationPolicy istio-system/by-class", "spec.targetRefs[0]"),
        ("Telemetry ai/old-style", "spec.targetRef")]
    assert messages[0].text.startswith("GatewayClass istio-agentgateway is served by agentgateway, ")


def test_a_target_in_another_namespace_is_not_the_policys(tmp_path):
    # targetRefs name objects in the policy's own namespace: web/agw does not exist, ai/agw is not meant
    (tmp_path / "in.yaml").write_text(ALL_GATEWAYS + attached(
        "AuthorizationPolicy", "security.istio.io/v1", "Gateway", "agw", namespace="web", extra="action: DENY"))
    assert run_on_files([str(tmp_path)], ANALYZER) == []


def test_the_suppress_annotation_silences_it(tmp_path):
    text = attached("AuthorizationPolicy", "security.istio.io/v1", "Gateway", "agw", extra="action: DENY")
    text = text.replace("metadata: {name: p, namespace: ai}",
                        "metadata: {name: p, namespace: ai, annotations: {galley.istio.io/analyze-suppress: MSH0201}}")
    (tmp_path / "in.yaml").write_text(ALL_GATEWAYS + text)
    assert run_on_files([str(tmp_path)], ANALYZER) == []
