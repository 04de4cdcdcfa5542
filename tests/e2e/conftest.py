"""End-to-end fixtures: real kind clusters, created once per session where kind and a container engine exist.

Set MESHCTL_E2E_KEEP=1 to keep the clusters after the run (they are reused by name next time).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CLUSTERS = ("meshctl-e2e-1", "meshctl-e2e-2")


def _engine_problem() -> str | None:
    if shutil.which("kind") is None:
        return "kind is not installed (https://kind.sigs.k8s.io); end-to-end tests run on the hosted CI runner"
    for engine in ("docker", "podman"):
        if shutil.which(engine) is None:
            continue
        probe = subprocess.run([engine, "info"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return None
    return "no working container engine (docker info / podman info failed); kind cannot start clusters here"


@dataclass(frozen=True)
class KindCluster:
    name: str
    context: str
    kubeconfig: Path


@pytest.fixture(scope="session")
def kind_clusters(tmp_path_factory) -> list[KindCluster]:
    problem = _engine_problem()
    if problem:
        pytest.skip(problem)
    kubeconfig = tmp_path_factory.mktemp("kind") / "kubeconfig"
    existing = set(subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True).stdout.split())
    created = []
    for name in CLUSTERS:
        if name not in existing:
            subprocess.run(["kind", "create", "cluster", "--name", name, "--wait", "120s"], check=True, timeout=600)
            created.append(name)
        subprocess.run(["kind", "export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)],
                       check=True, timeout=60)
    yield [KindCluster(n, f"kind-{n}", kubeconfig) for n in CLUSTERS]
    if os.environ.get("MESHCTL_E2E_KEEP") != "1":
        for name in created:
            subprocess.run(["kind", "delete", "cluster", "--name", name], check=False, timeout=300)
