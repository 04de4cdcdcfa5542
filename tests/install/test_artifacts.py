"""Upstream release files: download through a mirror, cache with checksums, bundles, --artifacts.

A local HTTP server (127.0.0.1, ephemeral port) serves synthetic archives built here; nothing leaves
the machine. One test reads the real release files in shared/data/upstream when they are present.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from meshctl.errors import ExitCode, InputError, MeshctlError, UsageError
from meshctl.install import artifacts as art
from meshctl.install.artifacts import ArtifactUnavailableError, Artifacts, ChecksumError
from tests.conftest import needs_upstream

V = "1.30.3"
BASE, ISTIOD = f"base-{V}.tgz", f"istiod-{V}.tgz"
GATEWAY = "gateway-api-v1.5.1-standard-install.yaml"
INFERENCE = "gateway-api-inference-extension-v1.6.0-manifests.yaml"


def crd(plural: str, group: str) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "names": {"plural": plural, "kind": plural.title()}, "scope": "Namespaced"}}


def yaml_docs(*docs: dict, empty_between: bool = False) -> bytes:
    sep = "---\n---\n" if empty_between else "---\n"
    return ("---\n" + sep.join(yaml.safe_dump(d) for d in docs)).encode()


def tgz(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """A .tgz with these members; the same members give the same bytes (fixed gzip time)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


ISTIO_CRDS = [crd("wasmplugins", "extensions.istio.io"), crd("gateways", "networking.istio.io")]
CRD_FILE = yaml_docs(*ISTIO_CRDS, empty_between=True)
WAYPOINT_TEMPLATE = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{.DeploymentName | quote}}\n"
KUBE_GATEWAY_TEMPLATE = "{{- $x := .Values.global }}\nkind: Service\n"


def base_chart(crd_file: bytes = CRD_FILE) -> bytes:
    return tgz({"base/Chart.yaml": b"name: base\n", "base/files/crd-all.gen.yaml": crd_file,
                "base/templates/reader-serviceaccount.yaml": b"kind: ServiceAccount\n"})


def istiod_chart() -> bytes:
    return tgz({"istiod/Chart.yaml": b"name: istiod\n", "istiod/values.yaml": b"_internal_defaults_do_not_set: {}\n",
                "istiod/templates/deployment.yaml": b"kind: Deployment\n",
                "istiod/files/waypoint.yaml": WAYPOINT_TEMPLATE.encode(),
                "istiod/files/kube-gateway.yaml": KUBE_GATEWAY_TEMPLATE.encode(),
                "istiod/files/nested/other.yaml": b"not a template\n"})


VAP = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
       "metadata": {"name": "safe-upgrades.gateway.networking.k8s.io"}, "spec": {}}


def release_files() -> dict[str, bytes]:
    return {
        BASE: base_chart(),
        ISTIOD: istiod_chart(),
        GATEWAY: yaml_docs(crd("gateways", "gateway.networking.k8s.io"), crd("httproutes", "gateway.networking.k8s.io"),
                           VAP),
        INFERENCE: yaml_docs(crd("inferencepools", "inference.networking.k8s.io")),
    }


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Mirror:
    """A tiny HTTP server serving files by name; records requests; can fail the next ones."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.requests: list[str] = []
        self.fail_next: list[int] = []  # status codes to answer the next requests with
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                name = self.path.removeprefix("/mirror/")
                mirror.requests.append(name)
                if mirror.fail_next:
                    self.send_error(mirror.fail_next.pop(0))
                    return
                data = mirror.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mirror"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.running = False


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """Never touch the user's cache or a real mirror; retry without waiting."""
    monkeypatch.setenv("MESHCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MESHCTL_ARTIFACT_MIRROR", raising=False)
    monkeypatch.setattr(art, "RETRY_DELAY_SECONDS", 0.0)
    monkeypatch.setattr(art, "TIMEOUT_SECONDS", 5.0)


@pytest.fixture
def mirror():
    server = Mirror(release_files())
    yield server
    server.stop()


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def records(cache: Path) -> dict[str, dict]:
    return {r["asset"]: r for r in (json.loads(p.read_text()) for p in (cache / "artifacts").glob("*.json"))}


# -- download and cache ------------------------------------------------------------------------


