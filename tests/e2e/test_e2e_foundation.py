"""meshctl against real kind clusters: version, snapshot save and show."""

import json
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.e2e


def meshctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meshctl", *args], capture_output=True, text=True, timeout=300)


def test_version_reads_every_cluster(kind_clusters):
    args = ["version", "-o", "json", "--kubeconfig", str(kind_clusters[0].kubeconfig)]
    for c in kind_clusters:
        args += ["--context", c.context]
    r = meshctl(*args)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [c["context"] for c in data["clusters"]] == [c.context for c in kind_clusters]
    assert all(c["serverVersion"].startswith("v1.") for c in data["clusters"])


def test_snapshot_save_and_show_round_trip(kind_clusters, tmp_path):
    out = tmp_path / "snap.tar.gz"
    args = ["snapshot", "save", str(out), "--kubeconfig", str(kind_clusters[0].kubeconfig)]
    for c in kind_clusters:
        args += ["--context", c.context]
    r = meshctl(*args)
    assert r.returncode == 0, r.stderr
    shown = json.loads(meshctl("snapshot", "show", str(out), "-o", "json").stdout)
    assert len(shown["clusters"]) == len(kind_clusters)
    for cluster in shown["clusters"]:
        assert cluster["objects"]["namespaces"] >= 4  # default, kube-system, kube-public, kube-node-lease
        assert cluster["objects"]["nodes"] >= 1
    secrets = meshctl("snapshot", "show", str(out), "--kind", "secrets", "-o", "yaml")
    for item in yaml.safe_load(secrets.stdout)["items"]:
        assert all(v == "" for v in (item.get("data") or {}).values())
