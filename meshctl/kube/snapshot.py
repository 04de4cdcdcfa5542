"""Load and save snapshots (format: docs/snapshot-format.md).

Loading is lazy: a kind's file is parsed the first time that kind is read, so a command that reads
five kinds does not pay for fifty. Snapshots are input from elsewhere, so reading is bounded (sizes,
member counts) and never follows a link, opens a FIFO or device, or leaves the snapshot; saving never
writes through a link or replaces anything but a meshctl snapshot unless told to (``force``).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import shutil
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
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
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SECRET_FIELDS = frozenset({"apiVersion", "kind", "metadata", "type", "immutable", "data", "stringData"})

# Limits on what one snapshot may hold (docs/snapshot-format.md, "Reading a snapshot safely").
# Objects average ~2 KB of YAML (pods ~6 KB), so a 45,000-object cluster is ~100 MB: these leave
# room for several such clusters, while a crafted archive or folder cannot exhaust memory or time.
MAX_FILE_BYTES = 256 * 1024 * 1024  # one <resource>.yaml: 45,000 pods alone would be ~250 MB
MAX_META_BYTES = 1024 * 1024  # a meta.yaml holds names only
MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024  # all bytes read from one snapshot (archives: uncompressed)
MAX_MEMBERS = 10_000  # archive members; a cluster is ~50 files
MAX_HEADER_BYTES = 16 * 1024 * 1024  # tar headers, long names and pax records, in all
CHUNK = 1024 * 1024  # archive members are read in pieces this size

_DAMAGED = "the snapshot is damaged or not made by meshctl; take it again with 'meshctl snapshot save'"
_NOT_FOLLOWED = "a snapshot holds only folders and regular files; links are not followed"


def _is_archive(path: str) -> bool:
    return path.endswith((".tar.gz", ".tgz"))


def _mib(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB"


def _short(text: object, limit: int = 100) -> str:
    """Text from elsewhere (a member name, a lower layer's message), kept to part of one line."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Reading

# A link or FIFO swapped in after the lstat check is then neither followed (O_NOFOLLOW) nor waited
# on (O_NONBLOCK).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _file_type(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a regular file" if stat.S_ISREG(mode) else "a special file"


def _read_regular(path: str, where: str, limit: int) -> bytes:
    """A regular file's bytes, at most ``limit``. A link, FIFO or device is refused before it is
    opened (opening a FIFO blocks until something writes to it)."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{where}: {_file_type(st.st_mode)}, not a regular file", hint=_NOT_FOLLOWED)
    if st.st_size > limit:
        raise InputError(f"{where}: larger than {_mib(limit)}", hint=_DAMAGED)
    with os.fdopen(os.open(path, _OPEN_FLAGS), "rb") as handle:
        now = os.fstat(handle.fileno())
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            raise InputError(f"{where}: replaced while being read", hint="read it when nothing is writing to it")
        data = handle.read(limit + 1)  # the size can change after fstat
    if len(data) > limit:
        raise InputError(f"{where}: larger than {_mib(limit)}", hint=_DAMAGED)
    return data


def _member_name(name: str) -> str | None:
    """An archive member's path, normalised ("" for the archive's root folder), or None when it could
    reach outside the archive (absolute, ``..``, a Windows separator)."""
    if name.startswith("/") or "\\" in name or "\0" in name:
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return None if ".." in parts else "/".join(parts)


def _member_type(info: tarfile.TarInfo) -> str:
    if info.issym():
        return "a symbolic link"
    if info.islnk():
        return "a hard link"
    if info.isfifo():
        return "a FIFO"
    if info.ischr() or info.isblk():
        return "a device"
    return "a sparse file" if info.issparse() else "not a regular file"


def _fits_layout(name: str) -> bool:
    """Could this archive member be a snapshot file: ``meta.yaml`` or ``[top/]folder/<name>.yaml``?"""
    parts = name.split("/")
    if len(parts) == 1:
        return name == META
    return len(parts) <= 3 and name.endswith(".yaml")


def _is_meta(name: str) -> bool:
    return name.rsplit("/", 1)[-1] == META


class _Budget:
    """The uncompressed tar stream, read forwards only and never past the limits, so a gzip bomb ends
    at the first read or skip that would go over, before that part is decompressed."""

    def __init__(self, raw: Any, where: str) -> None:
        self.raw = raw
        self.where = where
        self.pos = 0  # uncompressed bytes read or skipped so far
        self.header_bytes = 0
        self.in_member = False  # reads are member data (else tar headers, long names, pax records)

    def too_big(self, what: str) -> InputError:
        return InputError(f"{self.where}: {what}",
                          hint="this is not a meshctl snapshot (or it is damaged); refusing to read further")

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self.pos + offset if whence == io.SEEK_CUR else -1
        if target < self.pos:  # tarfile reads forwards; going back would decompress it all again
            raise io.UnsupportedOperation("seek backwards")
        if target > MAX_SNAPSHOT_BYTES:
            raise self.too_big(f"more than {_mib(MAX_SNAPSHOT_BYTES)} uncompressed")
        self.raw.seek(target)  # skipping decompresses, in small pieces, keeping nothing
        self.pos = self.raw.tell()
        return self.pos

    def read(self, size: int | None = -1) -> bytes:
        # tarfile reads a header (512 bytes), a long name or a pax record in one read each, and
        # member data in the pieces we ask for: a read larger than CHUNK is a crafted header.
        if size is None or size < 0 or size > CHUNK:
            raise self.too_big("a tar header record is implausibly large")
        if self.pos + size > MAX_SNAPSHOT_BYTES:
            raise self.too_big(f"more than {_mib(MAX_SNAPSHOT_BYTES)} uncompressed")
        if not self.in_member:
            self.header_bytes += size
            if self.header_bytes > MAX_HEADER_BYTES:
                raise self.too_big(f"more than {_mib(MAX_HEADER_BYTES)} of tar headers")
        data = self.raw.read(size)
        self.pos += len(data)
        return data


def _open_archive(path: str) -> Any:
    """The archive file the user named (a link to it is fine), but never a FIFO or a device."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: {_file_type(st.st_mode)}, not a .tar.gz archive",
                         hint="pass a snapshot directory or a .tar.gz file")
    return os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)), "rb")


