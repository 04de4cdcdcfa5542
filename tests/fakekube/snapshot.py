"""Load a meshctl snapshot (docs/snapshot-format.md) into fake clusters."""

from __future__ import annotations

import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .cluster import FakeKube
from .meta import plain

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CRD_FILE = "customresourcedefinitions.apiextensions.k8s.io.yaml"


@dataclass
class SeedReport:
    loaded: int = 0
    skipped: list[str] = field(default_factory=list)  # "<file>: <kind> <name>: <why>"


def _load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return plain(yaml.load(f, Loader=_LOADER))


def _items(path: Path) -> list[dict[str, Any]]:
    doc = _load_yaml(path) or {}
    return [i for i in (doc.get("items") or []) if isinstance(i, dict)]


def seed_from_snapshot(kube: FakeKube, cluster_dir: str | Path) -> SeedReport:
    """Add every object of one snapshot cluster folder to ``kube``: CRDs first (registering their
    kinds), then namespaces, then everything else. Objects of kinds the server does not serve are
    skipped and listed in the report. The cluster's ``serverVersion`` becomes ``kube.version``."""
    cluster_dir = Path(cluster_dir)
    report = SeedReport()
    meta_file = cluster_dir / "meta.yaml"
    if meta_file.exists():
        info = _load_yaml(meta_file) or {}
        version = str(info.get("serverVersion") or "")
        if version.startswith("v") and version.count(".") >= 1:
            major, minor = version[1:].split(".")[:2]
            kube.version = {**kube.version, "major": major, "minor": minor, "gitVersion": version}

    files = sorted(p for p in cluster_dir.glob("*.yaml") if p.name != "meta.yaml")
    order = [p for p in files if p.name == CRD_FILE] + [p for p in files if p.name == "namespaces.yaml"] + \
            [p for p in files if p.name not in (CRD_FILE, "namespaces.yaml")]
    for path in order:
        for obj in _items(path):
            if obj.get("kind") == "CustomResourceDefinition":
                _restore_status_subresource(obj)
            try:
                kube.add(obj)
                report.loaded += 1
            except (KeyError, ValueError) as e:
                name = (obj.get("metadata") or {}).get("name", "?")
                report.skipped.append(f"{path.name}: {obj.get('kind')} {name}: {e}")
    return report


def _restore_status_subresource(crd: dict[str, Any]) -> None:
    """Snapshots drop CRD schemas and subresources; nearly every real CRD (Gateway API, Istio)
    has a status subresource, so assume it unless the snapshot says otherwise."""
    for version in (crd.get("spec") or {}).get("versions") or []:
        version.setdefault("subresources", {"status": {}})


def snapshot_clusters(snapshot: str | Path) -> tuple[list[Path], tempfile.TemporaryDirectory | None]:
    """The cluster folders of a snapshot directory or .tar.gz, in meta.yaml's order. For an
    archive, also the temporary directory it was unpacked into (keep it alive while in use)."""
    root = Path(snapshot)
    tmp = None
    if root.is_file():
        tmp = tempfile.TemporaryDirectory(prefix="fakekube-snapshot-")
        with tarfile.open(root) as tar:
            try:
                tar.extractall(tmp.name, filter="data")  # refuses paths escaping the folder
            except TypeError:  # Pythons before 3.11.4 have no extraction filters
                tar.extractall(tmp.name)
        root = Path(tmp.name)
        if not (root / "meta.yaml").exists():
            inner = [p for p in root.iterdir() if p.is_dir()]
            if len(inner) == 1:
                root = inner[0]
    meta_file = root / "meta.yaml"
    if not meta_file.exists():
        raise FileNotFoundError(f"{snapshot}: no meta.yaml; not a meshctl snapshot")
    clusters = (_load_yaml(meta_file) or {}).get("clusters") or []
    dirs = [root / str(c) for c in clusters]
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        print(f"fakekube: snapshot lists clusters without folders: {missing}", file=sys.stderr)
    return [d for d in dirs if d.is_dir()], tmp
