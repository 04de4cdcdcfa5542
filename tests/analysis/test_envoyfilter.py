"""envoyfilter.EnvoyPatchAnalyzer: IST0151-IST0155 for EnvoyFilter patch operations."""

from __future__ import annotations

import pytest

from meshctl.kube import kinds as K
from tests.analysis.conftest import analyze_without

NAME = "envoyfilter.EnvoyPatchAnalyzer"
ORIGIN = "EnvoyFilter apps/f"


def envoy_filter(*patches, priority=None, name="f", annotations="{}"):
    prio = f"\n  priority: {priority}" if priority is not None else ""
    body = "".join(f"\n  - {p}" for p in patches)
    return f"""
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {{name: {name}, namespace: apps, annotations: {annotations}}}
spec:{prio}
  configPatches:{body}
"""


def patch(operation, apply_to, name="envoy.lua", match="{context: SIDECAR_INBOUND}"):
    value = f", value: {{name: {name}}}" if name else ""
    return f"{{applyTo: {apply_to}, match: {match}, patch: {{operation: {operation}{value}}}}}"


CASES = [
    ("ADD on HTTP_ROUTE is ignored", [patch("ADD", "HTTP_ROUTE")], None, ["IST0153"]),
    ("ADD on ROUTE_CONFIGURATION is ignored", [patch("ADD", "ROUTE_CONFIGURATION")], None, ["IST0153"]),
    ("ADD on HTTP_FILTER", [patch("ADD", "HTTP_FILTER")], None, []),
    ("REMOVE on HTTP_ROUTE is ignored", [patch("REMOVE", "HTTP_ROUTE")], None, ["IST0154"]),
    ("REMOVE is relative", [patch("REMOVE", "HTTP_FILTER")], None, ["IST0151"]),
    ("REPLACE on CLUSTER is invalid", [patch("REPLACE", "CLUSTER")], None, ["IST0152"]),
    ("REPLACE on NETWORK_FILTER is relative", [patch("REPLACE", "NETWORK_FILTER")], None, ["IST0151"]),
    ("INSERT_BEFORE is relative", [patch("INSERT_BEFORE", "HTTP_FILTER")], None, ["IST0151"]),
    ("INSERT_AFTER is relative", [patch("INSERT_AFTER", "HTTP_FILTER")], None, ["IST0151"]),
    ("a priority orders relative operations", [patch("INSERT_BEFORE", "HTTP_FILTER")], 10, []),
    ("a negative priority too", [patch("REMOVE", "HTTP_FILTER")], -5, []),
    ("INSERT_FIRST is absolute", [patch("INSERT_FIRST", "HTTP_FILTER")], None, []),
    ("MERGE is absolute", [patch("MERGE", "CLUSTER")], None, []),
    ("every patch is checked", [patch("ADD", "HTTP_ROUTE"), patch("INSERT_AFTER", "HTTP_FILTER")], None,
     ["IST0151", "IST0153"]),
    ("checking stops at a patch without a patch section",
     ["{applyTo: HTTP_FILTER}", patch("ADD", "HTTP_ROUTE")], None, []),
    ("same filter pinned to a proxy version earlier in the list",
     [patch("INSERT_BEFORE", "HTTP_FILTER", match="{proxy: {proxyVersion: '^1\\.30.*'}}"),
      patch("INSERT_AFTER", "HTTP_FILTER")], None, ["IST0151", "IST0155"]),
    ("a pinned patch of another filter does not count",
     [patch("MERGE", "HTTP_FILTER", name="envoy.router", match="{proxy: {proxyVersion: '^1\\.30.*'}}"),
      patch("INSERT_AFTER", "HTTP_FILTER")], None, ["IST0151"]),
]


@pytest.mark.parametrize("patches, priority, codes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_envoy_filter_patches(analyze, patches, priority, codes):
    assert analyze(envoy_filter(*patches, priority=priority), NAME) == [(c, ORIGIN) for c in codes]


def test_name_from_the_matched_listener_filter(analyze):
    listener = "{proxy: {proxyVersion: '1.30'}, listener: {filterChain: {filter: {name: envoy.hcm}}}}"
    first = patch("MERGE", "NETWORK_FILTER", name=None, match=listener).replace("operation: MERGE",
                                                                               "operation: MERGE, value: {a: 1}")
    second = patch("REPLACE", "NETWORK_FILTER", name=None, match="{listener: {filterChain: {filter: {name: envoy.hcm}}}}"
                   ).replace("operation: REPLACE", "operation: REPLACE, value: {b: 2}")
    assert analyze(envoy_filter(first, second), NAME) == [("IST0155", ORIGIN)]


def test_testdata_scenario_across_filters(analyze):
    assert analyze("envoyfilter/proxy-version.yaml", NAME) == [
        ("IST0151", "EnvoyFilter apps/a-lua-130"),
        ("IST0155", "EnvoyFilter apps/b-lua"),
    ]


def test_suppression_annotation(analyze):
    text = envoy_filter(patch("ADD", "HTTP_ROUTE"), patch("REMOVE", "HTTP_FILTER"),
                        annotations="{galley.istio.io/analyze-suppress: IST0153}")
    assert analyze(text, NAME) == [("IST0151", ORIGIN)]


def test_kind_the_source_cannot_provide(tmp_path):
    text = envoy_filter(patch("ADD", "HTTP_ROUTE"))
    assert analyze_without(tmp_path, text, NAME, ()) == [("IST0153", ORIGIN)]
    assert analyze_without(tmp_path, text, NAME, (K.ENVOY_FILTER,)) == []
