"""k8sgateway.SelectorAnalyzer (IST0166) and k8sgateway.CRDVersionAnalyzer (IST0176)."""

import pytest

from meshctl.analysis.analyzers.k8sgateway import bundle_version

SELECTORS = "k8sgateway.SelectorAnalyzer"
CRDS = "k8sgateway.CRDVersionAnalyzer"

GATEWAY_POD = """
---
apiVersion: v1
kind: Pod
metadata:
  name: web-gateway-istio-5d9f
  namespace: web
  labels: {gateway.networking.k8s.io/gateway-name: web-gateway, app: web-gateway-istio}
spec: {containers: [{name: istio-proxy, image: proxyv2}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-gateway-istio-7c1a
  namespace: web
  labels: {gateway.networking.k8s.io/gateway-name: web-gateway, app: web-gateway-istio}
spec: {containers: [{name: istio-proxy, image: proxyv2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: shop-1, namespace: web, labels: {app: shop}}
spec: {containers: [{name: shop, image: shop}]}
"""


def policy(kind, group, spec, namespace="web", name="p", meta=""):
    return f"""
---
apiVersion: {group}
kind: {kind}
metadata: {{name: {name}, namespace: {namespace}{meta}}}
spec: {spec}
"""


POLICY_KINDS = [
    ("AuthorizationPolicy", "security.istio.io/v1", {"action": "DENY", "rules": [{}]}),
    ("RequestAuthentication", "security.istio.io/v1", {"jwtRules": [{"issuer": "i"}]}),
    ("Telemetry", "telemetry.istio.io/v1", {"accessLogging": [{"providers": [{"name": "envoy"}]}]}),
    ("WasmPlugin", "extensions.istio.io/v1alpha1", {"url": "oci://example/plugin:1"}),
]


@pytest.mark.parametrize("kind, group, spec", POLICY_KINDS, ids=[k for k, _, _ in POLICY_KINDS])
def test_selector_on_gateway_pods_is_ist0166(analyze, kind, group, spec):
    text = GATEWAY_POD + policy(kind, group, {**spec, "selector": {"matchLabels": {"app": "web-gateway-istio"}}})
    # one message per gateway, not per pod
    assert analyze(text, SELECTORS) == [("IST0166", f"{kind} web/p")]


@pytest.mark.parametrize("spec", [
    {"selector": {"matchLabels": {"app": "shop"}}},  # a plain workload
    {"targetRefs": [{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "web-gateway"}]},
    {"selector": {"matchLabels": {"app": "web-gateway-istio"}},  # targetRefs win over the selector
     "targetRefs": [{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "web-gateway"}]},
    {},  # namespace-wide, no selector
], ids=["workload", "target-refs", "both", "no-selector"])
def test_effective_policies_are_clean(analyze, spec):
    assert analyze(GATEWAY_POD + policy("AuthorizationPolicy", "security.istio.io/v1", spec), SELECTORS) == []


def test_empty_match_labels_select_the_gateway_too(analyze):
    text = GATEWAY_POD + policy("AuthorizationPolicy", "security.istio.io/v1", {"selector": {"matchLabels": {}}})
    assert analyze(text, SELECTORS) == [("IST0166", "AuthorizationPolicy web/p")]


def test_gateway_pods_of_other_namespaces_are_not_selected(analyze):
    spec = {"selector": {"matchLabels": {"app": "web-gateway-istio"}}}
    text = GATEWAY_POD + policy("AuthorizationPolicy", "security.istio.io/v1", spec, namespace="shop")
    assert analyze(text, SELECTORS) == []


def test_selector_suppression(analyze):
    spec = {"selector": {"matchLabels": {"app": "web-gateway-istio"}}}
    quiet = ", annotations: {galley.istio.io/analyze-suppress: IST0166}"
    text = GATEWAY_POD + policy("AuthorizationPolicy", "security.istio.io/v1", spec, meta=quiet)
    assert analyze(text, SELECTORS) == []


# -- CRDVersionAnalyzer --------------------------------------------------------------------------


def crd(plural, version):
    annotations = {"gateway.networking.k8s.io/bundle-version": version} if version else {}
    return f"""
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.gateway.networking.k8s.io, annotations: {annotations}}}
spec:
  group: gateway.networking.k8s.io
  scope: Namespaced
  names: {{kind: X, plural: {plural}}}
  versions: [{{name: v1, served: true, storage: true}}]
"""


@pytest.mark.parametrize("plural, version, fires", [
    ("tlsroutes", "v1.4.1", True),  # Istio 1.30 needs TLSRoute from v1.5
    ("tlsroutes", "v1.5.0", False),
    ("tlsroutes", "v1.5.0-rc.1", False),  # a pre-release of the minimum counts as it
    ("tlsroutes", "v1.5.1", False),
    ("backendtlspolicies", "v1.3.0", True),
    ("backendtlspolicies", "v1.4.0", False),
    ("grpcroutes", "v1.0.0", True),
    ("grpcroutes", "v1.1.0", False),
    ("httproutes", "v1.0.0", False),  # no minimum of its own
    ("tlsroutes", None, False),  # no annotation: istiod logs it, nothing to compare
    ("tlsroutes", "experimental", False),  # not a version
], ids=str)
def test_crd_bundle_versions(analyze, plural, version, fires):
    expected = [("IST0176", f"CustomResourceDefinition {plural}.gateway.networking.k8s.io")] if fires else []
    assert analyze(crd(plural, version), CRDS) == expected


@pytest.mark.parametrize("text, parsed", [
    ("v1.5.1", (1, 5, 1)), ("1.5", (1, 5, 0)), ("v1.5.0-rc.1", (1, 5, 0)), ("v2", (2, 0, 0)),
    ("1.5.0+build.7", (1, 5, 0)), ("latest", None), ("", None),
])
def test_bundle_version(text, parsed):
    assert bundle_version(text) == parsed


def test_demo_snapshot_crds_are_recent_enough():
    from meshctl.analysis.run import run_analysis, select_analyzers
    from meshctl.kube.snapshot import load_snapshot
    from tests.conftest import DEMO

    snapshot = load_snapshot(str(DEMO))
    assert run_analysis(snapshot.clusters, select_analyzers([CRDS])).messages == []
