"""deprecation.DeprecationAnalyzer: IST0002 for deprecated, ignored and removed Istio fields and types."""

from __future__ import annotations

import pytest

from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without, run_on_files

NAME = "deprecation.DeprecationAnalyzer"


def virtual_service(delay):
    return f"""
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: apps}}
spec:
  hosts: [reviews]
  http:
  - route: [{{destination: {{host: reviews}}}}]
  - fault: {{delay: {delay}}}
    route: [{{destination: {{host: reviews}}}}]
"""


def sidecar(policy):
    return f"""
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: default, namespace: apps}}
spec: {{outboundTrafficPolicy: {policy}}}
"""


def crd(group, kind):
    return f"""
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {kind.lower()}s.{group}}}
spec: {{group: {group}, names: {{kind: {kind}, plural: {kind.lower()}s}}, scope: Namespaced}}
"""


CASES = [
    ("integer delay percent", virtual_service("{percent: 50, fixedDelay: 5s}"),
     [("IST0002", "VirtualService apps/reviews")]),
    ("delay percentage", virtual_service("{percentage: {value: 50}, fixedDelay: 5s}"), []),
    ("zero percent", virtual_service("{percent: 0, fixedDelay: 5s}"), []),
    ("egress proxy", sidecar("{mode: REGISTRY_ONLY, egressProxy: {host: egress.istio-system.svc.cluster.local}}"),
     [("IST0002", "Sidecar apps/default")]),
    ("outbound policy without egress proxy", sidecar("{mode: REGISTRY_ONLY}"), []),
    ("removed rbac.istio.io CRD", crd("rbac.istio.io", "ServiceRole"),
     [("IST0002", "CustomResourceDefinition serviceroles.rbac.istio.io")]),
    ("current CRD", crd("security.istio.io", "AuthorizationPolicy"), []),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_deprecation(analyze, text, expected):
    assert analyze(text, NAME) == expected


def test_messages(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(virtual_service("{percent: 50}") + sidecar("{egressProxy: {host: egress}}")
                    + crd("rbac.istio.io", "RbacConfig"))
    assert sorted(m.text for m in run_on_files([str(path)], NAME)) == [
        "Deprecated configuration: HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage",
        "Deprecated configuration: OutboundTrafficPolicy.EgressProxy is ignored",
        "Deprecated configuration: custom resource type rbac.istio.io RbacConfig has been removed",
    ]


def test_suppression_annotation(analyze):
    text = sidecar("{egressProxy: {host: egress}}").replace(
        "namespace: apps}", "namespace: apps, annotations: {galley.istio.io/analyze-suppress: IST0002}}")
    assert analyze(text, NAME) == []


def test_kinds_the_source_cannot_provide(tmp_path):
    text = sidecar("{egressProxy: {host: egress}}") + crd("rbac.istio.io", "ServiceRole")
    assert analyze_without(tmp_path, text, NAME, (K.CRD,)) == [("IST0002", "Sidecar apps/default")]
