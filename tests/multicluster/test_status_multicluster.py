"""`meshctl multicluster status`: the link matrix and the per-cluster rows, live (three fake clusters)
and from the demo snapshot."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import DEMO
from tests.multicluster.test_check_multicluster import CLUSTERS, NS, READER_TOKEN_SECRET, linked_clusters, short_root


@pytest.fixture
def linked(tmp_path):
    with linked_clusters(tmp_path) as clusters:
        yield clusters


def matrix(out: str) -> dict[tuple[str, str], str]:
    """{(row, column): cell} of the LINKS table."""
    lines = out.split("\n\n")[0].splitlines()
    columns = lines[0].split()[1:]
    return {(row.split()[0], col): cell for row in lines[1:] for col, cell in zip(columns, row.split()[1:])}


def rows(out: str) -> dict[str, list[str]]:
    table = out.split("\n\n")[-1].splitlines()
    assert table[0].split() == ["CLUSTER", "CONTEXT", "NETWORK", "MESH", "ID", "EAST-WEST", "ADDRESS", "PROGRAMMED",
                                "ISTIOD", "ROOT"]
    return {line.split()[0]: line.split() for line in table[1:]}


def test_linked_clusters(cli, linked):
    r = cli("multicluster", "status", *linked.args())
    assert r.code == 0 and r.err == "", r.err
    cells = matrix(r.out)
    assert {cells[(a, b)] for a in CLUSTERS for b in CLUSTERS if a != b} == {"linked"}
    assert {cells[(a, a)] for a in CLUSTERS} == {"-"}
    assert rows(r.out)["west"] == ["west", "ctx-west", "net-west", "mesh1", "172.18.0.20", "True", "1.30.3",
                                   short_root()]
    assert len(r.out.split("\n\n")) == 2  # no notes when every pair is linked


def test_one_way_missing_and_broken_pairs(cli, linked):
    linked.kubes["west"].delete_object("secrets", "istio-remote-secret-east", NS)  # east-west: one-way
    linked.kubes["north"].delete_object("secrets", "istio-remote-secret-east", NS)
    linked.kubes["east"].delete_object("secrets", "istio-remote-secret-north", NS)  # east-north: missing
    linked.kubes["north"].delete_object("secrets", READER_TOKEN_SECRET, NS)  # west reads north: 401
    r = cli("multicluster", "status", *linked.args())
    assert r.code == 0
    cells = matrix(r.out)
    assert cells[("east", "west")] == cells[("west", "east")] == "one-way"
    assert cells[("east", "north")] == cells[("north", "east")] == "missing"
    assert cells[("west", "north")] == "broken"
    notes = r.out.split("\n\n")[1].splitlines()
    assert notes[0] == "east <-> west: one-way"
    assert notes[1] == "    west reads east: missing: west has no remote secret for east"
    assert "    west reads north: broken: istio-system/istio-remote-secret-north -> " in r.out
    assert "401 Unauthorized" in r.out


def test_json_and_yaml(cli, linked):
    linked.kubes["west"].delete_object("secrets", "istio-remote-secret-east", NS)
    data = json.loads(cli("multicluster", "status", *linked.args(), "-o", "json").out)
    assert set(data) == {"clusters", "links", "otherSecrets", "unreadable"}
    east = data["clusters"][0]
    assert east == {"name": "east", "context": "ctx-east", "network": "net-east", "meshID": "mesh1",
                    "eastWest": [{"namespace": NS, "name": "istio-eastwestgateway", "addresses": ["172.18.0.10"],
                                  "programmed": "True"}],
                    "istiod": ["1.30.3"], "root": east["root"], "trust": "cacerts"}
    assert east["root"].startswith(short_root())
    pairs = {tuple(p["clusters"]): p for p in data["links"]}
    assert set(pairs) == {("east", "west"), ("east", "north"), ("west", "north")}
    one_way = pairs[("east", "west")]
    assert one_way["state"] == "one-way"
    assert [(d["from"], d["to"], d["state"]) for d in one_way["directions"]] == [("east", "west", "ok"),
                                                                                ("west", "east", "missing")]
    assert one_way["directions"][0]["secret"] == f"{NS}/istio-remote-secret-west"
    assert one_way["directions"][0]["server"] == linked.kubes["west"].url
    assert yaml.safe_load(cli("multicluster", "status", *linked.args(), "-o", "yaml").out) == \
        json.loads(cli("multicluster", "status", *linked.args(), "-o", "json").out)


def test_a_cluster_that_cannot_be_read_is_a_warning(cli, linked):
    linked.kubes["north"].deny(verb="list", resource="secrets", namespace=NS)
    r = cli("multicluster", "status", *linked.args())
    assert r.code == 0
    assert r.err == "Warning: context ctx-north: not allowed to list secrets in namespace istio-system: " \
                    "secrets is forbidden: User \"fakekube-admin\" cannot list resource \"secrets\" in API group \"\" " \
                    "in the namespace \"istio-system\"\n"
    assert set(rows(r.out)) == {"east", "west"}
    # east and west still hold secrets for north: shown apart, since north was not read.
    assert "east reads north (not read here): ok: " in r.out


def test_the_demo_snapshot(cli):
    r = cli("multicluster", "status", "--snapshot", str(DEMO))
    assert r.code == 0 and r.err == ""
    cells = matrix(r.out)
    assert cells[("cluster1", "cluster2")] == "one-way"
    assert "    cluster1 reads cluster2: unknown: istio-system/istio-remote-secret-cluster2: its kubeconfig is not " \
           "in the source (snapshots keep no secret values)" in r.out
    assert "    cluster2 reads cluster1: missing: cluster2 has no remote secret for cluster1" in r.out
    assert rows(r.out)["cluster1"] == ["cluster1", "kind-cluster1", "network1", "mesh1", "172.18.0.10", "True",
                                       "1.30.3", "C1:EA:76:84:04:63:3C:29"]


def test_usage_error(cli):
    r = cli("multicluster", "status", "--snapshot", str(DEMO), "-o", "text")
    assert r.code == 2 and "--output 'text' is not one of: table, json, yaml" in r.err
