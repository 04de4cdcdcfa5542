"""Upstream release files an install needs: fetched, cached, verified, bundled.

meshctl's templates are its own, but some parts of an install are Istio's and the Gateway API projects'
data and are taken from their releases unchanged: Istio's CRDs (``base-<v>.tgz``), the injection
templates istiod runs (``istiod-<v>.tgz``), the Gateway API bundle and the Inference Extension bundle.

Each file is known by its release asset name. It comes from exactly one place:

- ``source`` (``--artifacts DIR|bundle.tgz``): read by asset name; the network is never used;
- the cache (``<cache dir>/artifacts``): one file per URL, named by the SHA-256 of the URL, with a
  ``.json`` record beside it holding the URL and the SHA-256 of the content seen on first download;
- the network (the official URL, or ``mirror``/``MESHCTL_ARTIFACT_MIRROR`` + asset name), over
  urllib with a timeout and one retry, then written to the cache atomically.

Every use checks the content against the pinned checksum (``--artifact-sha256 NAME=HEX``) if there is
one, else against the recorded one (trust on first use); a mismatch is an error (exit 65). Archives
are read into memory, never extracted, with bounded sizes and unsafe member names ignored.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import re
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from meshctl.errors import ExitCode, InputError, MeshctlError, UsageError
from meshctl.install import versions

log = logging.getLogger(__name__)

ISTIO_CHARTS_URL = "https://istio-release.storage.googleapis.com/charts"
GATEWAY_API_RELEASES_URL = "https://github.com/kubernetes-sigs/gateway-api/releases/download"
INFERENCE_RELEASES_URL = "https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download"

CACHE_DIR_ENV = "MESHCTL_CACHE_DIR"
MIRROR_ENV = "MESHCTL_ARTIFACT_MIRROR"
CACHE_SUBDIR = "artifacts"
SUMS_FILE = "SHA256SUMS"  # sha256sum format, written into bundles and checked when present

TIMEOUT_SECONDS = 30.0
RETRY_DELAY_SECONDS = 1.0
# Real files are at most a few MB (Gateway API's standard-install.yaml is about 1 MB); anything far
# bigger is not what we asked for, so refuse it rather than fill memory.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_MEMBER_BYTES = 32 * 1024 * 1024
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024  # declared sizes walked in one archive (gzip bombs)
MAX_MEMBERS = 10_000

SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")

OFFLINE_HINT = ("fetch the files where there is network with 'meshctl artifacts pull --istio-version V "
                "-o bundle.tgz', then pass --artifacts bundle.tgz (or a directory holding the release files)")


class ArtifactUnavailableError(MeshctlError):
    """A release file is neither in --artifacts nor in the cache, and cannot be downloaded."""

    exit_code = ExitCode.UNAVAILABLE


class ChecksumError(InputError):
    """A release file's content differs from its pinned or recorded SHA-256."""


@dataclass(frozen=True)
class Asset:
    name: str  # the release asset's file name; also its name in a bundle or an --artifacts directory
    url: str  # where the project publishes it


def istio_chart(chart: str, istio_version: str) -> Asset:
    name = f"{chart}-{istio_version}.tgz"
    return Asset(name, f"{ISTIO_CHARTS_URL}/{name}")


def gateway_api_bundle(version: str) -> Asset:
    return Asset(f"gateway-api-{version}-standard-install.yaml",
                 f"{GATEWAY_API_RELEASES_URL}/{version}/standard-install.yaml")


def inference_bundle(version: str) -> Asset:
    return Asset(f"gateway-api-inference-extension-{version}-manifests.yaml",
                 f"{INFERENCE_RELEASES_URL}/{version}/manifests.yaml")


@dataclass(frozen=True)
class CachedArtifact:
    """One cache record (what ``meshctl artifacts list`` shows)."""

    asset: str
    url: str
    size: int
    sha256: str
    fetched: str
    present: bool  # the content file exists beside the record

    def to_dict(self) -> dict[str, Any]:
        return {"asset": self.asset, "url": self.url, "size": self.size, "sha256": self.sha256,
                "fetched": self.fetched, "present": self.present}


