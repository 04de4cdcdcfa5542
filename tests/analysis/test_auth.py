"""auth.AuthorizationPoliciesAnalyzer: IST0127 for policies that apply to no workload, IST0101 for
namespaces and targetRefs that do not exist. Also the demo snapshot run through this brief's analyzers."""

from __future__ import annotations

import textwrap

import pytest

from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube import kinds as K
from meshctl.kube.snapshot import load_snapshot
from tests.analysis.conftest import analyze_without, load_cluster
from tests.conftest import DEMO

NAME = "auth.AuthorizationPoliciesAnalyzer"


def ns(name, **labels):
    return f"""
---
apiVersion: v1
kind: Namespace
metadata: {{name: {name}, labels: {dict(labels)}}}
"""


def pod(name, namespace, labels, sidecar=False, annotations=None):
    containers = [{"name": "app", "image": "app:1"}]
    if sidecar:
        containers.append({"name": "istio-proxy", "image": "proxyv2:1.30.3"})
    return f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}, labels: {dict(labels)}, annotations: {dict(annotations or {})}}}
spec: {{containers: {containers}}}
"""


AMBIENT = {"ambient.istio.io/redirection": "enabled"}


def policy(name, namespace, selector=None, extra=""):
    sel = f"\n  selector: {{matchLabels: {dict(selector)}}}" if selector is not None else ""
    extra = "\n" + textwrap.indent(textwrap.dedent(extra), "  ") if extra else ""
    return f"""
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: {name}, namespace: {namespace}}}
spec:{sel}
  action: ALLOW{extra}