def test_first_download_records_the_checksum_and_later_runs_use_the_cache(mirror, cache):
    first = Artifacts(cache_dir=cache, mirror=mirror.url)
    assert first.istio_crds("1.30") == ISTIO_CRDS  # minor resolves to the pinned patch; empty doc skipped
    assert mirror.requests == [BASE]
    record = records(cache)[BASE]
    assert record["sha256"] == sha(base_chart()) and record["url"] == f"{mirror.url}/{BASE}"
    assert record["size"] == len(base_chart())
    assert not [p for p in (cache / "artifacts").iterdir() if p.name.startswith(".")]  # no temp files left

    mirror.stop()
    again = Artifacts(cache_dir=cache, mirror=mirror.url)
    assert again.istio_crds(V) == ISTIO_CRDS
    assert Artifacts(cache_dir=cache, mirror=mirror.url, offline=True).istio_crds(V) == ISTIO_CRDS
    assert len(mirror.requests) == 1


def test_each_kind_of_file_is_read(mirror, cache):
    a = Artifacts(cache_dir=cache, mirror=mirror.url)
    assert a.injection_templates(V) == {"kube-gateway.yaml": KUBE_GATEWAY_TEMPLATE, "waypoint.yaml": WAYPOINT_TEMPLATE}
    gateway = a.gateway_api_crds("v1.5.1")
    assert [d["kind"] for d in gateway] == ["CustomResourceDefinition", "CustomResourceDefinition",
                                            "ValidatingAdmissionPolicy"]
    assert [d["metadata"]["name"] for d in a.inference_crds("1.6.0")] == ["inferencepools.inference.networking.k8s.io"]
    assert sorted(mirror.requests) == sorted(n for n in (ISTIOD, GATEWAY, INFERENCE))


def test_the_cache_dir_comes_from_the_environment(mirror, cache):
    Artifacts(mirror=mirror.url).istio_crds(V)  # no cache_dir: MESHCTL_CACHE_DIR (set by the fixture)
    assert BASE in records(cache)


def test_official_urls_are_used_without_a_mirror():
    a = Artifacts(offline=True)
    assets = a.bundle_assets("1.29")
    assert [a.url_for(x) for x in assets] == [
        "https://istio-release.storage.googleapis.com/charts/base-1.29.8.tgz",
        "https://istio-release.storage.googleapis.com/charts/istiod-1.29.8.tgz",
        "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.4.0/standard-install.yaml",
        "https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download/v1.6.0/manifests.yaml",
    ]
    assert [x.name for x in assets] == ["base-1.29.8.tgz", "istiod-1.29.8.tgz",
                                        "gateway-api-v1.4.0-standard-install.yaml",
                                        "gateway-api-inference-extension-v1.6.0-manifests.yaml"]


def test_mirror_from_the_environment(monkeypatch, mirror, cache):
    monkeypatch.setenv("MESHCTL_ARTIFACT_MIRROR", mirror.url + "/")
    assert Artifacts(cache_dir=cache).istio_crds(V) == ISTIO_CRDS
    assert mirror.requests == [BASE]


def test_mirror_must_be_http():
    with pytest.raises(UsageError):
        Artifacts(mirror="ftp://example.org/files")


def test_tampered_cache_is_an_error(mirror, cache):
    Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)
    key = hashlib.sha256(f"{mirror.url}/{BASE}".encode()).hexdigest()
    content = cache / "artifacts" / key
    tampered = base_chart(yaml_docs(crd("evil", "example.com")))
    content.write_bytes(tampered)
    with pytest.raises(ChecksumError) as info:
        Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)
    err = info.value
    assert err.exit_code == ExitCode.DATA == 65
    assert BASE in err.message and sha(base_chart()) in err.message and sha(tampered) in err.message
    assert "--artifact-sha256" in err.hint and str(cache / "artifacts") in err.hint
    assert len(mirror.requests) == 1  # refused, not silently downloaded again


