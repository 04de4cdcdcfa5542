"""End-to-end fixtures: real kind clusters, created once per session where kind and a container engine exist,
and the Istio release files an install reads.

Set MESHCTL_E2E_KEEP=1 to keep the clusters after the run (they are reused by name next time).
The release files come from shared/data/upstream beside the repository when it is there; elsewhere (a
hosted CI runner) MESHCTL_E2E_DOWNLOAD=1 lets ``meshctl artifacts pull`` fetch them into a bundle, which
the tests then install from with ``--artifacts`` (so the air-gapped path runs too).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from meshctl.install.artifacts import gateway_api_bundle, istio_chart
from meshctl.install.versions import gateway_api_version
from tests.conftest import UPSTREAM

CLUSTERS = ("meshctl-e2e-1", "meshctl-e2e-2")
ISTIO_VERSION = "1.30.3"
DOWNLOAD_ENV = "MESHCTL_E2E_DOWNLOAD"


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


@dataclass(frozen=True)
class ReleaseFiles:
    version: str
    artifacts: Path  # what --artifacts reads: a directory of release files or a bundle from `artifacts pull`
    gateway_api: Path  # the Gateway API standard-install.yaml this Istio version pairs with


def release_file_names(version: str = ISTIO_VERSION) -> tuple[str, str, str]:
    """(base chart, istiod chart, Gateway API bundle): the release assets an install of ``version`` reads."""
    return (istio_chart("base", version).name, istio_chart("istiod", version).name,
            gateway_api_bundle(gateway_api_version(version)).name)


def pull_release_files(folder: Path, version: str = ISTIO_VERSION) -> ReleaseFiles:
    """``meshctl artifacts pull`` into ``folder``/bundle.tgz (its own cache beside it), and the Gateway API
    bundle taken out of it for kubectl. Downloads from the projects' release URLs, or from
    MESHCTL_ARTIFACT_MIRROR when set."""
    bundle = folder / "bundle.tgz"
    env = {**os.environ, "MESHCTL_CACHE_DIR": str(folder / "cache")}
    pulled = subprocess.run([sys.executable, "-m", "meshctl", "artifacts", "pull", "--istio-version", version,
                             "-o", str(bundle)], capture_output=True, text=True, timeout=900, env=env)
    if pulled.returncode != 0:
        raise RuntimeError(f"meshctl artifacts pull failed (exit {pulled.returncode}): {pulled.stderr.strip()}")
    gateway_name = release_file_names(version)[2]
    with tarfile.open(bundle) as tar:
        member = tar.extractfile(gateway_name)
        if member is None:
            raise RuntimeError(f"{bundle} holds no {gateway_name}")
        gateway_api = folder / gateway_name
        gateway_api.write_bytes(member.read())
    return ReleaseFiles(version, bundle, gateway_api)


@pytest.fixture(scope="session")
def istio_release(tmp_path_factory) -> ReleaseFiles:
    """The release files of ISTIO_VERSION: shared/data/upstream when it holds them, else (with
    MESHCTL_E2E_DOWNLOAD=1) a bundle `meshctl artifacts pull` downloads; skips otherwise."""
    names = release_file_names()
    if all((UPSTREAM / name).is_file() for name in names):
        return ReleaseFiles(ISTIO_VERSION, UPSTREAM, UPSTREAM / names[2])
    if os.environ.get(DOWNLOAD_ENV) != "1":
        pytest.skip(f"Istio {ISTIO_VERSION} release files ({', '.join(names)}) not found in {UPSTREAM}; "
                    f"set {DOWNLOAD_ENV}=1 to let meshctl download them")
    return pull_release_files(tmp_path_factory.mktemp("release"))
