"""webhook.Analyzer: IST0139 for overlapping Istio injection webhooks and webhooks calling a missing Service."""

import pytest

from meshctl.analysis.common import label_selector_matches
from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube import kinds as K
from meshctl.kube.files import load_files
from tests.analysis.conftest import ANALYZE_DATA, analyze_without, run_on_demo

ANALYZER = "webhook.Analyzer"
DATA = ANALYZE_DATA / "webhook"
DEFAULT_INSTALL = (DATA / "default-install.yaml").read_text()
TAG = "MutatingWebhookConfiguration istio-revision-tag-default"


def config(name, hooks, labels=None):
    return f"""
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {{name: {name}, labels: {labels or {}}}}
webhooks: {hooks}
"""


def hook(name, ns_selector=None, object_selector=None, service=("istio-system", "istiod"), url=None):
    client = {"url": url} if url else {"service": {"namespace": service[0], "name": service[1], "path": "/inject"}}
    out = {"name": name, "clientConfig": client}
    if ns_selector is not None:
        out["namespaceSelector"] = ns_selector
    if object_selector is not None:
        out["objectSelector"] = object_selector
    return out


INJECTION_ENABLED = {"matchLabels": {"istio-injection": "enabled"}}
SERVICE = """
---
apiVersion: v1
kind: Service
metadata: {name: istiod, namespace: istio-system}
spec: {ports: [{name: https-webhook, port: 443}]}
"""


@pytest.mark.parametrize("selector, labels, expected", [
    (None, {}, True),
    ({}, {"a": "b"}, True),
    ({"matchLabels": {"a": "b"}}, {"a": "b", "c": "d"}, True),
    ({"matchLabels": {"a": "b"}}, {"a": "x"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["b", "c"]}]}, {"a": "c"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}]}, {"a": "b"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "x"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, {"a": "x"}, False),
])
def test_label_selector_semantics(selector, labels, expected):
    assert label_selector_matches(selector, labels) is expected


def test_default_install_with_default_tag_is_clean(analyze):
    assert analyze(DEFAULT_INSTALL, ANALYZER) == []


def test_demo_snapshot_webhooks_are_clean():
    assert run_on_demo([ANALYZER]) == []


def test_a_second_webhook_injecting_the_same_namespaces_overlaps(analyze):
    second = config("istio-sidecar-injector-canary",
                    [hook("namespace.sidecar-injector.istio.io", INJECTION_ENABLED)], {"istio.io/rev": "canary"})
    assert analyze(DEFAULT_INSTALL + second, ANALYZER) == [
        ("IST0139", TAG),
        ("IST0139", "MutatingWebhookConfiguration istio-sidecar-injector-canary"),
    ]


def test_overlap_message_names_the_other_webhook(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(config("one", [hook("a.istio.io", INJECTION_ENABLED), hook("b.istio.io", INJECTION_ENABLED)])
                    + SERVICE)
    messages = run_analysis([load_files([str(path)])], select_analyzers([ANALYZER])).messages
    assert sorted(m.text for m in messages) == [
        "Invalid webhook: webhook one/a.istio.io overlaps with [one/b.istio.io]; pods it selects may be "
        "injected twice.",
        "Invalid webhook: webhook one/b.istio.io overlaps with [one/a.istio.io]; pods it selects may be "
        "injected twice.",
    ]


def test_webhooks_selecting_disjoint_namespaces_do_not_overlap(analyze):
    disabled = {"matchLabels": {"istio-injection": "disabled"}}
    text = config("one", [hook("a.istio.io", INJECTION_ENABLED), hook("b.istio.io", disabled)])
    assert analyze(text + SERVICE, ANALYZER) == []


def test_non_istio_webhooks_are_ignored(analyze):
    text = config("other", [hook("a.example.com", INJECTION_ENABLED), hook("b.example.com", INJECTION_ENABLED)])
    assert analyze(text, ANALYZER) == []


@pytest.mark.parametrize("hooks, with_service, expected", [
    ([hook("a.istio.io", INJECTION_ENABLED)], True, []),
    ([hook("a.istio.io", INJECTION_ENABLED)], False, [("IST0139", "MutatingWebhookConfiguration inj")]),
    ([hook("a.istio.io", INJECTION_ENABLED, service=("istio-system", "istiod-canary"))], True,
     [("IST0139", "MutatingWebhookConfiguration inj")]),
    ([hook("a.istio.io", INJECTION_ENABLED, url="https://istiod.example.com:15017/inject")], False, []),
], ids=["service-exists", "service-missing", "other-service-missing", "url"])
def test_webhook_service_must_exist(analyze, hooks, with_service, expected):
    text = config("inj", hooks) + (SERVICE if with_service else "")
    assert analyze(text, ANALYZER) == expected


def test_revision_label_alone_makes_a_config_istio_s(analyze):
    text = config("inj", [hook("inject.example.com", INJECTION_ENABLED)], {"istio.io/rev": "canary"})
    assert analyze(text, ANALYZER) == [("IST0139", "MutatingWebhookConfiguration inj")]


def test_without_services_the_service_check_is_skipped(tmp_path):
    text = config("inj", [hook("a.istio.io", INJECTION_ENABLED)])
    assert analyze_without(tmp_path, text, ANALYZER, (K.SERVICE,)) == []
