"""conditions.ConditionAnalyzer: IST0171 for negative status conditions."""

from __future__ import annotations

import pytest

from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without, run_on_files

NAME = "conditions.ConditionAnalyzer"
API = {
    "Service": "v1", "ServiceEntry": "networking.istio.io/v1", "AuthorizationPolicy": "security.istio.io/v1",
    "Gateway": "gateway.networking.k8s.io/v1", "HTTPRoute": "gateway.networking.k8s.io/v1",
    "GRPCRoute": "gateway.networking.k8s.io/v1", "TLSRoute": "gateway.networking.k8s.io/v1",
}


def with_status(kind, status, generation=1):
    return f"""
---
apiVersion: {API[kind]}
kind: {kind}
metadata: {{name: x, namespace: apps, generation: {generation}}}
status: {status}
"""


def cond(ctype, status, reason="R", generation=1):
    return {"type": ctype, "status": status, "reason": reason, "message": "m", "observedGeneration": generation}


def parents(*conditions):
    return {"parents": [{"parentRef": {"name": "gw"}, "controllerName": "istio.io/gateway-controller",
                         "conditions": list(conditions)}]}


CASES = [
    ("Service not bound to its waypoint", "Service", {"conditions": [cond("istio.io/WaypointBound", "False")]}, True),
    ("Service bound", "Service", {"conditions": [cond("istio.io/WaypointBound", "True")]}, False),
    ("Service: other condition types are ignored", "Service", {"conditions": [cond("Ready", "False")]}, False),
    ("ServiceEntry not bound", "ServiceEntry", {"conditions": [cond("istio.io/WaypointBound", "False")]}, True),
    ("policy rejected by ztunnel", "AuthorizationPolicy", {"conditions": [cond("ZtunnelAccepted", "False")]}, True),
    ("policy rejected by the waypoint", "AuthorizationPolicy", {"conditions": [cond("WaypointAccepted", "False")]},
     True),
    ("policy partly accepted", "AuthorizationPolicy",
     {"conditions": [cond("WaypointAccepted", "True", reason="PartiallyInvalid")]}, True),
    ("policy accepted", "AuthorizationPolicy", {"conditions": [cond("WaypointAccepted", "True", reason="Accepted")]},
     False),
    ("Gateway not programmed", "Gateway", {"conditions": [cond("Accepted", "True"), cond("Programmed", "False")]}, True),
    ("Gateway: listener conditions are not read", "Gateway",
     {"conditions": [cond("Programmed", "True")], "listeners": [{"name": "http", "conditions": [
         cond("ResolvedRefs", "False")]}]}, False),
    ("Gateway: unknown status is not negative", "Gateway", {"conditions": [cond("Programmed", "Unknown")]}, False),
    ("HTTPRoute parent with unresolved refs", "HTTPRoute", parents(cond("Accepted", "True"),
                                                                   cond("ResolvedRefs", "False")), True),
    ("HTTPRoute accepted everywhere", "HTTPRoute", parents(cond("Accepted", "True"), cond("ResolvedRefs", "True")),
     False),
    ("GRPCRoute not accepted", "GRPCRoute", parents(cond("Accepted", "False")), True),
    ("TLSRoute not accepted", "TLSRoute", parents(cond("Accepted", "False")), True),
]


@pytest.mark.parametrize("kind, status, negative", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_conditions(analyze, kind, status, negative):
    expected = [("IST0171", f"{kind} apps/x")] if negative else []
    assert analyze(with_status(kind, status), NAME) == expected


def test_stale_condition_still_counts(analyze):
    # As in Istio: a negative condition written for generation 1 is reported on generation 2 too.
    text = with_status("Gateway", {"conditions": [cond("Programmed", "False", generation=1)]}, generation=2)
    assert analyze(text, NAME) == [("IST0171", "Gateway apps/x")]


def test_no_status_no_message(analyze):
    assert analyze(with_status("HTTPRoute", "{}"), NAME) == []


def test_messages_say_which_condition_and_parent(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(with_status("HTTPRoute", {"parents": [
        {"parentRef": {"name": "gw", "namespace": "edge", "sectionName": "https"},
         "conditions": [cond("ResolvedRefs", "False", reason="BackendNotFound")]},
        {"parentRef": {"group": "", "kind": "Service", "name": "reviews"},
         "conditions": [cond("Accepted", "False", reason="NotAllowed")]},
    ]}))
    assert sorted(m.text for m in run_on_files([str(path)], NAME)) == [
        "Accepted=False for parent Service apps/reviews (NotAllowed): m",
        "ResolvedRefs=False for parent Gateway edge/gw/https (BackendNotFound): m",
    ]


def test_testdata_scenario(analyze):
    # A waypoint that is not ready, seen from every object it touches.
    assert analyze("conditions/waypoint-not-ready.yaml", NAME) == [
        ("IST0171", "AuthorizationPolicy default/deny-all"),
        ("IST0171", "Gateway default/waypoint"),
        ("IST0171", "HTTPRoute default/reviews"),
        ("IST0171", "Service default/reviews"),
    ]


def test_suppression_annotation(analyze):
    text = with_status("Gateway", {"conditions": [cond("Programmed", "False")]}).replace(
        "generation: 1}", "generation: 1, annotations: {galley.istio.io/analyze-suppress: '*'}}")
    assert analyze(text, NAME) == []


def test_kinds_the_source_cannot_provide(tmp_path):
    text = with_status("Gateway", {"conditions": [cond("Programmed", "False")]}) + with_status(
        "HTTPRoute", parents(cond("Accepted", "False")))
    assert analyze_without(tmp_path, text, NAME, (K.GATEWAY,)) == [("IST0171", "HTTPRoute apps/x")]
