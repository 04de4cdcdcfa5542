"""sidecar.SelectorAnalyzer: IST0127 selector matches nothing, IST0110 two Sidecars select one pod,
IST0111 two namespace-wide Sidecars, IST0167 Sidecars that ambient mode ignores."""

import pytest

from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube import kinds as K
from meshctl.kube.files import load_files
from tests.analysis.conftest import analyze_without, namespace

ANALYZER = "sidecar.SelectorAnalyzer"


def pod(name, ns, labels, annotations=None):
    return f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {labels}, annotations: {annotations or {}}}}
spec: {{containers: [{{name: app, image: example/app:1}}]}}
"""


def sidecar(name, ns, selector=None, annotations=None):
    selector_text = f"workloadSelector: {{labels: {selector}}}" if selector is not None else ""
    return f"""
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: {name}, namespace: {ns}, annotations: {annotations or {}}}}
spec:
  {selector_text}
  egress: [{{hosts: ["./*"]}}]
"""


SHOP = namespace("shop", {"istio-injection": "enabled"})
WEB = pod("web-1", "shop", {"app": "web", "version": "v1"})
AMBIENT = namespace("mall", {"istio.io/dataplane-mode": "ambient"})
AMBIENT_POD = pod("web-1", "mall", {"app": "web"}, {"ambient.istio.io/redirection": "enabled"})


@pytest.mark.parametrize("text, expected", [
    (SHOP + WEB + sidecar("web", "shop", {"app": "web"}), []),
    (SHOP + WEB + sidecar("web", "shop", {"app": "web", "version": "v1"}), []),
    (SHOP + WEB + sidecar("web", "shop", {"app": "shop"}), [("IST0127", "Sidecar shop/web")]),
    (SHOP + WEB + sidecar("web", "shop", {"app": "web", "version": "v2"}), [("IST0127", "Sidecar shop/web")]),
    # selectors only look in their own namespace
    (SHOP + WEB + sidecar("web", "other", {"app": "web"}), [("IST0127", "Sidecar other/web")]),
    (SHOP + WEB + sidecar("web", "shop", {"app": "shop"}, {"galley.istio.io/analyze-suppress": "IST0127"}), []),
], ids=["match", "match-two-labels", "no-match", "partial-match", "cross-namespace", "suppressed"])
def test_selector_must_match_a_pod(analyze, text, expected):
    assert analyze(text, ANALYZER) == expected


def test_two_sidecars_selecting_one_pod_conflict(analyze):
    text = SHOP + WEB + sidecar("a", "shop", {"app": "web"}) + sidecar("b", "shop", {"version": "v1"})
    assert analyze(text, ANALYZER) == [("IST0110", "Sidecar shop/a"), ("IST0110", "Sidecar shop/b")]


def test_two_sidecars_selecting_different_pods_do_not_conflict(analyze):
    text = (SHOP + WEB + pod("api-1", "shop", {"app": "api"}) + sidecar("a", "shop", {"app": "web"})
            + sidecar("b", "shop", {"app": "api"}))
    assert analyze(text, ANALYZER) == []


@pytest.mark.parametrize("text, expected", [
    (SHOP + sidecar("default", "shop"), []),
    (SHOP + sidecar("a", "shop") + sidecar("b", "shop"),
     [("IST0111", "Sidecar shop/a"), ("IST0111", "Sidecar shop/b")]),
    (SHOP + sidecar("a", "shop") + sidecar("b", "other"), []),
    # an empty selector is no selector
    (SHOP + sidecar("a", "shop", {}) + sidecar("b", "shop"), [("IST0111", "Sidecar shop/a"),
                                                             ("IST0111", "Sidecar shop/b")]),
], ids=["one", "two", "two-namespaces", "empty-selector"])
def test_namespace_wide_sidecars(analyze, text, expected):
    assert analyze(text, ANALYZER) == expected


@pytest.mark.parametrize("text, expected", [
    (AMBIENT + sidecar("default", "mall"), [("IST0167", "Sidecar mall/default")]),
    # two namespace-wide Sidecars in ambient: no conflict to speak of, each is simply ineffective
    (AMBIENT + sidecar("a", "mall") + sidecar("b", "mall"), [("IST0167", "Sidecar mall/a"),
                                                             ("IST0167", "Sidecar mall/b")]),
    (AMBIENT + AMBIENT_POD + sidecar("web", "mall", {"app": "web"}), [("IST0167", "Sidecar mall/web")]),
    (AMBIENT + AMBIENT_POD + sidecar("a", "mall", {"app": "web"}) + sidecar("b", "mall", {"app": "web"}),
     [("IST0167", "Sidecar mall/a"), ("IST0167", "Sidecar mall/b")]),
    # sidecar injection labels take precedence over the ambient label
    (namespace("mall", {"istio.io/dataplane-mode": "ambient", "istio-injection": "enabled"})
     + sidecar("default", "mall"), []),
], ids=["namespace-wide", "two-namespace-wide", "selected-pod", "two-selecting-pod", "injection-wins"])
def test_ambient_makes_sidecars_ineffective(analyze, text, expected):
    assert analyze(text, ANALYZER) == expected


def test_messages_name_the_conflicting_sidecars(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(SHOP + WEB + sidecar("a", "shop", {"app": "web"}) + sidecar("b", "shop", {"app": "web"}))
    messages = run_analysis([load_files([str(path)])], select_analyzers([ANALYZER])).messages
    assert {m.text for m in messages} == {
        'Sidecars a, b in namespace shop all select pod "web-1"; which one applies is undefined.'}


def test_without_pods_only_namespace_wide_sidecars_are_checked(tmp_path):
    text = SHOP + sidecar("web", "shop", {"app": "nothing"}) + sidecar("a", "shop") + sidecar("b", "shop")
    assert analyze_without(tmp_path, text, ANALYZER, (K.POD,)) == [
        ("IST0111", "Sidecar shop/a"), ("IST0111", "Sidecar shop/b")]