"""


BASE = ns("istio-system") + ns("bookinfo", **{"istio.io/dataplane-mode": "ambient"}) + ns("legacy", **{
    "istio-injection": "enabled"}) + ns("empty")

WORKLOAD_CASES = [
    ("selector matches an ambient pod", pod("details-1", "bookinfo", {"app": "details"}, annotations=AMBIENT)
     + policy("p", "bookinfo", {"app": "details"}), []),
    ("selector matches a sidecar pod", pod("details-1", "bookinfo", {"app": "details"}, sidecar=True)
     + policy("p", "bookinfo", {"app": "details"}), []),
    ("selector matches a pod of an injection namespace", pod("httpbin-1", "legacy", {"app": "httpbin"})
     + policy("p", "legacy", {"app": "httpbin"}), []),
    ("selector matches no pod", pod("details-1", "bookinfo", {"app": "details"}, annotations=AMBIENT)
     + policy("p", "bookinfo", {"app": "detail"}), [("IST0127", "AuthorizationPolicy bookinfo/p")]),
    ("selector needs every label", pod("details-1", "bookinfo", {"app": "details"}, annotations=AMBIENT)
     + policy("p", "bookinfo", {"app": "details", "version": "v2"}), [("IST0127", "AuthorizationPolicy bookinfo/p")]),
    ("the only match is not in the mesh", pod("details-1", "bookinfo", {"app": "details"})
     + policy("p", "bookinfo", {"app": "details"}), [("IST0127", "AuthorizationPolicy bookinfo/p")]),
    ("a pod opted out of injection", pod("httpbin-1", "legacy", {"app": "httpbin", "sidecar.istio.io/inject": "false"})
     + policy("p", "legacy", {"app": "httpbin"}), [("IST0127", "AuthorizationPolicy legacy/p")]),
    ("the match is in another namespace", pod("details-1", "bookinfo", {"app": "details"}, annotations=AMBIENT)
     + policy("p", "legacy", {"app": "details"}), [("IST0127", "AuthorizationPolicy legacy/p")]),
    ("root namespace: a match anywhere counts", pod("details-1", "bookinfo", {"app": "details"}, annotations=AMBIENT)
     + policy("p", "istio-system", {"app": "details"}), []),
    ("root namespace: no match anywhere", pod("details-1", "bookinfo", {"app": "details"}, annotations=AMBIENT)
     + policy("p", "istio-system", {"app": "ratings"}), [("IST0127", "AuthorizationPolicy istio-system/p")]),
    ("root namespace without selector applies mesh-wide", policy("p", "istio-system"), []),
    ("namespace-wide policy with mesh pods", pod("details-1", "bookinfo", {"app": "details"}, annotations=AMBIENT)
     + policy("p", "bookinfo"), []),
    ("namespace-wide policy without mesh pods", pod("x-1", "empty", {"app": "x"}) + policy("p", "empty"),
     [("IST0127", "AuthorizationPolicy empty/p")]),
    ("an empty selector is namespace-wide", pod("details-1", "bookinfo", {"app": "details"}, annotations=AMBIENT)
     + policy("p", "bookinfo", {}), []),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in WORKLOAD_CASES], ids=[c[0] for c in WORKLOAD_CASES])
def test_no_matching_workloads(analyze, text, expected):
    assert analyze(BASE + text, NAME) == expected


TARGETS = """
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio-waypoint}
spec: {controllerName: istio.io/mesh-controller}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}
"""

TARGET_CASES = [
    ("waypoint Gateway exists", "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]", []),
    ("Service exists (core group)", "targetRefs: [{group: '', kind: Service, name: reviews}]", []),
    ("Service exists (group core)", "targetRefs: [{group: core, kind: Service, name: reviews}]", []),
    ("deprecated targetRef", "targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}", []),
    ("missing Gateway", "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint2}]",
     [("IST0101", "AuthorizationPolicy bookinfo/p")]),
    ("missing Service", "targetRefs: [{kind: Service, group: '', name: ratings}]",
     [("IST0101", "AuthorizationPolicy bookinfo/p")]),
    ("one of two targets missing", "targetRefs: [{group: '', kind: Service, name: reviews}, "
     "{group: networking.istio.io, kind: ServiceEntry, name: api}]", [("IST0101", "AuthorizationPolicy bookinfo/p")]),
    ("a kind meshctl does not track", "targetRefs: [{group: example.com, kind: Widget, name: w}]", []),
]


@pytest.mark.parametrize("refs, expected", [c[1:] for c in TARGET_CASES], ids=[c[0] for c in TARGET_CASES])
def test_target_refs(analyze, refs, expected):
    # No pods at all: a policy attached to a target is not judged by pods.
    assert analyze(BASE + TARGETS + policy("p", "bookinfo", extra=refs), NAME) == expected


def test_gatewayclass_target_in_the_root_namespace(analyze):
    refs = "targetRefs: [{group: gateway.networking.k8s.io, kind: GatewayClass, name: istio-waypoint}]"
    assert analyze(BASE + TARGETS + policy("p", "istio-system", extra=refs), NAME) == []
    missing = refs.replace("istio-waypoint", "istio-other")
    assert analyze(BASE + TARGETS + policy("p", "istio-system", extra=missing), NAME) == [
        ("IST0101", "AuthorizationPolicy istio-system/p")]


def sources(*namespaces, field="namespaces"):
    return f"rules: [{{from: [{{source: {{{field}: {list(namespaces)}}}}}]}}]"


NAMESPACE_CASES = [
    ("existing namespace", sources("bookinfo"), []),
    ("case does not matter for exact names", sources("BookInfo"), []),
    ("missing namespace", sources("payments"), [("IST0101", "AuthorizationPolicy istio-system/p")]),
    ("missing in notNamespaces", sources("payments", field="notNamespaces"),
     [("IST0101", "AuthorizationPolicy istio-system/p")]),
    ("prefix pattern matches", sources("leg*"), []),
    ("suffix pattern matches", sources("*info"), []),
    ("star matches anything", sources("*"), []),
    ("pattern matching nothing", sources("*-test"), [("IST0101", "AuthorizationPolicy istio-system/p")]),
    ("two missing namespaces, two messages", sources("a", "b"),
     [("IST0101", "AuthorizationPolicy istio-system/p")] * 2),
]


@pytest.mark.parametrize("rules, expected", [c[1:] for c in NAMESPACE_CASES], ids=[c[0] for c in NAMESPACE_CASES])
def test_source_namespaces(analyze, rules, expected):
    assert analyze(BASE + policy("p", "istio-system", extra=rules), NAME) == expected


def test_files_without_namespace_objects_count_the_namespaces_objects_sit_in(analyze):
    text = pod("details-1", "bookinfo", {"app": "details"}, annotations=AMBIENT) + policy(
        "p", "istio-system", extra=sources("bookinfo", "nowhere"))
    assert analyze(text, NAME) == [("IST0101", "AuthorizationPolicy istio-system/p")]


def test_suppression_annotation(analyze):
    text = BASE + policy("p", "bookinfo", {"app": "nothing"}, extra=sources("nowhere")).replace(
        "namespace: bookinfo}", "namespace: bookinfo, annotations: {galley.istio.io/analyze-suppress: IST0127}}")
    assert analyze(text, NAME) == [("IST0101", "AuthorizationPolicy bookinfo/p")]


def test_mesh_config_root_namespace(analyze):
    text = BASE + policy("p", "empty")  # namespace-wide, and no mesh pod in 'empty'
    assert analyze(text, NAME) == [("IST0127", "AuthorizationPolicy empty/p")]
    assert analyze(text, NAME, mesh_configs=[({"rootNamespace": "empty"}, {})]) == []


P_NS = ("IST0101", "AuthorizationPolicy bookinfo/p")  # source namespace 'nowhere'
P_PODS = ("IST0127", "AuthorizationPolicy bookinfo/p")  # selector app=nothing
Q_TARGET = ("IST0101", "AuthorizationPolicy bookinfo/q")  # targetRef to Gateway 'nowhere'


@pytest.mark.parametrize("missing, expected", [
    ((), [P_NS, Q_TARGET, P_PODS]),
    ((K.POD,), [P_NS, Q_TARGET]),
    ((K.NAMESPACE,), [Q_TARGET, P_PODS]),
    ((K.GATEWAY,), [P_NS, P_PODS]),
], ids=["everything", "no pods", "no namespaces", "no gateways"])
def test_kinds_the_source_cannot_provide(tmp_path, missing, expected):
    text = BASE + policy("p", "bookinfo", {"app": "nothing"}, extra=sources("nowhere")) + policy(
        "q", "bookinfo", extra="targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: nowhere}]")
    assert analyze_without(tmp_path, text, NAME, missing) == sorted(expected)


def test_namespaces_of_every_cluster_count_when_analysed_together(tmp_path):
    states = [load_cluster(tmp_path, "c1", ns("istio-system") + ns("legacy")),
              load_cluster(tmp_path, "c2", ns("istio-system") + policy("p", "istio-system", extra=sources("legacy")))]
    analyzers = select_analyzers([NAME])
    assert run_analysis(states[1:], analyzers).messages[0].code == "IST0101"
    assert run_analysis(states, analyzers).messages == []
    states[1] = load_cluster(tmp_path, "c2", ns("istio-system") + policy("p", "istio-system", extra=sources("nowhere")))
    [message] = run_analysis(states, analyzers).messages
    assert (message.code, message.origin, message.cluster, message.analyzer) == (
        "IST0101", "AuthorizationPolicy istio-system/p", "c2", NAME)


# -- the demo snapshot, through every analyzer of this brief --------------------------------------

MINE = ["annotations", "authn", "auth", "conditions", "deployment", "applicationUID", "deprecation",
        "envoyfilter", "externalcontrolplane"]


def demo_messages(clusters=()):
    snapshot = load_snapshot(str(DEMO))
    result = run_analysis(snapshot.select(clusters), select_analyzers(MINE))
    return sorted((m.cluster, m.code, m.origin) for m in result.messages)


def test_demo_snapshot_yields_the_planted_problems_and_nothing_else():
    assert demo_messages() == [
        ("cluster1", "IST0127", "AuthorizationPolicy bookinfo/details-viewer"),
        ("cluster1", "IST0171", "HTTPRoute llm/llm-route-canary"),
    ]


def test_demo_clusters_one_at_a_time():
    assert demo_messages(["cluster1"]) == [
        ("", "IST0127", "AuthorizationPolicy bookinfo/details-viewer"),
        ("", "IST0171", "HTTPRoute llm/llm-route-canary"),
    ]
    # Alone, cluster2 cannot see namespace 'legacy' (it exists in cluster1 only): as istioctl does
    # for one cluster, the root-namespace policy naming it is reported.
    assert demo_messages(["cluster2"]) == [("", "IST0101", "AuthorizationPolicy istio-system/deny-legacy-to-apps")]
