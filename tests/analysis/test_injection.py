"""injection.Analyzer (IST0102 IST0103 IST0123 IST0148), injection.ImageAnalyzer (IST0158) and
injection.ImageAutoAnalyzer (IST0146 IST0147), including how ambient enrollment changes them."""

import pytest

from meshctl.kube import kinds as K
from tests.analysis.conftest import ANALYZE_DATA, analyze_without, cluster_codes, run_on_demo

INJECTION = "injection.Analyzer"
IMAGE = "injection.ImageAnalyzer"
IMAGE_AUTO = "injection.ImageAutoAnalyzer"
DATA = ANALYZE_DATA / "injection"
INJECTOR = (DATA / "injector-configmap.yaml").read_text()
WEBHOOK = (DATA / "injection-webhook.yaml").read_text()
PROXY = "registry.istio.io/release/proxyv2:1.30.3-distroless"


def namespace(name, labels=None, annotations=None):
    return f"""
---
apiVersion: v1
kind: Namespace
metadata: {{name: {name}, labels: {labels or {}}, annotations: {annotations or {}}}}
"""


def pod(name, ns, *, proxy=None, native_proxy=None, labels=None, annotations=None, host_network=False):
    containers = [{"name": "app", "image": "example/app:1"}]
    if proxy:
        containers.append({"name": "istio-proxy", "image": proxy})
    init = [{"name": "istio-proxy", "image": native_proxy, "restartPolicy": "Always"}] if native_proxy else []
    return f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {labels or {}}, annotations: {annotations or {}}}}
spec: {{hostNetwork: {str(host_network).lower()}, containers: {containers}, initContainers: {init}}}
"""


def deployment(name, ns, *, image="auto", pod_labels=None):
    return f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {pod_labels or {"app": name}}}}
    spec:
      containers: [{{name: app, image: example/app:1}}, {{name: istio-proxy, image: {image}}}]
"""


# -- injection.Analyzer: namespaces ------------------------------------------------------------------

