"""meshnetworks.MeshNetworksAnalyzer: IST0126 for a MeshNetworks endpoint naming an unknown registry."""

import pytest

from meshctl.analysis.run import run_analysis, select_analyzers
from meshctl.kube import kinds as K
from meshctl.kube.files import load_files
from tests.analysis.conftest import analyze_without

ANALYZER = "meshnetworks.MeshNetworksAnalyzer"
ORIGIN = "MeshNetworks istio-system/meshnetworks"

REMOTE_SECRET = """
apiVersion: v1
kind: Secret
metadata:
  name: istio-remote-secret-cluster2
  namespace: istio-system
  labels: {istio/multiCluster: "true"}
data: {cluster2: ""}
"""

ISTIOD = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system, labels: {app: istiod}}
spec:
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec:
      containers:
      - name: discovery
        image: registry.istio.io/release/pilot:1.30.3
        env: [{name: CLUSTER_ID, value: cluster1}]
"""

UNRELATED_SECRET = """
apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: istio-system}
data: {cluster3: ""}
"""


def networks(*registries, cidr=False):
    endpoints = [{"fromRegistry": r} for r in registries] + ([{"fromCidr": "10.0.0.0/8"}] if cidr else [])
    return {"networks": {"network1": {"endpoints": endpoints, "gateways": [{"address": "1.2.3.4", "port": 15443}]}}}


@pytest.mark.parametrize("text, mesh_networks, expected", [
    ("", networks("Kubernetes"), []),
    ("", networks("External", "Mock", cidr=True), []),
    ("", networks("cluster9"), [("IST0126", ORIGIN)]),
    ("", networks("cluster9", "cluster8"), [("IST0126", ORIGIN)] * 2),
    (REMOTE_SECRET, networks("cluster2"), []),
    (UNRELATED_SECRET, networks("cluster3"), [("IST0126", ORIGIN)]),
    (ISTIOD, networks("cluster1"), []),
    ("", {}, []),
    ("", {"networks": {}}, []),
], ids=["kubernetes", "builtins-and-cidr", "unknown", "two-unknown", "remote-secret", "unlabelled-secret",
        "local-cluster-id", "no-mesh-networks", "no-networks"])
def test_registries(analyze, text, mesh_networks, expected):
    source = text or "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
    assert analyze(source, ANALYZER, mesh_configs=[({}, mesh_networks)]) == expected


def test_message_names_registry_and_network(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    [message] = run_analysis([load_files([str(path)])], select_analyzers([ANALYZER]),
                             mesh_configs=[({}, networks("cluster9"))]).messages
    assert message.text == "Network network1 names service registry cluster9, which is not a known cluster."


def test_without_secrets_remote_clusters_are_unknown_so_nothing_is_reported(tmp_path):
    text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
    assert analyze_without(tmp_path, text, ANALYZER, (K.SECRET,), mesh_configs=[({}, networks("cluster9"))]) == []
