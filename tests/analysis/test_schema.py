"""schema.ValidationAnalyzer.<Kind>: one analyzer per validated kind, reporting IST0106 (errors),
IST0133 (warnings) and, for VirtualServices, IST0130 (unreachable rules) / IST0131 (shadowed matches)."""

import textwrap

import pytest

from meshctl.analysis.framework import all_analyzers
from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.errors import NotCapturedError
from meshctl.kube import kinds as K
from meshctl.kube.files import load_files

ISTIO = ["VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar", "EnvoyFilter", "WorkloadEntry",
         "WorkloadGroup", "ProxyConfig", "AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication",
         "Telemetry", "WasmPlugin"]
GATEWAY_API = ["KubernetesGateway", "GatewayClass", "HTTPRoute", "GRPCRoute", "TLSRoute", "ReferenceGrant",
               "BackendTLSPolicy"]
ALL = [f"schema.ValidationAnalyzer.{name}" for name in ISTIO + GATEWAY_API]


def obj(api_version, kind, name, spec, namespace="shop", annotations=None):
    meta = f"{{name: {name}, namespace: {namespace}, annotations: {annotations or {}}}}"
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ") if spec else ""
    return f"---\napiVersion: {api_version}\nkind: {kind}\nmetadata: {meta}\n" + (f"spec:\n{body}\n" if spec else "")


def messages(tmp_path, text, analyzer):
    """(code, origin, text) of every message one analyzer reports on a YAML text."""
    path = tmp_path / "input.yaml"
    path.write_text(text)
    result = run_analysis([load_files([str(path)])], select_analyzers([analyzer]))
    return sorted((m.code, m.origin, m.text) for m in result.messages)


def test_one_analyzer_per_kind_named_as_istio_names_them():
    registered = {a.name: a for a in all_analyzers() if a.name.startswith("schema.")}
    assert sorted(registered) == sorted(ALL)
    for name, cls in registered.items():
        expected = ("IST0106", "IST0133") + (("IST0130", "IST0131") if name.endswith(".VirtualService") else ())
        assert cls.codes == expected, name
    # Istio's Gateway and Gateway API's Gateway are different kinds, with different analyzers
    assert registered["schema.ValidationAnalyzer.Gateway"].inputs == (K.ISTIO_GATEWAY,)
    assert registered["schema.ValidationAnalyzer.KubernetesGateway"].inputs == (K.GATEWAY,)


def test_the_family_prefix_selects_every_schema_analyzer():
    assert sorted(a.name for a in select_analyzers(["schema"])) == sorted(ALL)


@pytest.mark.parametrize("analyzer", ALL)
@pytest.mark.parametrize("source", ["schema/istio-valid.yaml", "schema/gatewayapi-valid.yaml"])
def test_well_formed_objects_are_clean(analyze, analyzer, source):
    assert analyze(source, analyzer) == []


VS = "networking.istio.io/v1"
SEC = "security.istio.io/v1"
GW = "gateway.networking.k8s.io/v1"

