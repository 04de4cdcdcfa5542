"""Load and save snapshots (format: docs/snapshot-format.md).

Loading is lazy: a kind's file is parsed the first time that kind is read, so a command that reads
five kinds does not pay for fifty.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from meshctl import __version__
from meshctl.errors import InputError, MeshctlError, NotCapturedError, UsageError
from meshctl.kube import kinds as K
from meshctl.kube.files import decode, parse_yaml_documents
from meshctl.kube.kinds import Kind
from meshctl.kube.state import ClusterState, IndexedObjects, Resource, SourceInfo
from meshctl.kube.yamlio import dump

FORMAT = "meshctl.dev/snapshot/v1"
META = "meta.yaml"
LIST_API_VERSION = "v1"
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # refuse absurd archive members rather than exhaust memory
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _is_archive(path: str) -> bool:
    return path.endswith((".tar.gz", ".tgz"))


# ---------------------------------------------------------------------------------------------
# Reading


class _Reader:
    """Reads named files from a snapshot directory or archive."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._members: dict[str, bytes] | None = None
        if _is_archive(path):
            self._members = self._read_archive(path)
        elif not Path(path).is_dir():
            if Path(path).exists():
                raise InputError(
                    f"{path}: not a snapshot (expected a directory or a .tar.gz archive)",
                    hint="create one with 'meshctl snapshot save -o DIR'",
                )
            raise UsageError(f"{path}: no such snapshot", hint="check the path given to --snapshot")

    @staticmethod
    def _read_archive(path: str) -> dict[str, bytes]:
        members: dict[str, bytes] = {}
        try:
            with tarfile.open(path, "r:gz") as tar:
                for info in tar:
                    if not info.isfile():
                        continue
                    if info.size > MAX_MEMBER_BYTES:
                        raise InputError(f"{path}: member {info.name} is too large", hint="not a meshctl snapshot")
                    handle = tar.extractfile(info)
                    if handle is not None:
                        members[os.path.normpath(info.name)] = handle.read()
        except (tarfile.TarError, OSError, EOFError) as err:
            raise InputError(f"{path}: cannot read archive: {err}", hint="is it a .tar.gz made by meshctl?") from None
        # Accept archives with the files at the root or inside one top-level folder.
        if META not in members:
            tops = {name.split(os.sep, 1)[0] for name in members}
            if len(tops) == 1:
                top = tops.pop() + os.sep
                members = {name[len(top):]: data for name, data in members.items() if name.startswith(top)}
        return members

    def read(self, rel: str) -> bytes | None:
        if self._members is not None:
            return self._members.get(os.path.normpath(rel))
        try:
            return (Path(self.path) / rel).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise InputError(f"{self.path}/{rel}: cannot read: {err.strerror}", hint="check permissions") from None

    def read_yaml(self, rel: str) -> Any:
        raw = self.read(rel)
        if raw is None:
            return None
        name = f"{self.path}/{rel}"
        docs = [d.data for d in parse_yaml_documents(decode(raw, name), name)]
        return docs[0] if len(docs) == 1 else None


@dataclass(frozen=True)
class ClusterMeta:
    cluster: str
    context: str = ""
    server: str = ""
    server_version: str = ""
    captured: str = ""
    kinds: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "context": self.context,
            "server": self.server,
            "serverVersion": self.server_version,
            "captured": self.captured,
            "kinds": list(self.kinds),
            "missing": list(self.missing),
        }


class SnapshotState:
    """One cluster of a snapshot, as a ClusterState."""

    def __init__(self, reader: _Reader, folder: str, meta: ClusterMeta, label: str) -> None:
        self._reader = reader
        self._folder = folder
        self.meta = meta
        self.info = SourceInfo(
            "snapshot", label, meta.cluster, meta.context, meta.server, meta.server_version
        )
        self._captured = set(meta.kinds)
        self._objects = IndexedObjects()

    def serves(self, kind: Kind) -> bool:
        return kind.resource in self._captured

    def _load(self, kind: Kind) -> None:
        if self._objects.has_kind(kind):
            return
        if kind.resource not in self._captured:
            why = "the cluster does not serve it" if kind.resource in self.meta.missing else "not captured"
            raise NotCapturedError(
                kind.qualified_kind,
                f"snapshot {self.info.label} (cluster {self.meta.cluster}: {why})",
                hint="take a new snapshot with 'meshctl snapshot save' if the cluster has it now",
            )
        rel = f"{self._folder}/{kind.resource}.yaml"
        raw = self._reader.read(rel)
        resources: list[Resource] = []
        if raw is not None:
            name = f"{self.info.label}/{rel}"
            for doc in parse_yaml_documents(decode(raw, name), name, item_lines=False):
                resources.append(_snapshot_resource(doc.data, kind, name))
        self._objects.set_kind(kind, resources)

    def list(self, kind: Kind, namespace: str | None = None, *, labels: Mapping[str, str] | None = None):
        self._load(kind)
        return self._objects.select(kind, namespace, labels)

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Resource | None:
        self._load(kind)
        return self._objects.find(kind, name, namespace)