def test_upstream_content_that_changed_since_first_download_is_an_error(mirror, cache):
    Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)
    key = hashlib.sha256(f"{mirror.url}/{BASE}".encode()).hexdigest()
    (cache / "artifacts" / key).unlink()  # content gone, record kept: the next download must match it
    changed = base_chart(yaml_docs(crd("other", "example.com")))
    mirror.files[BASE] = changed
    with pytest.raises(ChecksumError) as info:
        Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)
    assert sha(base_chart()) in info.value.message and sha(changed) in info.value.message
    assert f"{mirror.url}/{BASE}" in info.value.message
    assert f"--artifact-sha256 {BASE}={sha(changed)}" in info.value.hint
    assert records(cache)[BASE]["sha256"] == sha(base_chart())  # the record is kept

    # Accepting the new content with a pin downloads it and records it.
    pinned = Artifacts(cache_dir=cache, mirror=mirror.url, sha256={BASE: sha(changed)})
    assert [d["metadata"]["name"] for d in pinned.istio_crds(V)] == ["other.example.com"]
    assert records(cache)[BASE]["sha256"] == sha(changed)


def test_a_pin_over_the_cached_content_downloads_the_pinned_file(mirror, cache):
    Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)
    newer = base_chart(yaml_docs(crd("newer", "example.com")))
    mirror.files[BASE] = newer
    crds = Artifacts(cache_dir=cache, mirror=mirror.url, sha256={BASE: sha(newer).upper()}).istio_crds(V)
    assert [d["metadata"]["name"] for d in crds] == ["newer.example.com"]
    assert len(mirror.requests) == 2


def test_pin_mismatch_is_an_error_and_nothing_is_cached(mirror, cache):
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as info:
        Artifacts(cache_dir=cache, mirror=mirror.url, sha256={BASE: wrong}).istio_crds(V)
    assert info.value.exit_code == 65
    assert BASE in info.value.message and wrong in info.value.message and sha(base_chart()) in info.value.message
    assert "--artifact-sha256" in info.value.hint
    assert records(cache) == {}


def test_pin_match_downloads_and_records(mirror, cache):
    a = Artifacts(cache_dir=cache, mirror=mirror.url, sha256={BASE: sha(base_chart())})
    assert a.istio_crds(V) == ISTIO_CRDS
    assert records(cache)[BASE]["sha256"] == sha(base_chart())


def test_offline_and_not_cached_names_the_url_and_artifacts(cache):
    with pytest.raises(ArtifactUnavailableError) as info:
        Artifacts(cache_dir=cache, offline=True).istio_crds(V)
    err = info.value
    assert err.exit_code == ExitCode.UNAVAILABLE == 69
    assert f"https://istio-release.storage.googleapis.com/charts/{BASE}" in err.message
    assert "\n" not in err.message
    assert "--artifacts" in err.hint


def test_unreachable_network_names_the_url_and_artifacts(cache):
    url = closed_port_url()
    with pytest.raises(ArtifactUnavailableError) as info:
        Artifacts(cache_dir=cache, mirror=url).injection_templates(V)
    assert f"{url}/{ISTIOD}" in info.value.message and "not cached" in info.value.message
    assert "--artifacts" in info.value.hint


def test_a_transient_server_error_is_retried_once(mirror, cache):
    mirror.fail_next = [503]
    assert Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V) == ISTIO_CRDS
    assert mirror.requests == [BASE] * 2


def test_two_server_errors_give_up(mirror, cache):
    mirror.fail_next = [500, 502]
    with pytest.raises(ArtifactUnavailableError) as info:
        Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)
    assert "HTTP 502" in info.value.message
    assert len(mirror.requests) == 2


def test_not_found_is_not_retried(mirror, cache):
    with pytest.raises(MeshctlError) as info:
        Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds("1.30.9")
    assert info.value.exit_code == ExitCode.ERROR
    assert f"{mirror.url}/base-1.30.9.tgz" in info.value.message and "404" in info.value.message
    assert mirror.requests == ["base-1.30.9.tgz"]


def test_an_oversized_download_is_refused(monkeypatch, mirror, cache):
    monkeypatch.setattr(art, "MAX_FILE_BYTES", 100)
    with pytest.raises(InputError, match="larger than"):
        Artifacts(cache_dir=cache, mirror=mirror.url).gateway_api_crds("v1.5.1")
    assert records(cache) == {}