# (analyzer kind, YAML, expected (code, origin, message))
FIRING = [
    ("VirtualService", obj(VS, "VirtualService", "reviews", """
        hosts: [reviews]
        http:
        - route:
          - destination: {subset: v1}
        """), [("IST0106", "VirtualService shop/reviews",
                "Schema validation error: spec.http[0].route[0].destination.host: required")]),
    ("VirtualService", obj(VS, "VirtualService", "reviews", """
        hosts: [reviews]
        http:
        - route: [{destination: {host: reviews}}]
          mirrorPercent: 5
          mirror: {host: shadow}
        """), [("IST0133", "VirtualService shop/reviews", ("Schema validation warning: spec.http[0].mirrorPercent: "
                "mirrorPercent is deprecated: use mirrorPercentage"))]),
    ("DestinationRule", obj(VS, "DestinationRule", "reviews", """
        host: reviews
        subsets: [{name: v1}, {name: v1}]
        """), [("IST0106", "DestinationRule shop/reviews",
                "Schema validation error: spec.subsets[1].name: subset v1 is defined more than once")]),
    ("Gateway", obj(VS, "Gateway", "public", """
        servers:
        - port: {number: 443, name: https, protocol: HTTPS}
          hosts: [shop.example.com]
          tls: {mode: SIMPLE}
        """), [("IST0106", "Gateway shop/public", ("Schema validation error: spec.servers[0].tls: SIMPLE TLS needs "
                "a privateKey")),
               ("IST0106", "Gateway shop/public", ("Schema validation error: spec.servers[0].tls: SIMPLE TLS needs "
                "a serverCertificate"))]),
    ("ServiceEntry", obj(VS, "ServiceEntry", "api", """
        hosts: [api.example.com]
        addresses: [10.0.0.0/24]
        resolution: DNS
        """), [("IST0106", "ServiceEntry shop/api", ("Schema validation error: spec.addresses: CIDR blocks need "
                "resolution NONE or STATIC"))]),
    ("Sidecar", obj(VS, "Sidecar", "default", """
        egress: [{hosts: [example.com]}]
        """), [("IST0106", "Sidecar shop/default",
                "Schema validation error: spec.egress[0].hosts[0]: write the host as <namespace>/<dnsName>")]),
    ("EnvoyFilter", obj("networking.istio.io/v1alpha3", "EnvoyFilter", "lua", """
        configPatches:
        - applyTo: HTTP_FILTER
          patch: {operation: INSERT_BEFORE}
        """), [("IST0106", "EnvoyFilter shop/lua",
                ("Schema validation error: spec.configPatches[0].patch.value: operation INSERT_BEFORE needs a "
                "value")),
               ("IST0133", "EnvoyFilter shop/lua", ("Schema validation warning: EnvoyFilter patches Envoy's internal "
                "configuration, which can change in any release: prefer a higher-level API, and re-test the filter "
                "before every upgrade"))]),
    ("WorkloadEntry", obj(VS, "WorkloadEntry", "vm", "ports: {http: 8080}"),
     [("IST0106", "WorkloadEntry shop/vm", "Schema validation error: spec.address: required unless network is set")]),
    ("WorkloadGroup", obj(VS, "WorkloadGroup", "vms", "metadata: {labels: {app: vm}}"),
     [("IST0106", "WorkloadGroup shop/vms", "Schema validation error: spec.template: required")]),
    ("ProxyConfig", obj("networking.istio.io/v1beta1", "ProxyConfig", "pc", "concurrency: -1"),
     [("IST0106", "ProxyConfig shop/pc", "Schema validation error: spec.concurrency: must be at least 0")]),
    ("AuthorizationPolicy", obj(SEC, "AuthorizationPolicy", "deny", "action: DENY"),
     [("IST0106", "AuthorizationPolicy shop/deny", ("Schema validation error: spec.rules: a DENY policy without "
       "rules never applies; add an empty rule {} to apply it to every request"))]),
    ("PeerAuthentication", obj(SEC, "PeerAuthentication", "pa", """
        mtls: {mode: STRICT}
        portLevelMtls: {8080: {mode: DISABLE}}
        """), [("IST0106", "PeerAuthentication shop/pa", ("Schema validation error: spec.portLevelMtls: portLevelMtls "
                "needs a selector with matchLabels: a mesh- or namespace-wide policy cannot set mTLS per port"))]),
    ("RequestAuthentication", obj(SEC, "RequestAuthentication", "jwt", """
        jwtRules: [{issuer: example, jwksUri: "ftp://example.com/keys"}]
        """), [("IST0106", "RequestAuthentication shop/jwt", ("Schema validation error: spec.jwtRules[0].jwksUri: "
                "jwksUri must use http or https, not 'ftp'"))]),
    ("Telemetry", obj("telemetry.istio.io/v1", "Telemetry", "t", """
        tracing:
        - providers: [{name: a}, {name: b}]
        """), [("IST0133", "Telemetry shop/t", ("Schema validation warning: spec.tracing[0].providers: only one "
                "tracing provider is supported"))]),
    ("WasmPlugin", obj("extensions.istio.io/v1alpha1", "WasmPlugin", "w", "url: ftp://example.com/x.wasm"),
     [("IST0106", "WasmPlugin shop/w", ("Schema validation error: spec.url: url scheme ftp is not supported: use oci, "
       "https, http or file"))]),
    ("KubernetesGateway", obj(GW, "Gateway", "edge", """
        gatewayClassName: istio
        listeners: [{name: web, port: 80, protocol: HTTP, tls: {certificateRefs: [{name: c}]}}]
        """), [("IST0106", "Gateway shop/edge",
                "Schema validation error: spec.listeners[0].tls: protocol HTTP does not use tls: remove it")]),
    ("GatewayClass", obj(GW, "GatewayClass", "istio", "description: no controller"),
     [("IST0106", "GatewayClass shop/istio", "Schema validation error: spec.controllerName: required")]),
    ("HTTPRoute", obj(GW, "HTTPRoute", "web", """
        rules: [{backendRefs: [{name: web}]}]
        """), [("IST0106", "HTTPRoute shop/web", ("Schema validation error: spec.rules[0].backendRefs[0].port: a "
                "Service backend needs a port"))]),
    ("GRPCRoute", obj(GW, "GRPCRoute", "g", """
        rules: [{matches: [{method: {type: Exact}}]}]
        """), [("IST0106", "GRPCRoute shop/g", ("Schema validation error: spec.rules[0].matches[0].method: set "
                "service, method or both"))]),
    ("TLSRoute", obj(GW, "TLSRoute", "t", "rules: [{backendRefs: [{name: b, port: 443}]}]"),
     [("IST0106", "TLSRoute shop/t", ("Schema validation error: spec.hostnames: required for TLSRoute v1: list "
       "at least one hostname"))]),
    ("ReferenceGrant", obj("gateway.networking.k8s.io/v1beta1", "ReferenceGrant", "rg", """
        from: [{group: gateway.networking.k8s.io, kind: HTTPRoute}]
        to: [{group: "", kind: Service}]
        """), [("IST0106", "ReferenceGrant shop/rg", "Schema validation error: spec.from[0].namespace: required")]),
    ("BackendTLSPolicy", obj(GW, "BackendTLSPolicy", "b", """
        targetRefs: [{group: "", kind: Service, name: s}]
        validation: {hostname: s.example.com}
        """), [("IST0106", "BackendTLSPolicy shop/b", ("Schema validation error: spec.validation: set "
                "caCertificateRefs or wellKnownCACertificates"))]),
]