def _archive_files(path: str, wanted: Callable[[str], bool]) -> Iterator[tuple[str, bytes | None]]:
    """Each regular file of a .tar.gz in order, with its bytes when ``wanted(name)`` (else None, and
    its data is skipped unread). One forward pass within the limits. Links, devices, FIFOs, sparse
    files and names reaching outside the archive end it with an InputError: a snapshot has none, and
    a link named like a snapshot file must not be read as that file."""
    try:
        with _open_archive(path) as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            stream = _Budget(unzipped, path)
            with tarfile.open(fileobj=stream, mode="r:") as tar:  # type: ignore[call-overload]
                for count, info in enumerate(tar, 1):
                    if count > MAX_MEMBERS:
                        raise stream.too_big(f"more than {MAX_MEMBERS} members")
                    name = _member_name(info.name)
                    if name is None:
                        raise InputError(f"{path}: member {_short(info.name)!r} has a path outside the archive",
                                         hint="this is not a meshctl snapshot; nothing was extracted")
                    if info.isdir():
                        continue
                    if not info.isfile() or info.issparse():
                        raise InputError(f"{path}: member {_short(name)} is {_member_type(info)}", hint=_NOT_FOLLOWED)
                    # The declared size is known before anything is decompressed: refuse on it at
                    # once, whether or not the member is wanted (skipping it decompresses it too).
                    limit = MAX_META_BYTES if _is_meta(name) else MAX_FILE_BYTES
                    if info.size > limit:
                        raise InputError(f"{path}: member {_short(name)} is larger than {_mib(limit)}", hint=_DAMAGED)
                    if stream.pos + info.size > MAX_SNAPSHOT_BYTES:
                        raise stream.too_big(f"more than {_mib(MAX_SNAPSHOT_BYTES)} uncompressed")
                    yield name, (_read_member(tar, stream, info, name, limit) if wanted(name) else None)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such snapshot", hint="check the path given to --snapshot") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        if isinstance(err, gzip.BadGzipFile):
            reason = "not gzip data"
        elif isinstance(err, EOFError):
            reason = "truncated"
        else:
            reason = _short(getattr(err, "strerror", None) or err or type(err).__name__)
        raise InputError(f"{path}: cannot read archive ({reason})", hint="is it a .tar.gz made by meshctl?") from None


def _read_member(tar: tarfile.TarFile, stream: _Budget, info: tarfile.TarInfo, name: str, limit: int) -> bytes:
    """A member's bytes, counted as they are read: whatever its header says, no more than ``limit``."""
    where = f"{stream.where}: member {_short(name)}"
    handle = tar.extractfile(info)
    if handle is None:
        return b""
    chunks: list[bytes] = []
    total = 0
    stream.in_member = True
    try:
        while chunk := handle.read(CHUNK):
            total += len(chunk)
            if total > limit:
                raise InputError(f"{where} is larger than {_mib(limit)}", hint=_DAMAGED)
            if b"\0" in chunk:  # YAML holds no NUL: a zero-filled bomb ends at its first piece
                raise InputError(f"{where} holds binary data, not YAML", hint=_DAMAGED)
            chunks.append(chunk)
    finally:
        stream.in_member = False
    return b"".join(chunks)


