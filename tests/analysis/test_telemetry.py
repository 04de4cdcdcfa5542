"""telemetry.ProviderAnalyzer (IST0157), telemetry.SelectorAnalyzer (IST0101 IST0159),
telemetry.DefaultSelectorAnalyzer (IST0160) and telemetry.LightstepAnalyzer (IST0002)."""

import pytest

from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube import kinds as K
from meshctl.kube.files import load_files
from tests.analysis.conftest import analyze_without

PROVIDER = "telemetry.ProviderAnalyzer"
SELECTOR = "telemetry.SelectorAnalyzer"
DEFAULT_SELECTOR = "telemetry.DefaultSelectorAnalyzer"
LIGHTSTEP = "telemetry.LightstepAnalyzer"

MESH = {
    "defaultProviders": {"metrics": ["prometheus"]},
    "extensionProviders": [{"name": "otel", "opentelemetry": {"service": "otel.observability.svc", "port": 4317}},
                           {"name": "ls", "lightstep": {"service": "lightstep.example.com", "port": 8080}}],
}
MESH_WITH_ACCESS_LOG = {**MESH, "defaultProviders": {"accessLogging": ["envoy"]}}


def telemetry(name, ns="shop", spec="{}", annotations=None):
    return f"""
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {{name: {name}, namespace: {ns}, annotations: {annotations or {}}}}
spec: {spec}
"""


def pod(name, ns, labels):
    return f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {labels}}}
spec: {{containers: [{{name: app, image: example/app:1}}]}}
"""


# -- ProviderAnalyzer ----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, mesh, expected", [
    ("{accessLogging: [{}]}", MESH, [("IST0157", "Telemetry shop/t")]),
    ("{accessLogging: [{providers: []}]}", {}, [("IST0157", "Telemetry shop/t")]),
    ("{accessLogging: [{}]}", MESH_WITH_ACCESS_LOG, []),
    ("{accessLogging: [{disabled: true}]}", MESH, []),
    ("{accessLogging: [{providers: [{name: envoy}]}]}", MESH, []),
    ("{accessLogging: [{providers: [{name: otel}]}]}", MESH, []),
    ("{tracing: [{providers: [{name: zipkin}]}]}", MESH, [("IST0157", "Telemetry shop/t")]),
    ("{metrics: [{providers: [{name: prometheus}]}]}", MESH, []),
    ("{accessLogging: [{providers: [{name: missing}]}]}", MESH, [("IST0157", "Telemetry shop/t")]),
    # without a mesh config there is nothing to compare provider names with
    ("{tracing: [{providers: [{name: zipkin}]}]}", {}, []),
], ids=["no-provider", "empty-providers-no-mesh", "mesh-default", "disabled", "builtin", "defined",
        "unknown-tracing", "builtin-metrics", "unknown-logging", "no-mesh-config"])
def test_providers(analyze, spec, mesh, expected):
    assert analyze(telemetry("t", spec=spec), PROVIDER, mesh_configs=[(mesh, {})]) == expected


def test_provider_message_names_the_unknown_provider(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(telemetry("t", spec="{tracing: [{providers: [{name: zipkin}]}]}"))
    [message] = run_analysis([load_files([str(path)])], select_analyzers([PROVIDER]),
                             mesh_configs=[(MESH, {})]).messages
    assert '"zipkin"' in message.text and "shop" in message.text


# -- SelectorAnalyzer ------------------------------------------------------------------------------------

WEB = pod("web-1", "shop", {"app": "web", "version": "v1"})


@pytest.mark.parametrize("text, expected", [
    (WEB + telemetry("t", spec="{selector: {matchLabels: {app: web}}}"), []),
    (WEB + telemetry("t", spec="{selector: {matchLabels: {app: api}}}"), [("IST0101", "Telemetry shop/t")]),
    (WEB + telemetry("t", ns="other", spec="{selector: {matchLabels: {app: web}}}"),
     [("IST0101", "Telemetry other/t")]),
    (WEB + telemetry("t", spec="{}"), []),
    (WEB + telemetry("a", spec="{selector: {matchLabels: {app: web}}}")
     + telemetry("b", spec="{selector: {matchLabels: {version: v1}}}"),
     [("IST0159", "Telemetry shop/a"), ("IST0159", "Telemetry shop/b")]),
    (WEB + pod("api-1", "shop", {"app": "api"}) + telemetry("a", spec="{selector: {matchLabels: {app: web}}}")
     + telemetry("b", spec="{selector: {matchLabels: {app: api}}}"), []),
    (WEB + telemetry("t", spec="{selector: {matchLabels: {app: api}}}",
                     annotations={"galley.istio.io/analyze-suppress": "IST0101"}), []),
], ids=["match", "no-match", "cross-namespace", "no-selector", "conflict", "disjoint", "suppressed"])
def test_selectors(analyze, text, expected):
    assert analyze(text, SELECTOR) == expected


def test_without_pods_selectors_are_not_judged(tmp_path):
    text = telemetry("t", spec="{selector: {matchLabels: {app: api}}}")
    assert analyze_without(tmp_path, text, SELECTOR, (K.POD,)) == []


# -- DefaultSelectorAnalyzer -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    (telemetry("a"), []),
    (telemetry("a") + telemetry("b"), [("IST0160", "Telemetry shop/a"), ("IST0160", "Telemetry shop/b")]),
    (telemetry("a") + telemetry("b", ns="other"), []),
    (telemetry("a") + telemetry("b", spec="{selector: {matchLabels: {app: web}}}"), []),
    (telemetry("a") + telemetry("b", spec="{targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, "
                                          "name: ingress}]}"), []),
    (telemetry("a", ns="istio-system") + telemetry("b", ns="istio-system"),
     [("IST0160", "Telemetry istio-system/a"), ("IST0160", "Telemetry istio-system/b")]),
], ids=["one", "two", "two-namespaces", "one-with-selector", "one-with-targetref", "root-namespace"])
def test_namespace_wide_telemetries(analyze, text, expected):
    assert analyze(text, DEFAULT_SELECTOR) == expected


# -- LightstepAnalyzer -----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, mesh, expected", [
    ("{tracing: [{providers: [{name: ls}]}]}", MESH, [("IST0002", "Telemetry shop/t")]),
    ("{tracing: [{providers: [{name: otel}]}]}", MESH, []),
    ("{tracing: [{providers: [{name: ls}]}]}", {}, []),
    ("{accessLogging: [{providers: [{name: ls}]}]}", MESH, []),
], ids=["lightstep", "otel", "no-mesh-config", "not-tracing"])
def test_lightstep_provider_is_deprecated(analyze, spec, mesh, expected):
    assert analyze(telemetry("t", spec=spec), LIGHTSTEP, mesh_configs=[(mesh, {})]) == expected
