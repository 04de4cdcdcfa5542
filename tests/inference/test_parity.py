"""Source parity: one inference scenario read as files, as a snapshot and from the fake API server gives
the same `inference status` answer (and exit code)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml

from meshctl.kube import kinds as K
from tests.fakekube import FakeKube
from tests.inference.conftest import CRD_KINDS, crd, find, load_docs, HEALTHY, without


def broken_docs() -> list[dict]:
    """The healthy set with three problems: a route naming the old group, a second route naming a pool
    that does not exist, and no TLS DestinationRule for the endpoint picker."""
    docs = without(load_docs(HEALTHY), "DestinationRule", "qwen3-8b-epp")
    route = find(docs, "HTTPRoute", "qwen3-8b")
    canary = json.loads(json.dumps(route))
    canary["metadata"]["name"] = "qwen3-8b-canary"
    canary["spec"]["rules"][0]["backendRefs"][0]["group"] = K.INFERENCE_X
    typo = json.loads(json.dumps(route))
    typo["metadata"]["name"] = "qwen3-8b-typo"
    typo["spec"]["rules"][0]["backendRefs"][0]["name"] = "qwen3-8b-pol"
    return docs + [canary, typo]


@pytest.fixture
def scenario(tmp_path, cli):
    """(args for files, for the snapshot, for the fake server), each reading the same objects."""
    docs = broken_docs()
    manifests = tmp_path / "scenario.yaml"
    manifests.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    snap = tmp_path / "snap"
    saved = cli("snapshot", "save", str(snap), "-f", str(manifests), "--cluster-name", "c1")
    assert saved.code == 0, saved.err
    with FakeKube(name="c1") as kube:
        kube.add_all([crd(k) for k in CRD_KINDS] + docs)
        kc = kube.write_kubeconfig(tmp_path / "kc.yaml")
        yield (["-f", str(manifests)], ["--snapshot", str(snap)], ["--kubeconfig", str(kc), "-A"]), kube


def answer(cli, args):
    result = cli("inference", "status", "-o", "json", *args)
    data = json.loads(result.out)
    for cluster in data:
        cluster.pop("cluster")  # files, snapshot and context name their cluster differently
    return result.code, data


def test_status_is_the_same_from_files_snapshot_and_api_server(cli, scenario):
    (files, snapshot, live), _ = scenario
    from_files, from_snapshot, from_live = answer(cli, files), answer(cli, snapshot), answer(cli, live)
    assert from_files == from_snapshot == from_live
    code, [data] = from_files
    assert code == 1
    assert [(p["name"], p["found"], len(p["problems"])) for p in data["pools"]] == \
        [("qwen3-8b-pol", False, 1), ("qwen3-8b-pool", True, 2)]


def test_text_is_the_same_from_files_snapshot_and_api_server(cli, scenario):
    (files, snapshot, live), _ = scenario
    texts = {cli("inference", "status", *args).out for args in (files, snapshot, live)}
    assert len(texts) == 1
    assert "qwen3-8b-pol (not found)" in texts.pop()


def test_live_reads_each_kind_once(cli, scenario):
    """Indexes are built once: one LIST per kind, never a GET per object."""
    (_, _, live), kube = scenario
    kube.clear_requests()
    assert cli("inference", "status", *live).code == 1
    lists = Counter(r.path for r in kube.requests if r.method == "GET" and "limit" in r.query)
    gets = [r.path for r in kube.requests if r.method == "GET" and "limit" not in r.query
            and r.path.count("/") > 4]  # longer than a discovery path: a GET of one object
    assert len(lists) >= 10 and max(lists.values()) == 1, lists
    assert gets == []


def test_live_reads_the_context_namespace_unless_told(cli, scenario):
    (_, _, live), _ = scenario
    kubeconfig = live[:2]
    result = cli("inference", "status", *kubeconfig)
    assert result.code == 0 and result.err.strip() == "No InferencePools found in namespace default."
    assert cli("inference", "status", *kubeconfig, "-n", "llm").code == 1
