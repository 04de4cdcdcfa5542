"""Two kind clusters linked into one multi-network ambient mesh: shared CA, install with distinct cluster
names and networks and one meshID, `multicluster link --expose`, `multicluster check`, `unlink`.

kind has no LoadBalancer implementation, so the east-west gateways get no address there: the checks about
that address may fail, and nothing else may. Peers reach each other's API server at the node's address on
the container network (kind's kubeconfig names 127.0.0.1, which only the host can use)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def meshctl(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meshctl", *args], capture_output=True, text=True, timeout=timeout)


def node_address(cluster: str) -> str:
    """The control-plane node's address on kind's container network (in the API server certificate)."""
    engine = shutil.which("docker") or shutil.which("podman")
    out = subprocess.run([engine, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                          f"{cluster}-control-plane"], capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.split()[0]


def only_gateway_address_failures(report: list[dict]) -> list[str]:
    """Names of failed checks that are not about the east-west gateway's address (none expected)."""
    failed = [c for category in report for c in category["checks"] if c["status"] == "failure"]
    return [c["name"] for c in failed if "east-west" not in c["name"]]


def test_link_two_kind_clusters(kind_clusters, istio_release, tmp_path):
    artifacts = str(istio_release.artifacts)  # shared/data/upstream, or a bundle meshctl pulled (MESHCTL_E2E_DOWNLOAD=1)
    (a, b), names = kind_clusters[:2], ("east", "west")
    kc = ["--kubeconfig", str(a.kubeconfig)]  # the fixture exports both contexts into one file
    ca_dir = tmp_path / "ca"
    made = meshctl("ca", "generate", "--cluster", "east", "--cluster", "west", "--key-type", "ec-p256",
                   "-o", str(ca_dir))
    assert made.returncode == 0, made.stderr
    for cluster, name in zip((a, b), names):
        target = [*kc, "--context", cluster.context]
        subprocess.run(["kubectl", "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context, "apply",
                        "--server-side", "-f", str(istio_release.gateway_api)], check=True, capture_output=True, timeout=300)
        # cacerts before istiod starts, so istiod signs with the shared root from the beginning
        trust = meshctl("ca", "install", "-y", "--cluster", name, "--from", str(ca_dir), "--restart", *target)
        assert trust.returncode == 0, trust.stderr
        installed = meshctl("install", "-y", "--artifacts", artifacts, *target,
                            "--set", "values.global.meshID=mesh1",
                            "--set", f"values.global.multiCluster.clusterName={name}",
                            "--set", f"values.global.network=net-{name}")
        assert installed.returncode == 0, installed.stderr

    servers = [f"--server={c.context}=https://{node_address(c.name)}:6443" for c in (a, b)]
    contexts = ["--context", a.context, "--context", b.context]
    linked = meshctl("multicluster", "link", "--expose", "-y", "--artifacts", artifacts, *servers, *contexts, *kc)
    assert "Traceback" not in linked.stderr
    assert "nothing was changed" not in linked.stderr, linked.stderr  # the preflight passed
    for source, peer in (("east", "west"), ("west", "east")):  # each istiod's credentials work on its peer
        assert f"\u2714 {source} reads {peer} through a remote secret" in linked.stdout, linked.stdout + linked.stderr

    check = meshctl("multicluster", "check", "-o", "json", *contexts, *kc)
    report = json.loads(check.stdout)
    assert only_gateway_address_failures(report) == [], check.stdout

    again = meshctl("multicluster", "link", "-y", *servers, *contexts, *kc)
    assert "nothing to change" in again.stderr, again.stderr

    gone = meshctl("multicluster", "unlink", "-y", *contexts, *kc)
    assert gone.returncode == 0, gone.stderr
    for cluster in (a, b):
        left = subprocess.run(["kubectl", "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context,
                               "-n", "istio-system", "get", "secrets", "-l", "istio/multiCluster=true", "-o", "name"],
                              capture_output=True, text=True, check=True, timeout=60)
        assert left.stdout.strip() == ""
    for cluster in (a, b):
        meshctl("uninstall", "--purge", "-y", "--force", *kc, "--context", cluster.context)
