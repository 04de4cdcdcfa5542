"""A wrongly typed field never makes `meshctl topology` (every format), `waypoint list` or `waypoint
status` fail with an internal error: the field reads as absent, the command exits as documented, and
says on stderr what it ignored (issue 13, item 4).

Each case copies the demo snapshot and changes one field of one object, as a hand-edited file, a
snapshot or a CRD without a schema can hold it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DEMO

FORMATS = ("tree", "json", "dot", "mermaid", "html") + (("svg",) if shutil.which("dot") else ())

SERVICES, PODS, DEPLOYMENTS = "cluster1/services.yaml", "cluster1/pods.yaml", "cluster1/deployments.apps.yaml"
NAMESPACES, SECRETS = "cluster1/namespaces.yaml", "cluster1/secrets.yaml"
GATEWAYS = "cluster1/gateways.gateway.networking.k8s.io.yaml"
CLASSES = "cluster1/gatewayclasses.gateway.networking.k8s.io.yaml"
ROUTES = "cluster1/httproutes.gateway.networking.k8s.io.yaml"
POOLS = "cluster1/inferencepools.inference.networking.k8s.io.yaml"
LABELS = ("metadata", "labels")


def mutated(tmp_path: Path, file: str, name: str, path: tuple[str | int, ...], value: Any) -> Path:
    """The demo snapshot with ``path`` of object ``name`` in ``file`` set to ``value``."""
    snap = tmp_path / "snap"
    shutil.copytree(DEMO, snap)
    doc = yaml.safe_load((snap / file).read_text())
    target = next(item for item in doc["items"] if item["metadata"]["name"] == name)
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    (snap / file).write_text(json.dumps(doc))  # JSON is YAML, and keeps 5 apart from "5"
    return snap


def assert_handled(r, args) -> None:
    assert "internal error" not in r.err, (args, r.err)
    assert r.code == 0, (args, r.code, r.err)


# (file, object, field, value): each crashed the old code, or (the *_ignored ones) was read silently.
TOPOLOGY_CASES = {
    "service-selector-int": (SERVICES, "productpage", ("spec", "selector"), 5),
    "service-selector-list": (SERVICES, "productpage", ("spec", "selector"), [{"x": [1]}]),
    "service-ports-int": (SERVICES, "productpage", ("spec", "ports"), 5),
    "service-type-int": (SERVICES, "productpage", ("spec", "type"), 5),
    "service-use-waypoint-label-int": (SERVICES, "productpage", (*LABELS, "istio.io/use-waypoint"), 5),
    "deployment-replicas-list": (DEPLOYMENTS, "reviews-v1", ("spec", "replicas"), [1]),
    "deployment-template-string": (DEPLOYMENTS, "reviews-v1", ("spec", "template"), "1"),
    "deployment-template-labels-float": (DEPLOYMENTS, "reviews-v1", ("spec", "template", "metadata", "labels"), 1.5),
    "pod-owner-references-string": (PODS, "kube-proxy-hgktr", ("metadata", "ownerReferences"), "1"),
    "pod-owner-name-int": (PODS, "kube-proxy-hgktr", ("metadata", "ownerReferences", 0, "name"), 5),
    "pod-template-hash-label-int": (PODS, "reviews-v1-nnfpslcv6w-sbmgm", (*LABELS, "pod-template-hash"), 5),
    "namespace-use-waypoint-label-int": (NAMESPACES, "bookinfo", (*LABELS, "istio.io/use-waypoint"), 5),
    "namespace-network-label-int": (NAMESPACES, "istio-system", (*LABELS, "topology.istio.io/network"), 5),
    "secret-cluster-annotation-int": (SECRETS, "istio-remote-secret-cluster2",
                                      ("metadata", "annotations", "networking.istio.io/cluster"), 5),
    "gateway-addresses-int": (GATEWAYS, "bookinfo-gateway", ("status", "addresses"), 5),
    "waypoint-conditions-int": (GATEWAYS, "waypoint", ("status", "conditions"), 5),
    "route-parent-refs-int": (ROUTES, "llm-route", ("spec", "parentRefs"), 5),
    "route-rules-true": (ROUTES, "reviews", ("spec", "rules"), True),
    "route-backend-refs-int": (ROUTES, "reviews", ("spec", "rules", 0, "backendRefs"), 5),
    "route-backend-name-list": (ROUTES, "bookinfo", ("spec", "rules", 0, "backendRefs", 0, "name"), [1]),
    "route-backend-kind-int": (ROUTES, "bookinfo", ("spec", "rules", 0, "backendRefs", 0, "kind"), -1),
    "route-backend-weight-string": (ROUTES, "reviews", ("spec", "rules", 0, "backendRefs", 0, "weight"), "x"),
    "route-parents-string": (ROUTES, "llm-route", ("status", "parents"), "x"),
    "pool-match-labels-list": (POOLS, "vllm-llama3-8b", ("spec", "selector", "matchLabels"), [1]),
    "pool-parents-true": (POOLS, "vllm-llama3-8b", ("status", "parents"), True),
    "pool-endpoint-picker-true": (POOLS, "vllm-llama3-8b", ("spec", "endpointPickerRef"), True),
    "pool-failure-mode-int": (POOLS, "vllm-llama3-8b", ("spec", "endpointPickerRef", "failureMode"), 5),
}


@pytest.mark.parametrize("case", TOPOLOGY_CASES.values(), ids=TOPOLOGY_CASES.keys())
def test_topology_reads_a_wrong_type_as_absent(cli, tmp_path, case):
    snap = str(mutated(tmp_path, *case))
    for output in FORMATS:
        args = ("topology", "--snapshot", snap, "-A", "-o", output)
        assert_handled(cli(*args), args)


WAYPOINT = (GATEWAYS, "waypoint")
WAYPOINT_CASES = {
    "observed-generation-string": (*WAYPOINT, ("status", "conditions", 0, "observedGeneration"), "1"),
    "generation-template": (*WAYPOINT, ("metadata", "generation"), "{{ 7*7 }}"),
    "conditions-int": (*WAYPOINT, ("status", "conditions"), 5),
    "conditions-true": (*WAYPOINT, ("status", "conditions"), True),
}


@pytest.mark.parametrize("case", WAYPOINT_CASES.values(), ids=WAYPOINT_CASES.keys())
@pytest.mark.parametrize("command", [("waypoint", "list", "-A"), ("waypoint", "status", "-A"),
                                     ("waypoint", "list", "-A", "-o", "json"), ("status",)],
                         ids=["list", "status", "list-json", "mesh-status"])
def test_waypoint_commands_read_a_wrong_type_as_absent(cli, tmp_path, case, command):
    args = (*command, "--snapshot", str(mutated(tmp_path, *case)))
    r = cli(*args)
    assert "internal error" not in r.err, (args, r.err)
    assert r.code == 0, (args, r.code, r.err)


# `check` reads each GatewayClass's conditions as `waypoint status` reads a waypoint's.
CLASS_CASES = {
    "observed-generation-string": (CLASSES, "istio", ("status", "conditions", 0, "observedGeneration"), "1"),
    "generation-list": (CLASSES, "istio-waypoint", ("metadata", "generation"), [1]),
    "conditions-int": (CLASSES, "istio", ("status", "conditions"), 5),
}


@pytest.mark.parametrize("case", CLASS_CASES.values(), ids=CLASS_CASES.keys())
def test_check_reads_a_wrong_type_in_a_gateway_class_as_absent(cli, tmp_path, case):
    args = ("check", "--snapshot", str(mutated(tmp_path, *case)))
    r = cli(*args)
    assert "internal error" not in r.err, (args, r.err)
    assert r.code == 1, (args, r.code, r.err)  # the demo's planted problems fail some checks


# What was ignored is named once on stderr, also where the old code read the field without complaint.
IGNORED_CASES = {
    "service-port-template": ((SERVICES, "reviews", ("spec", "ports", 0, "port"), "{{ 7*7 }}"),
                              ("topology",), "ignored Service bookinfo/reviews: spec.ports[0].port is not an integer"),
    "service-selector-value-int": ((SERVICES, "reviews", ("spec", "selector", "app"), 7),
                                   ("topology",), "ignored Service bookinfo/reviews: spec.selector.app is not a string"),
    "gateway-conditions-map": ((GATEWAYS, "bookinfo-gateway", ("status", "conditions"), {"a": 1}),
                               ("topology",), "ignored Gateway bookinfo/bookinfo-gateway: status.conditions is not a list"),
    "waypoint-condition-status-list": ((*WAYPOINT, ("status", "conditions", 1, "status"), [1]),
                                       ("waypoint", "status", "-A"),
                                       "ignored Gateway bookinfo/waypoint: status.conditions[1].status is not a string"),
    "waypoint-observed-generation-string": ((*WAYPOINT, ("status", "conditions", 0, "observedGeneration"), "1"),
                                            ("waypoint", "list", "-A"),
                                            "ignored Gateway bookinfo/waypoint: "
                                            "status.conditions[0].observedGeneration is not an integer"),
}


@pytest.mark.parametrize("case, command, warning", IGNORED_CASES.values(), ids=IGNORED_CASES.keys())
def test_what_was_ignored_is_named_on_stderr(cli, tmp_path, case, command, warning):
    r = cli(*command, "--snapshot", str(mutated(tmp_path, *case)))
    assert r.code == 0, r.err
    assert r.err.count(warning) == 1, r.err


def test_a_wrong_type_changes_nothing_else(cli, tmp_path):
    """The rest of the graph is drawn as before: only the ignored port is gone."""
    snap = mutated(tmp_path, SERVICES, "reviews", ("spec", "ports", 0, "port"), "{{ 7*7 }}")
    before = json.loads(cli("topology", "--snapshot", str(DEMO), "-o", "json").out)
    after = json.loads(cli("topology", "--snapshot", str(snap), "-o", "json").out)
    reviews = "cluster1/Service/bookinfo/reviews"
    assert [n["details"]["ports"] for n in after["nodes"] if n["id"] == reviews] == [[]]
    assert [n for n in after["nodes"] if n["id"] != reviews] == [n for n in before["nodes"] if n["id"] != reviews]
    assert after["links"] == before["links"]
