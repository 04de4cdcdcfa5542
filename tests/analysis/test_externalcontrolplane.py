"""externalcontrolplane.ExternalControlPlaneAnalyzer: IST0163 (invalid webhook address), IST0164 (an IP, not a name)."""

from __future__ import annotations

import pytest

from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without, run_on_files

NAME = "externalcontrolplane.ExternalControlPlaneAnalyzer"


def webhook(client_config, kind="MutatingWebhookConfiguration", name="istio-sidecar-injector-external-istiod"):
    return f"""
---
apiVersion: admissionregistration.k8s.io/v1
kind: {kind}
metadata: {{name: {name}}}
webhooks:
- name: rev.namespace.sidecar-injector.istio.io
  clientConfig: {client_config}
  sideEffects: None
  admissionReviewVersions: [v1]
"""


INJECTOR = "MutatingWebhookConfiguration istio-sidecar-injector-external-istiod"

CASES = [
    ("host name", "{url: 'https://istiod.example.com:15017/inject/cluster/remote/net/network1'}", []),
    ("IPv4 address", "{url: 'https://203.0.113.7:15017/inject'}", [("IST0164", INJECTOR)]),
    ("IPv6 address", "{url: 'https://[2001:db8::7]:15017/inject'}", [("IST0164", INJECTOR)]),
    ("broken IPv6 brackets", "{url: 'https://[2001:db8::7:15017/inject'}", [("IST0163", INJECTOR)]),
    ("port out of range", "{url: 'https://istiod.example.com:99999/inject'}", [("IST0163", INJECTOR)]),
    ("no host", "{url: 'https:///inject'}", [("IST0163", INJECTOR)]),
    ("not a DNS name", "{url: 'https://istiod_example!.com/inject'}", [("IST0163", INJECTOR)]),
    ("neither url nor service", "{caBundle: ''}", [("IST0163", INJECTOR)]),
    ("in-cluster service", "{service: {name: istiod, namespace: istio-system, path: /inject}}", []),
]


@pytest.mark.parametrize("client_config, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_injector_webhook(analyze, client_config, expected):
    assert analyze(webhook(client_config), NAME) == expected


@pytest.mark.parametrize("kind, name, checked", [
    ("ValidatingWebhookConfiguration", "istiod-default-validator", True),
    ("ValidatingWebhookConfiguration", "istio-validator-external-istiod", True),
    ("ValidatingWebhookConfiguration", "other-validator", False),
    ("MutatingWebhookConfiguration", "istio-sidecar-injector", True),
    ("MutatingWebhookConfiguration", "istio-revision-tag-default", False),
    ("MutatingWebhookConfiguration", "cert-manager-webhook", False),
])
def test_which_webhooks_are_istio_s(analyze, kind, name, checked):
    expected = [("IST0164", f"{kind} {name}")] if checked else []
    assert analyze(webhook("{url: 'https://10.0.0.1:15017/validate'}", kind, name), NAME) == expected


def test_messages(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(webhook("{url: 'https://10.0.0.1/inject'}") + webhook("{}", name="istio-sidecar-injector-b"))
    assert sorted(m.text for m in run_on_files([str(path)], NAME)) == [
        "The rev.namespace.sidecar-injector.istio.io webhook's address \"\" is invalid: is blank: set a url or a "
        "service",
        "The rev.namespace.sidecar-injector.istio.io webhook's address https://10.0.0.1/inject is an IP address; use "
        "a host name so its certificate can be verified.",
    ]


def test_suppression_annotation(analyze):
    text = webhook("{url: 'https://10.0.0.1/inject'}").replace(
        "metadata: {name: istio-sidecar-injector-external-istiod}",
        "metadata: {name: istio-sidecar-injector-external-istiod, annotations: {galley.istio.io/analyze-suppress: "
        "IST0164}}")
    assert analyze(text, NAME) == []


def test_kinds_the_source_cannot_provide(tmp_path):
    text = webhook("{url: 'https://10.0.0.1/inject'}") + webhook(
        "{url: 'https://10.0.0.1/validate'}", "ValidatingWebhookConfiguration", "istiod-default-validator")
    assert analyze_without(tmp_path, text, NAME, (K.MUTATING_WEBHOOK,)) == [
        ("IST0164", "ValidatingWebhookConfiguration istiod-default-validator")]