@dataclass(frozen=True)
class ClusterContents:
    meta: ClusterMeta
    counts: tuple[tuple[Kind, int], ...]  # captured kinds, in registry order


def contents(state: SnapshotState) -> ClusterContents:
    """How many objects of each captured kind a snapshot cluster holds."""
    captured = set(state.meta.kinds)
    counts = tuple((kind, len(state.list(kind))) for kind in K.SNAPSHOT_KINDS if kind.resource in captured)
    return ClusterContents(state.meta, counts)


def _snapshot_resource(data: Any, kind: Kind, where: str) -> Resource:
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
        raise InputError(f"{where}: an item is not a Kubernetes object", hint="the snapshot is damaged")
    return Resource(data, kind)


@dataclass
class Snapshot:
    path: str
    meshctl_version: str
    created: str
    clusters: list[SnapshotState] = field(default_factory=list)

    def select(self, names: Iterable[str] = ()) -> list[SnapshotState]:
        """Clusters by cluster or context name (all when none are named)."""
        names = list(names)
        if not names:
            return list(self.clusters)
        chosen = []
        for n in names:
            match = [c for c in self.clusters if n in (c.meta.cluster, c.meta.context)]
            if not match:
                known = ", ".join(c.meta.cluster for c in self.clusters)
                raise UsageError(
                    f"snapshot {self.path} has no cluster or context {n!r}",
                    hint=f"it holds: {known}",
                )
            chosen.append(match[0])
        return chosen


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: expected a list of names", hint="the snapshot metadata is damaged")
    return tuple(value)


def load_snapshot(path: str) -> Snapshot:
    reader = _Reader(path)
    top = reader.read_yaml(META)
    if not isinstance(top, dict) or top.get("format") != FORMAT:
        raise InputError(
            f"{path}: not a meshctl snapshot (no {META} with format {FORMAT})",
            hint="create one with 'meshctl snapshot save -o DIR'",
        )
    snap = Snapshot(path, str(top.get("meshctlVersion", "")), str(top.get("created", "")))
    for folder in _str_list(top.get("clusters"), f"{path}/{META}: clusters"):
        meta_path = f"{folder}/{META}"
        raw = reader.read_yaml(meta_path)
        if not isinstance(raw, dict):
            raise InputError(f"{path}/{meta_path}: missing or not a mapping", hint="the snapshot is damaged")
        meta = ClusterMeta(
            cluster=str(raw.get("cluster") or folder),
            context=str(raw.get("context") or ""),
            server=str(raw.get("server") or ""),
            server_version=str(raw.get("serverVersion") or ""),
            captured=str(raw.get("captured") or ""),
            kinds=_str_list(raw.get("kinds"), f"{path}/{meta_path}: kinds"),
            missing=_str_list(raw.get("missing"), f"{path}/{meta_path}: missing"),
        )
        snap.clusters.append(SnapshotState(reader, folder, meta, path))
    if not snap.clusters:
        raise InputError(f"{path}: the snapshot holds no clusters", hint="take it again with 'meshctl snapshot save'")
    return snap


# ---------------------------------------------------------------------------------------------
# Writing