def test_a_cache_that_cannot_be_written_is_not_fatal(mirror, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache dir should be")
    assert Artifacts(cache_dir=blocker, mirror=mirror.url).istio_crds(V) == ISTIO_CRDS


def test_damaged_cache_record_is_an_error(mirror, cache):
    Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)
    record = next((cache / "artifacts").glob("*.json"))
    record.write_text("{not json")
    with pytest.raises(InputError, match="damaged cache record"):
        Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)


# -- archives --------------------------------------------------------------------------------------


def test_path_traversal_and_link_members_are_ignored(mirror, cache, tmp_path):
    evil = yaml_docs(crd("evil", "example.com"))
    archive = tgz({
        "../../base/files/crd-all.gen.yaml": evil,
        "/base/files/crd-all.gen.yaml": evil,
        "base/../../base/files/crd-all.gen.yaml": evil,
        "base/files/crd-all.gen.yaml": CRD_FILE,
    })
    mirror.files[BASE] = archive
    assert Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V) == ISTIO_CRDS

    only_unsafe = tgz({"base/../../base/files/crd-all.gen.yaml": evil},
                      symlinks={"base/files/crd-all.gen.yaml": "/etc/passwd"})
    mirror.files[BASE] = only_unsafe
    with pytest.raises(InputError) as info:
        Artifacts(cache_dir=tmp_path / "cache2", mirror=mirror.url).istio_crds(V)
    assert f"{BASE} has no base/files/crd-all.gen.yaml" == info.value.message


def test_oversized_members_and_archives_are_refused(monkeypatch, mirror, cache, tmp_path):
    monkeypatch.setattr(art, "MAX_MEMBER_BYTES", 64)
    with pytest.raises(InputError, match="member base/files/crd-all.gen.yaml is implausibly large"):
        Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)
    monkeypatch.setattr(art, "MAX_MEMBER_BYTES", 1 << 20)
    monkeypatch.setattr(art, "MAX_ARCHIVE_BYTES", 100)
    with pytest.raises(InputError, match="archive is implausibly large"):
        Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)


def test_a_file_that_is_not_an_archive_is_an_input_error(mirror, cache):
    mirror.files[BASE] = b"<html>not found</html>"
    with pytest.raises(InputError, match=f"{BASE}: not a readable .tgz archive"):
        Artifacts(cache_dir=cache, mirror=mirror.url).istio_crds(V)


def test_a_release_file_that_is_not_kubernetes_objects_is_an_input_error(mirror, cache):
    mirror.files[INFERENCE] = b"- just\n- a list\n"
    with pytest.raises(InputError, match="expected a Kubernetes object"):
        Artifacts(cache_dir=cache, mirror=mirror.url).inference_crds("v1.6.0")


# -- --artifacts DIR and bundles -----------------------------------------------------------------


def write_dir(path: Path, files: dict[str, bytes]) -> Path:
    path.mkdir()
    for name, data in files.items():
        (path / name).write_bytes(data)
    return path


def test_artifacts_dir_is_read_by_asset_name_without_network(tmp_path, cache):
    source = write_dir(tmp_path / "files", release_files())
    a = Artifacts(source=source, cache_dir=cache, mirror=closed_port_url())
    assert a.istio_crds(V) == ISTIO_CRDS
    assert sorted(a.injection_templates("1.30")) == ["kube-gateway.yaml", "waypoint.yaml"]
    assert len(a.gateway_api_crds("v1.5.1")) == 3 and len(a.inference_crds("v1.6.0")) == 1
    assert not cache.exists()  # a source is never cached


def test_artifacts_dir_checks_pins(tmp_path):
    source = write_dir(tmp_path / "files", release_files())
    with pytest.raises(ChecksumError) as info:
        Artifacts(source=source, sha256={BASE: "a" * 64}).istio_crds(V)
    assert str(source / BASE) in info.value.message and "a" * 64 in info.value.message


def test_missing_file_in_artifacts_names_the_expected_file(tmp_path):
    files = release_files()
    del files[ISTIOD]
    source = write_dir(tmp_path / "files", files)
    with pytest.raises(InputError) as info:
        Artifacts(source=source).injection_templates(V)
    assert ISTIOD in info.value.message and "artifacts pull" in info.value.hint


def test_missing_artifacts_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file or directory"):
        Artifacts(source=tmp_path / "nope.tgz")


