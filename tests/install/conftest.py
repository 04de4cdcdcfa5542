"""Fixtures for install tests: release files an install reads, built small (the real ones are in
shared/data/upstream, which CI machines do not have)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.fakekube import FakeKube, write_kubeconfig

ISTIO_VERSION = "1.30.3"
TEMPLATE_FILES = ("injection-template.yaml", "gateway-injection-template.yaml", "grpc-simple.yaml",
                  "grpc-agent.yaml", "waypoint.yaml", "kube-gateway.yaml", "agentgateway.yaml")


def istio_crd(plural: str, kind: str, group: str) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}", "labels": {"app": "istio-pilot"},
                         "annotations": {"helm.sh/resource-policy": "keep"}},
            "spec": {"group": group, "scope": "Namespaced", "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}}


def _tgz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_release_files(folder: Path, version: str = ISTIO_VERSION) -> Path:
    """base-V.tgz with two Istio CRDs and istiod-V.tgz with the injection templates (placeholders)."""
    folder.mkdir(parents=True, exist_ok=True)
    crds = [istio_crd("destinationrules", "DestinationRule", "networking.istio.io"),
            istio_crd("authorizationpolicies", "AuthorizationPolicy", "security.istio.io")]
    crd_text = "".join(f"---\n{yaml.safe_dump(c)}" for c in crds).encode()
    (folder / f"base-{version}.tgz").write_bytes(_tgz({"base/Chart.yaml": b"name: base\n",
                                                        "base/files/crd-all.gen.yaml": crd_text}))
    templates = {f"istiod/files/{name}": f"# {name} (a stand-in for Istio's template)\n".encode()
                 for name in TEMPLATE_FILES}
    (folder / f"istiod-{version}.tgz").write_bytes(_tgz({"istiod/Chart.yaml": b"name: istiod\n", **templates}))
    return folder


@pytest.fixture
def release_files(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MESHCTL_CACHE_DIR", str(tmp_path / "cache"))
    write_release_files(tmp_path / "release", "1.29.8")
    return write_release_files(tmp_path / "release")


NODE = {"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/os": "linux", "kubernetes.io/hostname": "node-1"}},
        "status": {"nodeInfo": {"operatingSystem": "linux"}, "conditions": [{"type": "Ready", "status": "True"}]}}


@contextmanager
def fake_cluster(tmp_path: Path) -> Iterator[tuple[FakeKube, Path]]:
    """A fake API server an install can go into (Kubernetes 1.33, one Linux node, simulated
    controllers), and a kubeconfig for it."""
    kube = FakeKube(name="c1", controllers=True)
    kube.version = dict(kube.version, major="1", minor="33", gitVersion="v1.33.1")
    with kube:
        kube.add(NODE)
        yield kube, write_kubeconfig(tmp_path / "kc.yaml", [kube])


def istiod_env(kube: FakeKube, name: str = "istiod") -> dict[str, str]:
    """The env of an istiod Deployment as stored in the fake API server."""
    obj = kube.get_object("deployments.apps", name, "istio-system")
    [container] = obj["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in container.get("env") or []}


def istio_release_inputs() -> tuple[list[dict], dict[str, str]] | None:
    """Istio 1.30.3's CRDs and injection templates, read straight from the release archives in
    shared/data/upstream; None where those are absent (CI machines)."""
    from meshctl.kube.files import parse_yaml_documents
    from tests.conftest import UPSTREAM

    base, istiod = UPSTREAM / "base-1.30.3.tgz", UPSTREAM / "istiod-1.30.3.tgz"
    if not (base.is_file() and istiod.is_file()):
        return None
    with tarfile.open(istiod) as tar:
        templates = {m.name.rsplit("/", 1)[1]: tar.extractfile(m).read().decode()
                     for m in tar.getmembers() if m.isfile() and m.name.startswith("istiod/files/")}
    with tarfile.open(base) as tar:
        text = tar.extractfile("base/files/crd-all.gen.yaml").read().decode()
    crds = [d.data for d in parse_yaml_documents(text, "crd-all.gen.yaml", item_lines=False) if d.data]
    return crds, templates
