"""annotations.K8sAnalyzer: IST0108 unknown, IST0107 misplaced, IST0135 deprecated, IST0125 invalid annotations."""

from __future__ import annotations

import pytest

from meshctl.analysis.analyzers import annotations as A
from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without, run_on_files

NAME = "annotations.K8sAnalyzer"


def obj(kind, annotations, labels=None, name="x", namespace="apps"):
    api = {"Deployment": "apps/v1"}.get(kind, "v1")
    ns = "" if kind == "Namespace" else f", namespace: {namespace}"
    return f"""
---
apiVersion: {api}
kind: {kind}
metadata: {{name: {name}{ns}, annotations: {dict(annotations)}, labels: {dict(labels or {})}}}
"""


def origin(kind, name="x", namespace="apps"):
    return f"{kind} {name}" if kind == "Namespace" else f"{kind} {namespace}/{name}"


CASES = [
    # unknown
    ("unknown istio annotation", obj("Pod", {"sidecar.istio.io/proxyCPUs": "100m"}), [("IST0108", origin("Pod"))]),
    ("unknown under any *istio.io prefix", obj("Service", {"foo.istio.io/bar": "1"}), [("IST0108", origin("Service"))]),
    ("other annotations are not Istio's", obj("Pod", {"prometheus.io/scrape": "true", "example.com/istio.io": "x"}), []),
    # misplaced
    ("pod annotation on a Service", obj("Service", {"sidecar.istio.io/proxyCPU": "100m"}),
     [("IST0107", origin("Service"))]),
    ("service annotation on a Pod", obj("Pod", {"networking.istio.io/exportTo": "."}), [("IST0107", origin("Pod"))]),
    ("pod annotation on a Deployment's own metadata", obj("Deployment", {"sidecar.istio.io/proxyCPU": "1"}),
     [("IST0107", origin("Deployment"))]),
    ("ambient redirection on a Namespace", obj("Namespace", {"ambient.istio.io/redirection": "enabled"}),
     [("IST0107", origin("Namespace"))]),
    ("ingress class on a Service", obj("Service", {"kubernetes.io/ingress.class": "istio"}),
     [("IST0107", origin("Service"))]),
    ("gateway annotation on a generated Service", obj("Service", {"networking.istio.io/service-type": "ClusterIP"}),
     [("IST0107", origin("Service"))]),
    # well placed
    ("ambient redirection on a Pod", obj("Pod", {"ambient.istio.io/redirection": "enabled"}), []),
    ("control plane clusters on a Namespace", obj("Namespace", {"topology.istio.io/controlPlaneClusters": "*"}), []),
    ("traffic distribution on a Service", obj("Service", {"networking.istio.io/traffic-distribution": "PreferClose"}),
     []),
    ("Any-resource annotation on a Deployment", obj("Deployment", {"gateway.istio.io/controller-version": "5"}), []),
    # deprecated
    ("deprecated inject annotation", obj("Pod", {"sidecar.istio.io/inject": "false"}), [("IST0135", origin("Pod"))]),
    ("deprecated annotation kept beside the label", obj("Pod", {"sidecar.istio.io/inject": "false"},
                                                        {"sidecar.istio.io/inject": "false"}), []),
    ("deprecated and misplaced", obj("Deployment", {"sidecar.istio.io/inject": "false"}),
     [("IST0107", origin("Deployment")), ("IST0135", origin("Deployment"))]),
    ("deprecated stats annotation", obj("Pod", {"sidecar.istio.io/statsInclusionPrefixes": "cluster"}),
     [("IST0135", origin("Pod"))]),
    # invalid values
    ("bad interception mode", obj("Pod", {"sidecar.istio.io/interceptionMode": "IPTABLES"}),
     [("IST0125", origin("Pod"))]),
    ("bad CIDR", obj("Pod", {"traffic.sidecar.istio.io/includeOutboundIPRanges": "10.0.0.0/33"}),
     [("IST0125", origin("Pod"))]),
    ("good CIDRs", obj("Pod", {"traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.0.0.0/8,fd00::/8"}), []),
    ("bad port list", obj("Pod", {"traffic.sidecar.istio.io/excludeInboundPorts": "80,http"}),
     [("IST0125", origin("Pod"))]),
    ("bad value is checked only where it applies", obj("Service", {"sidecar.istio.io/interceptionMode": "X"}),
     [("IST0107", origin("Service"))]),
    ("bad proxy config", obj("Pod", {"proxy.istio.io/config": "concurrency: -1"}), [("IST0125", origin("Pod"))]),
    ("good proxy config", obj("Pod", {"proxy.istio.io/config": "{holdApplicationUntilProxyStarts: true, concurrency: 2}"}),
     []),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_annotations(analyze, text, expected):
    assert analyze(text, NAME) == sorted(expected)


def test_pod_template_annotations_are_not_read(analyze):
    text = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: x, namespace: apps}
    spec:
      selector: {matchLabels: {app: x}}
      template:
        metadata: {labels: {app: x}, annotations: {sidecar.istio.io/unknown: "1"}}
        spec: {containers: [{name: app, image: app}]}
    """
    assert analyze(text, NAME) == []


def test_messages_name_the_annotation_and_where_it_belongs(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(obj("Service", {"sidecar.istio.io/inject": "true"}) + obj(
        "Pod", {"sidecar.istio.io/interceptionMode": "IPTABLES"}))
    texts = sorted(m.text for m in run_on_files([str(path)], NAME))
    assert texts == [
        'Annotation "sidecar.istio.io/inject" is deprecated in favor of the "sidecar.istio.io/inject" label; '
        "it may stop working in a later Istio release.",
        "Annotation sidecar.istio.io/inject has no effect here; it belongs on Pod.",
        "Annotation sidecar.istio.io/interceptionMode has an invalid value: 'IPTABLES' is not one of REDIRECT, "
        "TPROXY, NONE",
    ]


def test_suppression_annotation(analyze):
    text = obj("Pod", {"sidecar.istio.io/proxyCPUs": "1", "sidecar.istio.io/inject": "true",
                       "galley.istio.io/analyze-suppress": "IST0108"})
    assert analyze(text, NAME) == [("IST0135", origin("Pod"))]


def test_kinds_the_source_cannot_provide(tmp_path):
    text = obj("Pod", {"sidecar.istio.io/nope": "1"}) + obj("Service", {"sidecar.istio.io/nope": "1"})
    assert analyze_without(tmp_path, text, NAME, (K.POD,)) == [("IST0108", origin("Service"))]


@pytest.mark.parametrize("check, value, valid", [
    (A.port_list, "", True), (A.port_list, " 80, 443 ", True), (A.port_list, "65536", False),
    (A.port_list, "-1", False), (A.port_list_or_star, "*", True), (A.port_list, "*", False),
    (A.cidr_list, "", True), (A.cidr_list, "10.1.2.3/8", True), (A.cidr_list, "10.0.0.1", False),
    (A.cidr_list, "10.0.0.0/8, 192.168.0.0/16", False), (A.cidr_list_or_star, "*", True),
    (A.uint32, "0", True), (A.uint32, "4294967296", False), (A.uint32, "1.5", False),
    (A.boolean, "T", True), (A.boolean, "yes", False),
    (A.interception_mode, "TPROXY", True), (A.interception_mode, "tproxy", False),
    (A.proxy_config, "", True), (A.proxy_config, "[1, 2]", False), (A.proxy_config, "a: [", False),
    (A.proxy_config, "drainDuration: 45s", True), (A.proxy_config, "drainDuration: soon", False),
    (A.proxy_config, "statusPort: 0", False), (A.proxy_config, "discoveryAddress: istiod.istio-system.svc:15012", True),
    (A.proxy_config, "discoveryAddress: istiod", False), (A.proxy_config, "unknownField: 1", True),
])
def test_value_checks(check, value, valid):
    assert (check(value) is None) is valid


def test_catalogue_is_well_formed():
    known_types = {"Any", "AuthorizationPolicy", "Gateway", "GatewayClass", "Ingress", "Namespace", "Pod", "Service",
                   "ServiceEntry", "WorkloadEntry"}
    for definition in A.CATALOGUE.values():
        assert set(definition.resources) <= known_types, definition
        assert definition.status in ("Alpha", "Beta", "Stable"), definition
    assert set(A.VALUE_CHECKS) <= set(A.CATALOGUE)
    assert set(A.DEPRECATION_HINTS) <= {n for n, d in A.CATALOGUE.items() if d.deprecated}