def test_pull_writes_a_bundle_that_installs_read(mirror, cache, tmp_path):
    seen = []
    out = Artifacts(cache_dir=cache, mirror=mirror.url).pull(V, tmp_path / "b.tgz", progress=lambda *x: seen.append(x))
    files = release_files()
    assert seen == [(name, sha(files[name])) for name in (BASE, ISTIOD, GATEWAY, INFERENCE)]
    assert out == tmp_path / "b.tgz" and out.stat().st_mode & 0o777 == 0o644
    with tarfile.open(out) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}
    assert sorted(members) == sorted([*files, "SHA256SUMS"])
    assert all(members[n] == files[n] for n in files)
    assert f"{sha(files[BASE])}  {BASE}" in members["SHA256SUMS"].decode()

    mirror.stop()
    bundle = Artifacts(source=out)
    assert bundle.istio_crds(V) == ISTIO_CRDS
    assert bundle.injection_templates(V)["waypoint.yaml"] == WAYPOINT_TEMPLATE
    assert len(bundle.gateway_api_crds("v1.5.1")) == 3


def test_pull_is_reproducible(mirror, cache, tmp_path):
    a = Artifacts(cache_dir=cache, mirror=mirror.url)
    assert a.pull(V, tmp_path / "1.tgz").read_bytes() == a.pull(V, tmp_path / "2.tgz").read_bytes()


def test_bundle_member_that_differs_from_its_sha256sums_line_is_an_error(tmp_path):
    files = release_files()
    sums = f"{sha(files[BASE])}  {BASE}\n".encode()
    bundle = tmp_path / "b.tgz"
    bundle.write_bytes(tgz({f"top/{BASE}": base_chart(yaml_docs(crd("x", "example.com"))), "top/SHA256SUMS": sums}))
    with pytest.raises(ChecksumError, match="SHA256SUMS"):
        Artifacts(source=bundle).istio_crds(V)


def test_bundle_in_one_folder_and_missing_file(tmp_path):
    files = release_files()
    bundle = tmp_path / "b.tgz"
    bundle.write_bytes(tgz({f"airgap/{BASE}": files[BASE]}))
    a = Artifacts(source=bundle)
    assert a.istio_crds(V) == ISTIO_CRDS
    with pytest.raises(InputError) as info:
        a.gateway_api_crds("v1.5.1")
    assert info.value.message == f"--artifacts {bundle} has no {GATEWAY}"


def test_pull_refuses_a_chart_without_what_installs_read(mirror, cache, tmp_path):
    mirror.files[ISTIOD] = tgz({"istiod/Chart.yaml": b"name: istiod\n"})
    with pytest.raises(InputError, match=f"{ISTIOD} has no istiod/files"):
        Artifacts(cache_dir=cache, mirror=mirror.url).pull(V, tmp_path / "b.tgz")
    assert not (tmp_path / "b.tgz").exists()