@pytest.mark.parametrize("kind, text, expected", FIRING, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(FIRING)])
def test_each_analyzer_reports_what_validation_finds(tmp_path, kind, text, expected):
    assert messages(tmp_path, text, f"schema.ValidationAnalyzer.{kind}") == sorted(expected)


def test_an_analyzer_only_looks_at_its_own_kind(tmp_path):
    # a broken Istio Gateway is not the Gateway API analyzer's business, and the other way round
    istio = obj(VS, "Gateway", "public", "servers: []")
    k8s = obj(GW, "Gateway", "edge", "listeners: []")
    assert [m[:2] for m in messages(tmp_path, istio + k8s, "schema.ValidationAnalyzer.Gateway")] == [
        ("IST0106", "Gateway shop/public")]
    assert [m[:2] for m in messages(tmp_path, istio + k8s, "schema.ValidationAnalyzer.KubernetesGateway")] == [
        ("IST0106", "Gateway shop/edge"), ("IST0106", "Gateway shop/edge")]


def test_suppress_annotation_silences_the_code(tmp_path):
    text = obj(VS, "DestinationRule", "reviews", "subsets: [{name: v1}]",
               annotations={"galley.istio.io/analyze-suppress": "IST0106"})
    assert messages(tmp_path, text, "schema.ValidationAnalyzer.DestinationRule") == []
    text = text.replace("IST0106", "IST0133")
    assert [m[0] for m in messages(tmp_path, text, "schema.ValidationAnalyzer.DestinationRule")] == ["IST0106"]


def test_unknown_fields_are_errors_as_with_strict_decoding(tmp_path):
    text = obj(VS, "VirtualService", "reviews", """
        hosts: [reviews]
        http:
        - route: [{destination: {host: reviews}}]
          timeOut: 5s
        """)
    assert messages(tmp_path, text, "schema.ValidationAnalyzer.VirtualService") == [
        ("IST0106", "VirtualService shop/reviews", ("Schema validation error: spec.http[0].timeOut: unknown field "
         "'timeOut'"))]


def test_junk_in_a_spec_is_reported_never_an_internal_error(tmp_path):
    text = "".join([
        obj(VS, "VirtualService", "a", "[1, 2]"),
        obj(VS, "DestinationRule", "b", "host: [not, a, string]\nsubsets: {a: b}"),
        obj(GW, "HTTPRoute", "c", "rules: 7"),
        "---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: d, namespace: shop}\nspec: hello\n",
    ])
    found = messages(tmp_path, text, "schema")
    assert {m[0] for m in found} == {"IST0106"}
    assert {m[1] for m in found} == {"VirtualService shop/a", "DestinationRule shop/b", "HTTPRoute shop/c",
                                     "Sidecar shop/d"}


class HidingState:
    """A ClusterState that cannot say anything about some kinds (as when their CRD is absent)."""

    def __init__(self, state, hidden):
        self.state, self.hidden, self.info = state, hidden, state.info

    def serves(self, kind):
        return kind not in self.hidden and self.state.serves(kind)

    def list(self, kind, namespace=None, *, labels=None):
        if kind in self.hidden:
            raise NotCapturedError(kind.qualified_kind, "this test")
        return self.state.list(kind, namespace, labels=labels)

    def get(self, kind, name, namespace=None):
        return self.state.get(kind, name, namespace)


def test_a_kind_the_source_cannot_provide_is_skipped_quietly(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(obj(GW, "HTTPRoute", "web", "rules: [{backendRefs: [{name: web}]}]"))
    state = HidingState(load_files([str(path)]), {K.HTTP_ROUTE})
    result = run_analysis([state], select_analyzers(["schema"]))
    assert result.messages == []
    assert "httproutes.gateway.networking.k8s.io" in result.unknown


def test_messages_carry_the_field_path(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(obj(VS, "ServiceEntry", "api", "hosts: ['*']"))
    [message] = run_analysis([load_files([str(path)])], select_analyzers(["schema.ValidationAnalyzer.ServiceEntry"])
                             ).messages
    assert message.extra == {"field": "spec.hosts[0]"}
    assert message.reference.endswith("in.yaml:2")