class _Reader:
    """Reads named files from a snapshot directory or archive, within the limits above."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._members: dict[str, bytes] | None = None
        self._bytes_read = 0
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
        # One streaming pass that keeps the files a snapshot can hold; load_snapshot then drops those
        # meta.yaml does not list. Measured on the demo saved as .tar.gz (and on it scaled to 94 MiB):
        # this pass takes 7 ms (0.17 s), while indexing the headers and then seeking to each kind's
        # member takes 0.1 s (5.5 s), as every seek backwards decompresses the archive again. Memory
        # is bounded by MAX_SNAPSHOT_BYTES either way.
        members = {name: data for name, data in _archive_files(path, _fits_layout) if data is not None}
        # Accept archives with the files at the root or inside one top-level folder.
        if META not in members:
            tops = {name.split("/", 1)[0] for name in members}
            if len(tops) == 1:
                top = tops.pop() + "/"
                members = {name[len(top):]: data for name, data in members.items() if name.startswith(top)}
        return members

    def keep_only(self, names: set[str]) -> None:
        """Drop the archive members meta.yaml does not list; they are never read."""
        if self._members is not None:
            self._members = {name: data for name, data in self._members.items() if name in names}

    def read(self, rel: str) -> bytes | None:
        if self._members is not None:
            return self._members.get(rel)
        where = f"{self.path}/{rel}"
        parts = rel.split("/")
        try:
            # A cluster folder that is a link could lead out of the snapshot. Refused, as a link in
            # place of a file is, rather than ignored: the kind would then read as empty, not unknown.
            for i in range(1, len(parts)):
                st = os.lstat(os.path.join(self.path, *parts[:i]))
                if not stat.S_ISDIR(st.st_mode):
                    raise InputError(f"{self.path}/{'/'.join(parts[:i])}: {_file_type(st.st_mode)}, not a folder",
                                     hint=_NOT_FOLLOWED)
            limit = MAX_META_BYTES if _is_meta(rel) else MAX_FILE_BYTES
            data = _read_regular(os.path.join(self.path, *parts), where, limit)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise InputError(f"{where}: cannot read: {err.strerror}", hint="check permissions") from None
        self._bytes_read += len(data)
        if self._bytes_read > MAX_SNAPSHOT_BYTES:
            raise InputError(f"{self.path}: more than {_mib(MAX_SNAPSHOT_BYTES)} of files", hint=_DAMAGED)
        return data

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


def _text(value: Any, where: str) -> str:
    """A scalar field of a meta.yaml as text ("" when absent)."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        raise InputError(f"{where}: expected a string, not a {'list' if isinstance(value, list) else 'mapping'}",
                         hint="the snapshot metadata is damaged")
    return str(value)


def _is_folder_name(name: str) -> bool:
    """One plain folder inside the snapshot: not absolute, no separator or drive, not '.' or '..'."""
    return 0 < len(name) <= 255 and name not in (".", "..") and not any(c in name for c in "/\\:\0")


def load_snapshot(path: str) -> Snapshot:
    reader = _Reader(path)
    top = reader.read_yaml(META)
    if not isinstance(top, dict) or top.get("format") != FORMAT:
        raise InputError(
            f"{path}: not a meshctl snapshot (no {META} with format {FORMAT})",
            hint="create one with 'meshctl snapshot save -o DIR'",
        )
    where = f"{path}/{META}"
    snap = Snapshot(path, _text(top.get("meshctlVersion"), f"{where}: meshctlVersion"),
                    _text(top.get("created"), f"{where}: created"))
    folders = _str_list(top.get("clusters"), f"{where}: clusters")
    for folder in folders:
        if not _is_folder_name(folder):
            raise InputError(f"{where}: clusters: {_short(folder)!r} is not a folder inside the snapshot",
                             hint="cluster folders are plain names (no '/', '..' or absolute paths); " + _DAMAGED)
    listed = {META}
    for folder in folders:
        meta_path = f"{folder}/{META}"
        raw = reader.read_yaml(meta_path)
        if not isinstance(raw, dict):
            raise InputError(f"{path}/{meta_path}: missing or not a mapping", hint="the snapshot is damaged")
        at = f"{path}/{meta_path}"
        meta = ClusterMeta(
            cluster=_text(raw.get("cluster"), f"{at}: cluster") or folder,
            context=_text(raw.get("context"), f"{at}: context"),
            server=_text(raw.get("server"), f"{at}: server"),
            server_version=_text(raw.get("serverVersion"), f"{at}: serverVersion"),
            captured=_text(raw.get("captured"), f"{at}: captured"),
            kinds=_str_list(raw.get("kinds"), f"{at}: kinds"),
            missing=_str_list(raw.get("missing"), f"{at}: missing"),
        )
        listed |= {meta_path} | {f"{folder}/{kind}.yaml" for kind in meta.kinds}
        snap.clusters.append(SnapshotState(reader, folder, meta, path))
    if not snap.clusters:
        raise InputError(f"{path}: the snapshot holds no clusters", hint="take it again with 'meshctl snapshot save'")
    reader.keep_only(listed)
    return snap