def test_sha256_pins_parse():
    digest = "AB" * 32
    assert art.parse_sha256_pins([f"{BASE}={digest}"]) == {BASE: digest.lower()}
    assert art.parse_sha256_pins(None) == {}
    for bad in ("base.tgz", f"={digest}", "base.tgz=abc", f"base.tgz={digest}x"):
        with pytest.raises(UsageError):
            art.parse_sha256_pins([bad])
    with pytest.raises(UsageError, match="two checksums"):
        art.parse_sha256_pins([f"a={'1' * 64}", f"a={'2' * 64}"])


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("MESHCTL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert art.default_cache_dir() == tmp_path / "xdg" / "meshctl"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert art.default_cache_dir() == tmp_path / "home" / ".cache" / "meshctl"
    monkeypatch.setenv("MESHCTL_CACHE_DIR", str(tmp_path / "mine"))
    assert art.default_cache_dir() == tmp_path / "mine"


# -- the command -------------------------------------------------------------------------------


def test_cli_pull_end_to_end(cli, monkeypatch, mirror, cache, tmp_path):
    monkeypatch.setenv("MESHCTL_ARTIFACT_MIRROR", mirror.url)
    out = tmp_path / "bundle.tgz"
    result = cli("artifacts", "pull", "--istio-version", "1.30", "-o", str(out))
    assert result.code == 0, result.err
    assert result.out == f"{out}\n"
    files = release_files()
    assert result.err.splitlines() == [f"{n}  sha256:{sha(files[n])}" for n in (BASE, ISTIOD, GATEWAY, INFERENCE)]
    assert out.stat().st_mode & 0o777 == 0o644
    assert Artifacts(source=out).istio_crds(V) == ISTIO_CRDS

    listed = cli("artifacts", "list")
    assert listed.code == 0
    lines = listed.out.splitlines()
    assert lines[0].split() == ["ASSET", "URL", "SIZE", "SHA256"]
    assert len(lines) == 5
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows[BASE] == [f"{mirror.url}/{BASE}", str(len(files[BASE])), sha(files[BASE])]
    data = json.loads(cli("artifacts", "list", "-o", "json").out)
    assert {d["asset"]: d["size"] for d in data}[GATEWAY] == len(files[GATEWAY])

    # Everything is cached: the same pull works with the server gone.
    mirror.stop()
    assert cli("artifacts", "pull", "-o", str(tmp_path / "again.tgz")).code == 0


def test_cli_pull_from_artifacts_dir_and_unused_pin(cli, tmp_path):
    source = write_dir(tmp_path / "files", release_files())
    result = cli("artifacts", "pull", "--artifacts", str(source), "-o", str(tmp_path / "b.tgz"),
                 "--artifact-sha256", f"base-1.29.8.tgz={'0' * 64}")
    assert result.code == 0, result.err
    assert "Warning: --artifact-sha256 base-1.29.8.tgz: no file of this bundle has that name" in result.err


def test_cli_pull_without_network(cli, monkeypatch, tmp_path):
    url = closed_port_url()
    monkeypatch.setenv("MESHCTL_ARTIFACT_MIRROR", url)
    result = cli("artifacts", "pull", "-o", str(tmp_path / "b.tgz"))
    assert result.code == 69
    error, hint = result.err.splitlines()
    assert error.startswith("Error: cannot download") and f"{url}/{BASE}" in error
    assert hint.startswith("Hint:") and "--artifacts" in hint
    assert not (tmp_path / "b.tgz").exists()


def test_cli_pull_usage_errors(cli, tmp_path):
    assert cli("artifacts", "pull", "--istio-version", "1.27", "-o", str(tmp_path / "b.tgz")).code == 2
    assert cli("artifacts", "pull", "--artifact-sha256", "x", "-o", str(tmp_path / "b.tgz")).code == 2
    assert cli("artifacts", "pull").code == 2  # -o is required


def test_cli_list_empty_cache(cli):
    result = cli("artifacts", "list")
    assert result.code == 0 and result.out == ""
    assert "No release files cached" in result.err


# -- the real release files --------------------------------------------------------------------


def test_real_upstream_release_files():
    upstream = needs_upstream()
    a = Artifacts(source=upstream, offline=True)
    crds = a.istio_crds("1.30.3")
    names = [c["metadata"]["name"] for c in crds]
    assert len(crds) == 15 and all(c["kind"] == "CustomResourceDefinition" for c in crds)
    assert names[0] == "trafficextensions.extensions.istio.io" and names[-1] == "telemetries.telemetry.istio.io"
    templates = a.injection_templates("1.30")
    assert sorted(templates) == sorted(["agentgateway.yaml", "gateway-injection-template.yaml", "grpc-agent.yaml",
                                        "grpc-simple.yaml", "injection-template.yaml", "kube-gateway.yaml",
                                        "waypoint.yaml"])
    with tarfile.open(upstream / "istiod-1.30.3.tgz") as tar:  # text unchanged, byte for byte
        assert templates["waypoint.yaml"].encode() == tar.extractfile("istiod/files/waypoint.yaml").read()
    gateway = a.gateway_api_crds("v1.5.1")
    assert gateway[-2]["metadata"]["name"] == "safe-upgrades.gateway.networking.k8s.io"
    assert sum(d["kind"] == "CustomResourceDefinition" for d in gateway) == 8
    inference = a.inference_crds("v1.6.0")
    assert inference[0]["metadata"]["name"] == "inferencepools.inference.networking.k8s.io"