@pytest.mark.parametrize("labels, expected", [
    ({}, [("IST0102", "Namespace shop")]),
    ({"istio.io/dataplane-mode": "none"}, [("IST0102", "Namespace shop")]),
    ({"istio-injection": "enabled"}, []),
    ({"istio-injection": "disabled"}, []),
    ({"istio.io/rev": "canary"}, []),
    ({"istio.io/dataplane-mode": "ambient"}, []),
    ({"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}, []),
    ({"istio-injection": "enabled", "istio.io/rev": "canary"}, [("IST0123", "Namespace shop")]),
    # ambient and sidecar injection at once: ambiguous enrollment, reported once, never "not injected"
    ({"istio-injection": "enabled", "istio.io/dataplane-mode": "ambient"}, [("IST0123", "Namespace shop")]),
    ({"istio.io/rev": "canary", "istio.io/dataplane-mode": "ambient"}, [("IST0123", "Namespace shop")]),
    # a disabling injection label wins, so the other labels do not conflict with it
    ({"istio-injection": "disabled", "istio.io/dataplane-mode": "ambient"}, []),
    ({"istio-injection": "disabled", "istio.io/rev": "canary"}, []),
], ids=lambda v: str(v))
def test_namespace_labels(analyze, labels, expected):
    assert analyze(namespace("shop", labels), INJECTION) == expected


@pytest.mark.parametrize("name", ["istio-system", "kube-system", "kube-public", "kube-node-lease",
                                  "local-path-storage"])
def test_istio_and_system_namespaces_are_skipped(analyze, name):
    assert analyze(namespace(name), INJECTION) == []


def test_namespaces_injected_by_default_get_ist0148(analyze):
    injector = INJECTOR.replace('"enableNamespacesByDefault": false}\n    }\n---',
                                '"enableNamespacesByDefault": true}\n    }\n---', 1)
    assert injector != INJECTOR
    assert analyze(injector + namespace("shop"), INJECTION) == [("IST0148", "Namespace shop")]


def test_suppress_annotation_on_the_namespace(analyze):
    text = namespace("shop", annotations={"galley.istio.io/analyze-suppress": "IST0102"})
    assert analyze(text, INJECTION) == []


# -- injection.Analyzer: pods --------------------------------------------------------------------------

@pytest.mark.parametrize("pod_text, expected", [
    (pod("web", "shop"), [("IST0103", "Pod shop/web")]),
    (pod("web", "shop", proxy=PROXY), []),
    (pod("web", "shop", native_proxy=PROXY), []),
    (pod("web", "shop", labels={"sidecar.istio.io/inject": "false"}), []),
    (pod("web", "shop", annotations={"sidecar.istio.io/inject": "false"}), []),
    # the label wins over the annotation
    (pod("web", "shop", labels={"sidecar.istio.io/inject": "true"}, annotations={"sidecar.istio.io/inject": "false"}),
     [("IST0103", "Pod shop/web")]),
    (pod("web", "shop", host_network=True), []),
    (pod("web", "other"), []),  # a namespace the analyzer has no labels for
], ids=["no-proxy", "proxy", "native-sidecar", "opt-out-label", "opt-out-annotation", "label-wins",
        "host-network", "other-namespace"])
def test_pods_of_an_injected_namespace(analyze, pod_text, expected):
    text = namespace("shop", {"istio-injection": "enabled"}) + pod_text
    assert analyze(text, INJECTION) == expected


@pytest.mark.parametrize("labels, expected", [
    ({"istio.io/rev": "canary"}, [("IST0103", "Pod shop/web")]),
    ({"istio-injection": "disabled"}, []),
    ({"istio.io/dataplane-mode": "ambient"}, []),
    ({"istio-injection": "enabled", "istio.io/dataplane-mode": "ambient"}, [("IST0123", "Namespace shop")]),
    ({}, [("IST0102", "Namespace shop")]),
], ids=["revision", "disabled", "ambient", "ambient-and-injection", "unlabelled"])
def test_pods_without_proxy_by_namespace_mode(analyze, labels, expected):
    assert analyze(namespace("shop", labels) + pod("web", "shop"), INJECTION) == expected


def test_ambient_pods_captured_by_ztunnel_are_not_missing_a_proxy(analyze):
    text = namespace("shop", {"istio.io/dataplane-mode": "ambient"}) + pod(
        "web", "shop", annotations={"ambient.istio.io/redirection": "enabled"})
    assert analyze(text, INJECTION) == []


def test_without_pods_only_namespaces_are_checked(tmp_path):
    text = namespace("shop", {"istio-injection": "enabled"}) + namespace("plain") + pod("web", "shop")
    assert analyze_without(tmp_path, text, INJECTION, (K.POD,)) == [("IST0102", "Namespace plain")]


# -- injection.ImageAnalyzer ---------------------------------------------------------------------------

@pytest.mark.parametrize("pod_text, expected", [
    (pod("web", "shop", proxy=PROXY), []),
    (pod("web", "shop", native_proxy=PROXY), []),
    (pod("web", "shop", proxy="registry.istio.io/release/proxyv2:1.29.0-distroless"),
     [("IST0158", "Namespace shop")]),
    (pod("web", "shop", native_proxy="registry.istio.io/release/proxyv2:1.29.0"), [("IST0158", "Namespace shop")]),
    (pod("web", "shop", proxy="example/proxy:1",
         annotations={"sidecar.istio.io/proxyImage": "example/proxy:1"}), []),
    (pod("web", "shop"), []),
], ids=["current", "current-native", "old", "old-native", "custom-image-annotation", "no-proxy"])
def test_proxy_image_against_the_injector(analyze, pod_text, expected):
    text = INJECTOR + namespace("shop", {"istio-injection": "enabled"}) + pod_text
    assert analyze(text, IMAGE) == expected


def test_mismatches_are_reported_once_per_namespace(analyze):
    old = "registry.istio.io/release/proxyv2:1.29.0-distroless"
    text = (INJECTOR + namespace("shop", {"istio-injection": "enabled"}) + pod("a", "shop", proxy=old)
            + pod("b", "shop", proxy=old) + pod("c", "shop", proxy=PROXY))
    assert analyze(text, IMAGE) == [("IST0158", "Namespace shop")]


def test_revision_namespaces_use_their_revision_injector(analyze):
    canary = "registry.istio.io/release/proxyv2:1.31.0"
    ok = INJECTOR + namespace("shop", {"istio.io/rev": "canary"}) + pod("web", "shop", proxy=canary)
    old = INJECTOR + namespace("shop", {"istio.io/rev": "canary"}) + pod("web", "shop", proxy=PROXY)
    assert analyze(ok, IMAGE) == []
    assert analyze(old, IMAGE) == [("IST0158", "Namespace shop")]


def test_mesh_image_type_sets_the_variant(analyze):
    mesh = {"defaultConfig": {"image": {"imageType": "default"}}}
    text = INJECTOR + namespace("shop", {"istio-injection": "enabled"}) + pod("web", "shop", proxy=PROXY)
    assert analyze(text, IMAGE, mesh_configs=[(mesh, {})]) == [("IST0158", "Namespace shop")]


def test_no_injector_configmap_means_nothing_to_compare(analyze):
    text = namespace("shop", {"istio-injection": "enabled"}) + pod("web", "shop", proxy="anything:1")
    assert analyze(text, IMAGE) == []


def test_pods_of_uninjected_namespaces_are_not_compared(analyze):
    text = INJECTOR + namespace("shop", {"istio.io/dataplane-mode": "ambient"}) + pod("gw", "shop", proxy="x:1")
    assert analyze(text, IMAGE) == []


# -- injection.ImageAutoAnalyzer -----------------------------------------------------------------------

def test_pod_with_image_auto_is_ist0147(analyze):
    assert analyze(namespace("shop") + pod("web", "shop", proxy="auto"), IMAGE_AUTO) == [("IST0147", "Pod shop/web")]


@pytest.mark.parametrize("ns_labels, pod_labels, expected", [
    ({"istio-injection": "enabled"}, None, []),
    ({}, {"app": "web", "sidecar.istio.io/inject": "true"}, []),
    ({}, None, [("IST0146", "Deployment shop/web")]),
    ({"istio-injection": "enabled"}, {"app": "web", "sidecar.istio.io/inject": "false"},
     [("IST0146", "Deployment shop/web")]),
    ({"istio.io/dataplane-mode": "ambient"}, None, [("IST0146", "Deployment shop/web")]),
], ids=["namespace-label", "pod-label", "no-label", "opt-out", "ambient"])
def test_deployment_with_image_auto_needs_a_matching_webhook(analyze, ns_labels, pod_labels, expected):
    text = WEBHOOK + namespace("shop", ns_labels) + deployment("web", "shop", pod_labels=pod_labels)
    assert analyze(text, IMAGE_AUTO) == expected


def test_deployment_without_image_auto_is_clean(analyze):
    assert analyze(WEBHOOK + namespace("shop") + deployment("web", "shop", image=PROXY), IMAGE_AUTO) == []


def test_without_webhooks_deployments_are_not_judged(tmp_path):
    text = namespace("shop") + deployment("web", "shop") + pod("web-1", "shop", proxy="auto")
    assert analyze_without(tmp_path, text, IMAGE_AUTO, (K.MUTATING_WEBHOOK,)) == [("IST0147", "Pod shop/web-1")]


# -- the demo snapshot ---------------------------------------------------------------------------------

def test_demo_snapshot_ambient_namespaces_are_not_reported():
    """bookinfo, llm and payments are ambient: no IST0102/IST0103. legacy is labelled for both ambient and
    sidecar injection (its pods got sidecars): Istio 1.30 reports that as IST0123 and, since the namespace is
    ambient-labelled, nothing else. default has no label at all: IST0102 in both clusters, as istioctl says."""
    assert cluster_codes(run_on_demo(["injection"])) == [
        ("cluster1", "IST0102", "Namespace default"),
        ("cluster1", "IST0123", "Namespace legacy"),
        ("cluster2", "IST0102", "Namespace default"),
    ]