# ---------------------------------------------------------------------------------------------
# Writing


def scrub(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of an object fit to store: no secret values, no managedFields, no CRD schemas."""
    out = dict(obj)
    meta = dict(out["metadata"]) if isinstance(out.get("metadata"), dict) else {}
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    out["metadata"] = meta
    if kind == K.SECRET:
        # Only the fields a Secret has (an API server prunes the rest; a file may hold a value anywhere).
        out = {k: v for k, v in out.items() if k in SECRET_FIELDS}
        for key in ("data", "stringData"):
            if key in out:  # keys kept, values never; data of another shape is dropped whole
                out[key] = {k: "" for k in out[key]} if isinstance(out[key], dict) else {}
    elif kind == K.CRD:
        spec = dict(out["spec"]) if isinstance(out.get("spec"), dict) else {}
        versions = spec.get("versions")
        spec["versions"] = [
            {k: v[k] for k in ("name", "served", "storage") if k in v}
            for v in (versions if isinstance(versions, list) else [])
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
    an existing meshctl snapshot there is replaced, anything else is left alone unless ``force``
    (and some things even then: see ``_check_target``).
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
    """Refuse a target where saving would lose something that is not a meshctl snapshot.

    A symbolic link is never followed: refused, or with ``force`` the link itself is replaced. A
    directory is replaced only when it holds nothing a snapshot does not write (with ``force``
    it need not be a valid snapshot), and never when it is the home directory, a filesystem root,
    the current directory or one of its parents, or a project root (it holds .git).
    """
    path = str(Path(out))  # without a trailing slash, which would make lstat follow a link
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as err:
        raise UsageError(f"{out}: cannot inspect: {err.strerror}", hint="check the path and permissions") from None
    if stat.S_ISLNK(st.st_mode):
        if force:
            return
        raise UsageError(
            f"{out}: is a symbolic link (to {_short(os.readlink(path))}); not writing through it",
            hint="choose another path, or pass --force to replace the link itself (what it points to is left alone)",
        )
    if stat.S_ISDIR(st.st_mode):
        if _is_archive(out):
            raise UsageError(f"{out}: is a directory, and a name ending in .tar.gz is saved as an archive",
                             hint="choose another path")
        _check_directory(path, out, force)
        return
    if force:
        return
    if not _is_archive(out):
        raise UsageError(f"{out}: file exists", hint="choose another path, or pass --force to replace it")
    if not (stat.S_ISREG(st.st_mode) and _is_snapshot_archive(path)):
        raise UsageError(f"{out}: file exists and is not a meshctl snapshot archive",
                         hint="choose another path, or pass --force to replace it")


def _check_directory(path: str, out: str, force: bool) -> None:
    hint = "choose another path: a new folder (e.g. ./snapshot) or a .tar.gz file"
    real = os.path.realpath(path)
    try:
        cwd = os.path.realpath(os.getcwd())
    except OSError:  # the current directory was removed
        cwd = ""
    if real == os.path.realpath(os.path.expanduser("~")):
        raise UsageError(f"{out}: is your home directory; saving replaces the whole directory", hint=hint)
    if real == os.path.dirname(real):
        raise UsageError(f"{out}: is a filesystem root; saving replaces the whole directory", hint=hint)
    if cwd == real or cwd.startswith(real.rstrip(os.sep) + os.sep):
        raise UsageError(f"{out}: is the current directory or one of its parents; saving replaces the "
                         "whole directory", hint=hint)
    if os.path.lexists(os.path.join(path, ".git")):
        raise UsageError(f"{out}: is a project root (it holds .git); saving replaces the whole directory", hint=hint)
    try:
        foreign = _foreign_entry(path)
        empty = not os.listdir(path)
    except OSError as err:
        raise UsageError(f"{out}: cannot list: {err.strerror}", hint="check the path and permissions") from None
    if foreign is not None:
        raise UsageError(
            f"{out}: directory exists and is not a meshctl snapshot (it holds {_short(foreign)}, "
            "which a snapshot never writes)",
            hint=hint + "; even --force replaces only a directory holding nothing but snapshot files",
        )
    if not (force or empty or _is_snapshot_dir(path)):
        raise UsageError(f"{out}: directory exists and is not a meshctl snapshot (no {META} with format {FORMAT})",
                         hint="choose another path, or pass --force to replace it")


def _foreign_entry(path: str) -> str | None:
    """The first entry of a directory that a snapshot never writes, or None. A snapshot writes
    meta.yaml and folders of regular ``*.yaml`` files; links and anything else are foreign."""
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.name == META and entry.is_file(follow_symlinks=False):
                continue
            if not entry.is_dir(follow_symlinks=False):
                return entry.name
            with os.scandir(entry.path) as files:
                for file in files:
                    if not (file.name.endswith(".yaml") and file.is_file(follow_symlinks=False)):
                        return f"{entry.name}/{file.name}"
    return None


def _has_format(raw: bytes, where: str) -> bool:
    try:
        docs = [d.data for d in parse_yaml_documents(decode(raw, where), where)]
    except InputError:
        return False
    return len(docs) == 1 and isinstance(docs[0], dict) and docs[0].get("format") == FORMAT


def _is_snapshot_dir(path: str) -> bool:
    where = os.path.join(path, META)
    try:
        return _has_format(_read_regular(where, where, MAX_META_BYTES), where)
    except (InputError, OSError):
        return False


def _is_snapshot_archive(path: str) -> bool:
    """Does this .tar.gz hold a meshctl snapshot's meta.yaml (at its root or in one top folder)?

    Reads only meta.yaml members and stops at the first member a snapshot never holds, so an
    unrelated archive is judged from its first member. meshctl writes meta.yaml first; archives by
    other tools are walked within the reading limits.
    """
    try:
        with contextlib.closing(_archive_files(path, _is_meta)) as files:
            for name, data in files:
                if not _fits_layout(name):
                    return False
                if data is not None and name.count("/") <= 1 and _has_format(data, name):
                    return True
                if name == META:  # a root meta.yaml that is not a snapshot's
                    return False
    except MeshctlError:
        return False
    return False


def _write_directory(out: str, files: dict[str, str]) -> None:
    # Not resolved: a link at the target is moved aside and removed itself, never written through.
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    old = tmp.with_name(tmp.name + ".old")  # unique, as mkdtemp made tmp's name unique
    moved = False
    try:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if os.path.lexists(target):
            target.rename(old)  # renames a link itself, not what it points to
            moved = True
        tmp.rename(target)
    except OSError as err:
        if moved and not os.path.lexists(target):
            old.rename(target)  # put back what was there
        shutil.rmtree(tmp, ignore_errors=True)
        raise MeshctlError(f"{out}: cannot write snapshot: {err.strerror}", hint="check the path and free space") from None
    if moved:
        _remove(old)


def _remove(path: Path) -> None:
    """Remove what saving replaced: a directory (checked to hold only snapshot files), else a file or link."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)  # removes links inside, never what they point to
        else:
            path.unlink()
    except OSError:
        pass  # the new snapshot is in place; a leftover hidden copy is not worth failing for


def _archive_order(rel: str) -> tuple[bool, str, bool, str]:
    # meta.yaml first, then each folder's meta.yaml before its kinds: a reader of the stream (and
    # the target check on the next save) finds what it needs in the first members.
    folder, _, name = rel.rpartition("/")
    return (folder != "", folder, name != META, name)


def _write_archive(out: str, files: dict[str, str]) -> None:
    target = Path(out)  # not resolved: os.replace onto a link replaces the link, not its target
    target.parent.mkdir(parents=True, exist_ok=True)
    top = target.name.removesuffix(".tar.gz").removesuffix(".tgz") or "snapshot"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
            for rel in sorted(files, key=_archive_order):
                data = files[rel].encode("utf-8")
                info = tarfile.TarInfo(f"{top}/{rel}")
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp_name, target)
    except OSError as err:
        Path(tmp_name).unlink(missing_ok=True)
        raise MeshctlError(f"{out}: cannot write snapshot: {err.strerror}", hint="check the path and free space") from None