def scrub(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of an object fit to store: no secret values, no managedFields, no CRD schemas."""
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if annotations and LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    out["metadata"] = meta
    if kind == K.SECRET:
        for key in ("data", "stringData"):
            if isinstance(out.get(key), dict):
                out[key] = {k: "" for k in out[key]}
    elif kind == K.CRD:
        spec = dict(out.get("spec") or {})
        spec["versions"] = [
            {k: v[k] for k in ("name", "served", "storage") if k in v}
            for v in spec.get("versions") or []
            if isinstance(v, dict)
        ]
        spec.pop("validation", None)
        out["spec"] = spec
    return out


def _item(kind: Kind, res: Resource) -> dict[str, Any]:
    obj = scrub(kind, res.raw)
    # The API server leaves apiVersion/kind off list items; a snapshot keeps them on each object.
    head = {"apiVersion": obj.get("apiVersion") or kind.api_version, "kind": obj.get("kind") or kind.kind}
    return head | {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}


def _sort_key(res: Resource) -> tuple[str, str]:
    return (res.namespace, res.name)


@dataclass(frozen=True)
class SavedCluster:
    meta: ClusterMeta
    counts: dict[str, int]  # resource name -> objects captured
    files: dict[str, str] = field(repr=False)  # file name -> text


def capture(
    state: ClusterState,
    cluster_name: str,
    kinds: Iterable[Kind] = K.SNAPSHOT_KINDS,
    progress: Callable[[str], None] | None = None,
    now: str | None = None,
) -> SavedCluster:
    """Read every kind from a state; return its metadata, counts and the files to write."""
    captured, missing, files, counts = [], [], {}, {}
    for kind in kinds:
        if not state.serves(kind):
            missing.append(kind.resource)
            continue
        if progress:
            progress(f"{state.info.cluster}: {kind.resource}")
        try:
            items = sorted(state.list(kind), key=_sort_key)
        except NotCapturedError:
            missing.append(kind.resource)
            continue
        captured.append(kind.resource)
        counts[kind.resource] = len(items)
        doc = {"apiVersion": LIST_API_VERSION, "kind": "List", "items": [_item(kind, r) for r in items]}
        files[f"{kind.resource}.yaml"] = dump(doc)
    info = state.info
    meta = ClusterMeta(
        cluster=cluster_name,
        context=info.context,
        server=info.server,
        server_version=info.server_version,
        captured=now or _now(),
        kinds=tuple(captured),
        missing=tuple(missing),
    )
    files[META] = dump(meta.to_dict())
    return SavedCluster(meta, counts, files)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def folder_names(cluster_names: list[str]) -> list[str]:
    """One folder per cluster; duplicate cluster names (two contexts, one cluster) get a suffix."""
    names: list[str] = []
    for cluster in cluster_names:
        base = _safe_name(cluster)
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip(".")
    return cleaned or "cluster"


def save_snapshot(
    states: list[ClusterState],
    out: str,
    *,
    names: list[str] | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[SavedCluster]:
    """Write a snapshot of every state to ``out`` (a directory, or a .tar.gz archive).

    Safe to re-run: the snapshot is built in a temporary place and moved over ``out`` at the end;
    an existing meshctl snapshot there is replaced, anything else is left alone unless ``force``.
    """
    _check_target(out, force)
    now = _now()
    cluster_names = names or [s.info.cluster or s.info.context or "cluster" for s in states]
    folders = folder_names(cluster_names)
    files: dict[str, str] = {}
    saved: list[SavedCluster] = []
    for state, cluster_name, folder in zip(states, cluster_names, folders):
        cluster = capture(state, cluster_name, progress=progress, now=now)
        files.update({f"{folder}/{name}": text for name, text in cluster.files.items()})
        saved.append(cluster)
    files[META] = dump(
        {"format": FORMAT, "meshctlVersion": __version__, "created": now, "clusters": folders}
    )
    if _is_archive(out):
        _write_archive(out, files)
    else:
        _write_directory(out, files)
    return saved


def _check_target(out: str, force: bool) -> None:
    target = Path(out)
    if not target.exists() or force:
        return
    if target.is_dir():
        if not any(target.iterdir()) or (target / META).is_file():
            return
        raise UsageError(
            f"{out}: directory exists and is not a meshctl snapshot",
            hint="choose another path, or pass --force to replace it",
        )
    if _is_archive(out):
        return
    raise UsageError(f"{out}: file exists", hint="choose another path, or pass --force to replace it")


def _write_directory(out: str, files: dict[str, str]) -> None:
    target = Path(out).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise MeshctlError(f"{out}: cannot write snapshot: {err.strerror}", hint="check the path and free space") from None


def _write_archive(out: str, files: dict[str, str]) -> None:
    target = Path(out).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    top = target.name.removesuffix(".tar.gz").removesuffix(".tgz") or "snapshot"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
            for rel in sorted(files):
                data = files[rel].encode("utf-8")
                info = tarfile.TarInfo(f"{top}/{rel}")
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp_name, target)
    except OSError as err:
        Path(tmp_name).unlink(missing_ok=True)
        raise MeshctlError(f"{out}: cannot write snapshot: {err.strerror}", hint="check the path and free space") from None

