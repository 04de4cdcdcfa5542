"""applicationUID.Analyzer: IST0144 for application containers running as UID 1337."""

from __future__ import annotations

import pytest

from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without

NAME = "applicationUID.Analyzer"


def pod(pod_uid=None, container_uid=None, container="app", labels=None):
    pod_sc = f"securityContext: {{runAsUser: {pod_uid}}}, " if pod_uid is not None else ""
    c_sc = f", securityContext: {{runAsUser: {container_uid}}}" if container_uid is not None else ""
    return f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: apps, labels: {dict(labels or {})}}}
spec: {{{pod_sc}containers: [{{name: {container}, image: img{c_sc}}}, {{name: other, image: img}}]}}
"""


def deployment(container_uid):
    return f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: apps}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: app, image: img, securityContext: {{runAsUser: {container_uid}}}}}]}}
"""


POD = [("IST0144", "Pod apps/web")]

CASES = [
    ("container runs as 1337", pod(container_uid=1337), POD),
    ("pod runs as 1337", pod(pod_uid=1337), POD),
    ("another UID", pod(pod_uid=1000, container_uid=1001), []),
    ("no security context", pod(), []),
    ("the proxy container may", pod(container_uid=1337, container="istio-proxy"), []),
    ("control plane (istio label) is skipped", pod(pod_uid=1337, labels={"istio": "ingressgateway"}), []),
    ("control plane (release label) is skipped", pod(pod_uid=1337, labels={"release": "istio"}), []),
    ("Deployment template", deployment(1337), [("IST0144", "Deployment apps/web")]),
    ("Deployment template with another UID", deployment(0), []),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_application_uid(analyze, text, expected):
    assert analyze(text, NAME) == expected


def test_suppression_annotation(analyze):
    text = pod(pod_uid=1337).replace("labels: {}}", "labels: {}, annotations: {galley.istio.io/analyze-suppress: "
                                                    "'IST0102,IST0144'}}")
    assert analyze(text, NAME) == []


def test_kinds_the_source_cannot_provide(tmp_path):
    text = pod(pod_uid=1337) + deployment(1337)
    assert analyze_without(tmp_path, text, NAME, (K.POD,)) == [("IST0144", "Deployment apps/web")]