def default_cache_dir() -> Path:
    """``$MESHCTL_CACHE_DIR``, else ``$XDG_CACHE_HOME/meshctl``, else ``~/.cache/meshctl``."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"  # XDG: ignore relative paths
    return base / "meshctl"


def parse_sha256_pins(values: Iterable[str] | None) -> dict[str, str]:
    """``["base-1.30.3.tgz=<hex>", ...]`` -> ``{name: hex}`` (from ``--artifact-sha256``)."""
    pins: dict[str, str] = {}
    for value in values or ():
        name, sep, digest = value.partition("=")
        name, digest = name.strip(), digest.strip().lower()
        if not sep or not name or not SHA256_RE.fullmatch(digest):
            raise UsageError(f"--artifact-sha256 {value!r} is not NAME=HEX",
                             hint="give a release file name and its 64-digit SHA-256, e.g. "
                                  "--artifact-sha256 base-1.30.3.tgz=<sha256>")
        if pins.get(name, digest) != digest:
            raise UsageError(f"--artifact-sha256 gives two checksums for {name}", hint="give one per file")
        pins[name] = digest
    return pins


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Artifacts:
    """Upstream release files, by asset name, from --artifacts, the cache or the network."""

    def __init__(self, *, source: Path | None = None, cache_dir: Path | None = None,
                 sha256: dict[str, str] | None = None, mirror: str | None = None, offline: bool = False) -> None:
        self.source = _Source(Path(source)) if source is not None else None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.store = self.cache_dir / CACHE_SUBDIR
        self.pins = {name: digest.lower() for name, digest in (sha256 or {}).items()}
        mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
        if mirror and not mirror.startswith(("https://", "http://")):
            raise UsageError(f"artifact mirror {mirror!r} is not an http(s) URL",
                             hint=f"set {MIRROR_ENV} to a base URL serving the release files by name")
        self.mirror = mirror.rstrip("/") if mirror else None
        self.offline = offline
        self._verified: dict[str, bytes] = {}

    # -- what callers use -------------------------------------------------------------------------

    def istio_crds(self, istio_version: str) -> list[dict]:
        """Istio's CRDs: the documents of ``base/files/crd-all.gen.yaml`` in ``base-<v>.tgz``."""
        asset = istio_chart("base", versions.resolve_istio_version(istio_version))
        member = "base/files/crd-all.gen.yaml"
        files = _read_tar(self.fetch(asset), asset.name, lambda name: name == member)
        if member not in files:
            raise InputError(f"{asset.name} has no {member}", hint="is it Istio's base chart archive?")
        return _documents(files[member], f"{asset.name}:{member}")

    def injection_templates(self, istio_version: str) -> dict[str, str]:
        """``istiod/files/*.yaml`` of ``istiod-<v>.tgz`` by file name, text unchanged.

        These are the Go templates istiod runs (``waypoint.yaml``, ``kube-gateway.yaml``, ...); real
        archives also hold the chart's ``profile-*.yaml`` there, so callers pick files by name.
        """
        asset = istio_chart("istiod", versions.resolve_istio_version(istio_version))
        files = _read_tar(self.fetch(asset), asset.name, _is_istiod_file)
        if not files:
            raise InputError(f"{asset.name} has no istiod/files/*.yaml", hint="is it Istio's istiod chart archive?")
        templates = {}
        for member in sorted(files):
            try:
                templates[member.rsplit("/", 1)[1]] = files[member].decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{asset.name}:{member}: not UTF-8 text", hint="is it Istio's istiod chart?") from None
        return templates

    def gateway_api_crds(self, version: str) -> list[dict]:
        """All documents of that Gateway API release's ``standard-install.yaml`` (CRDs and the
        ValidatingAdmissionPolicy with its binding)."""
        asset = gateway_api_bundle(versions.release_tag(version, "--gateway-api-version"))
        return _documents(self.fetch(asset), asset.name)

    def inference_crds(self, version: str) -> list[dict]:
        """All documents of that Inference Extension release's ``manifests.yaml``."""
        asset = inference_bundle(versions.release_tag(version, "--inference-version"))
        return _documents(self.fetch(asset), asset.name)

    def bundle_assets(self, istio_version: str, gateway_api_version: str | None = None,
                      inference_version: str | None = None) -> list[Asset]:
        """The four files an air-gapped install of this Istio version needs."""
        istio = versions.resolve_istio_version(istio_version)
        gateway = versions.release_tag(gateway_api_version, "--gateway-api-version") if gateway_api_version \
            else versions.gateway_api_version(istio)
        inference = versions.release_tag(inference_version, "--inference-version") if inference_version \
            else versions.INFERENCE_EXTENSION_VERSION
        return [istio_chart("base", istio), istio_chart("istiod", istio),
                gateway_api_bundle(gateway), inference_bundle(inference)]

    def pull(self, istio_version: str, out: Path, *, gateway_api_version: str | None = None,
             inference_version: str | None = None,
             progress: Callable[[str, str], None] | None = None) -> Path:
        """Write a bundle (.tgz, mode 0644, atomically) holding the four files by asset name plus
        SHA256SUMS; ``progress(name, sha256)`` is called for each file."""
        files: dict[str, bytes] = {}
        for asset in self.bundle_assets(istio_version, gateway_api_version, inference_version):
            data = self.fetch(asset)
            _check_chart(asset, data)
            files[asset.name] = data
            if progress:
                progress(asset.name, sha256_hex(data))
        sums = "".join(f"{sha256_hex(data)}  {name}\n" for name, data in files.items())
        files[SUMS_FILE] = sums.encode()
        out = Path(out)
        try:
            _write_atomic(out, _tgz(files))
        except OSError as err:
            raise MeshctlError(f"{out}: cannot write the bundle: {err.strerror}",
                               hint="check the path and free space") from None
        return out

    def cached(self) -> list[CachedArtifact]:
        """What the cache holds, by asset name."""
        found = []
        for record_path in sorted(self.store.glob("*.json")) if self.store.is_dir() else []:
            try:
                record = _read_record(record_path)
            except InputError as err:
                log.warning("%s", err.message)
                continue
            found.append(CachedArtifact(
                asset=str(record.get("asset", "")), url=str(record.get("url", "")), size=int(record.get("size", 0)),
                sha256=str(record.get("sha256", "")), fetched=str(record.get("fetched", "")),
                present=record_path.with_suffix("").is_file()))
        return sorted(found, key=lambda c: (c.asset, c.url))

    # -- one file, verified -----------------------------------------------------------------------

    def fetch(self, asset: Asset) -> bytes:
        """The verified content of one release file."""
        if asset.name not in self._verified:
            self._verified[asset.name] = self._from_source(asset) if self.source else self._from_cache_or_network(asset)
        return self._verified[asset.name]

    def url_for(self, asset: Asset) -> str:
        return f"{self.mirror}/{asset.name}" if self.mirror else asset.url

    def _from_source(self, asset: Asset) -> bytes:
        assert self.source is not None
        data = self.source.read(asset.name)
        where = self.source.describe(asset.name)
        hint = ("the file is damaged or not the release expected; pull the bundle again with "
                "'meshctl artifacts pull', or fix --artifact-sha256")
        pin = self.pins.get(asset.name)
        if pin:
            _verify(asset.name, data, pin, where, hint)
        listed = self.source.sums().get(asset.name)
        if listed:
            _verify(asset.name, data, listed, f"{where} (listed in {SUMS_FILE})", hint)
        return data

    def _from_cache_or_network(self, asset: Asset) -> bytes:
        url = self.url_for(asset)
        key = sha256_hex(url.encode())
        data_path, record_path = self.store / key, self.store / f"{key}.json"
        record = _read_record(record_path) if record_path.is_file() else None
        recorded = record.get("sha256") if record else None
        pin = self.pins.get(asset.name)
        expected = pin or recorded
        if record and data_path.is_file():
            data = _read_file(data_path)
            actual = sha256_hex(data)
            if actual == expected:
                return data
            if not pin or actual != recorded:  # damaged or tampered with since it was recorded
                raise ChecksumError(
                    _mismatch(asset.name, str(data_path), expected, actual),
                    f"clear the cache dir {self.store} (or delete that file) to download it again, "
                    f"or give the checksum you expect with --artifact-sha256 {asset.name}=HEX")
            # The cache holds what was recorded, but the user pinned something else: download it again.
        if self.offline:
            raise ArtifactUnavailableError(
                f"{asset.name} is not in the cache ({self.store}) and network use is off; it comes from {url}",
                OFFLINE_HINT)
        data = _download(url, asset.name)
        actual = sha256_hex(data)
        if expected and actual != expected:
            if pin:
                raise ChecksumError(_mismatch(asset.name, url, f"{pin} (pinned)", actual),
                                    "the download is not the file you pinned: check the --artifact-sha256 value, "
                                    "the mirror and any proxy")
            raise ChecksumError(
                _mismatch(asset.name, url, f"{recorded} (recorded {(record or {}).get('fetched', 'earlier')})", actual),
                f"the file changed upstream since it was first downloaded; if the new content is trusted, "
                f"accept it with --artifact-sha256 {asset.name}={actual}, or clear the cache dir {self.store}")
        self._store(asset, url, data_path, record_path, data, actual)
        return data

    def _store(self, asset: Asset, url: str, data_path: Path, record_path: Path, data: bytes, digest: str) -> None:
        """Content first, then its record, each atomically: a reader sees a whole file or none, and a
        record only once its content is in place. A cache that cannot be written is not fatal."""
        record = {"url": url, "asset": asset.name, "sha256": digest, "size": len(data),
                  "fetched": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")}
        try:
            _write_atomic(data_path, data)
            _write_atomic(record_path, (json.dumps(record, indent=2) + "\n").encode())
        except OSError as err:
            log.warning("cannot cache %s in %s: %s", asset.name, self.store, err.strerror or err)


# -- helpers ---------------------------------------------------------------------------------------


def _mismatch(name: str, where: str, expected: str | None, actual: str) -> str:
    return f"checksum mismatch for {name} ({where}): expected sha256 {expected}, got sha256 {actual}"


def _verify(name: str, data: bytes, expected: str, where: str, hint: str) -> None:
    actual = sha256_hex(data)
    if actual != expected.lower():
        raise ChecksumError(_mismatch(name, where, expected.lower(), actual), hint)


def _read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(_read_file(path))
    except (ValueError, UnicodeDecodeError):
        record = None
    if not isinstance(record, dict) or not SHA256_RE.fullmatch(str(record.get("sha256", ""))):
        raise InputError(f"{path}: damaged cache record", hint=f"delete it (or clear the cache dir {path.parent})")
    return record


def _read_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                             hint="this is not an upstream release file")
        return path.read_bytes()
    except OSError as err:
        raise MeshctlError(f"{path}: cannot read: {err.strerror}", hint="check the path and permissions") from None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it over: concurrent readers never see half
    a file. Mode 0644 (public release files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _tgz(files: dict[str, bytes]) -> bytes:
    """A gzipped tar with the files at its root; fixed times, so the same files give the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _safe_member_name(name: str) -> str | None:
    """The member's path, normalised, or None when it could point outside the archive."""
    if name.startswith("/") or "\\" in name:
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _read_tar(data: bytes, where: str, wanted: Callable[[str], bool] = lambda name: True) -> dict[str, bytes]:
    """Regular files of an archive that ``wanted`` accepts, read into memory (nothing touches disk).

    Links, devices and members named with ``..`` or an absolute path are ignored; member counts and
    sizes are bounded so a crafted archive cannot exhaust memory or time.
    """
    members: dict[str, bytes] = {}
    walked = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for count, info in enumerate(tar, 1):
                walked += max(info.size, 0)
                if count > MAX_MEMBERS or walked > MAX_ARCHIVE_BYTES:
                    raise InputError(f"{where}: archive is implausibly large",
                                     hint="this is not an upstream release file")
                if not info.isfile():
                    continue
                name = _safe_member_name(info.name)
                if name is None:
                    log.warning("%s: ignoring member %r (path outside the archive)", where, info.name)
                    continue
                if not wanted(name):
                    continue
                if info.size > MAX_MEMBER_BYTES:
                    raise InputError(f"{where}: member {name} is implausibly large",
                                     hint="this is not an upstream release file")
                handle = tar.extractfile(info)
                if handle is not None:
                    members[name] = handle.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise InputError(f"{where}: not a readable .tgz archive ({err})",
                         hint="the file is damaged or not what its name says; fetch it again") from None
    return members


def _is_istiod_file(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 3 and parts[:2] == ["istiod", "files"] and parts[2].endswith(".yaml")


def _check_chart(asset: Asset, data: bytes) -> None:
    """Catch a wrong file before it goes into a bundle: charts must hold what installs read."""
    if asset.name.startswith("base-"):
        if "base/files/crd-all.gen.yaml" not in _read_tar(data, asset.name, lambda n: n.endswith("crd-all.gen.yaml")):
            raise InputError(f"{asset.name} has no base/files/crd-all.gen.yaml", hint="is it Istio's base chart?")
    elif asset.name.startswith("istiod-"):
        if not _read_tar(data, asset.name, _is_istiod_file):
            raise InputError(f"{asset.name} has no istiod/files/*.yaml", hint="is it Istio's istiod chart?")


def _documents(raw: bytes, where: str) -> list[dict]:
    """The YAML documents of a release file, in order, empty ones skipped; each must be an object."""
    from meshctl.kube.files import decode, parse_yaml_documents

    docs = []
    for doc in parse_yaml_documents(decode(raw, where), where, item_lines=False):
        if not isinstance(doc.data, dict) or not doc.data.get("kind"):
            raise InputError(f"{doc.location}: expected a Kubernetes object", hint="is it the upstream release file?")
        docs.append(doc.data)
    return docs


class _Source:
    """``--artifacts``: a directory of release files, or a bundle made by ``meshctl artifacts pull``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._members: dict[str, bytes] | None = None
        self._sums: dict[str, str] | None = None
        if path.is_dir():
            return
        if not path.is_file():
            raise UsageError(f"--artifacts {path}: no such file or directory",
                             hint="pass a directory holding the release files, or a bundle made by "
                                  "'meshctl artifacts pull'")
        members = _read_tar(_read_file(path), str(path))
        # Files at the root, or all inside one folder (a bundle someone re-packed).
        tops = {name.split("/", 1)[0] for name in members}
        if len(tops) == 1 and all("/" in name for name in members):
            top = tops.pop() + "/"
            members = {name[len(top):]: data for name, data in members.items()}
        self._members = members

    def describe(self, name: str) -> str:
        return f"{self.path}/{name}" if self._members is None else f"{name} in {self.path}"

    def read(self, name: str) -> bytes:
        if self._members is not None:
            data = self._members.get(name)
        else:
            file = self.path / name
            data = _read_file(file) if file.is_file() else None
        if data is None:
            raise InputError(f"--artifacts {self.path} has no {name}",
                             hint=f"add the release file named {name}, or make a bundle for this version "
                                  "with 'meshctl artifacts pull'")
        return data

    def sums(self) -> dict[str, str]:
        """Checksums the bundle lists in SHA256SUMS (empty when it has none)."""
        if self._sums is None:
            self._sums = {}
            if self._members is not None:
                raw = self._members.get(SUMS_FILE)
            else:
                raw = _read_file(self.path / SUMS_FILE) if (self.path / SUMS_FILE).is_file() else None
            for line in (raw or b"").decode("utf-8", "replace").splitlines():
                digest, _, name = line.strip().partition(" ")
                name = name.strip().lstrip("*")
                if SHA256_RE.fullmatch(digest) and name:
                    self._sums[name] = digest.lower()
        return self._sums


# -- the network -------------------------------------------------------------------------------------


class _Transient(Exception):
    """A failure worth one more try: timeouts, dropped connections, 5xx, 429."""


def _download(url: str, name: str) -> bytes:
    last: _Transient | None = None
    for attempt in range(2):
        if attempt:
            time.sleep(RETRY_DELAY_SECONDS)
        try:
            return _get(url, name)
        except _Transient as err:
            last = err
            log.info("fetching %s failed (%s)%s", url, err, "; retrying" if not attempt else "")
    raise ArtifactUnavailableError(f"cannot download {name} from {url} ({last}) and it is not cached", OFFLINE_HINT)


def _get(url: str, name: str) -> bytes:
    import http.client
    import urllib.error
    import urllib.request

    from meshctl import __version__

    class NoDowngrade(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            if req.full_url.startswith("https://") and not newurl.startswith("https://"):
                raise MeshctlError(f"{url} redirects to {newurl}, which is not HTTPS",
                                   hint="refusing to download a release file over plain HTTP")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    request = urllib.request.Request(url, headers={"User-Agent": f"meshctl/{__version__}"})
    try:
        with urllib.request.build_opener(NoDowngrade).open(request, timeout=TIMEOUT_SECONDS) as response:
            chunks, total = [], 0
            while chunk := response.read(1024 * 1024):
                total += len(chunk)
                if total > MAX_FILE_BYTES:
                    raise InputError(f"{url}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                                     hint="this is not an upstream release file; check the mirror")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as err:
        if err.code in (408, 429) or err.code >= 500:
            raise _Transient(f"HTTP {err.code}") from None
        if err.code == 404:
            raise MeshctlError(f"{url}: not found (HTTP 404), so {name} cannot be downloaded",
                               hint="check the version; a mirror must serve the release files by their names") from None
        raise MeshctlError(f"{url}: HTTP {err.code} {err.reason}",
                           hint="check the URL, mirror and proxy settings") from None
    except urllib.error.URLError as err:
        raise _Transient(str(err.reason)) from None
    except (OSError, http.client.HTTPException) as err:  # timeouts, resets, truncated bodies
        raise _Transient(f"{type(err).__name__}: {err}" if str(err) else type(err).__name__) from None
