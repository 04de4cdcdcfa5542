"""Shared test fixtures: a deterministic environment, a CLI runner through meshctl's exit point, golden files."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
GOLDEN = TESTDATA / "golden"
DEMO = TESTDATA / "clusters" / "demo"
UPSTREAM = ROOT.parent / "shared" / "data" / "upstream"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files (review the diff!)")


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch):
    """Tables and colours as documented: a fixed width, no colour, no terminal tricks."""
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    for var in ("MESHCTL_DEBUG", "MESHCTL_KUBECONFIG", "MESHCTL_CONTEXT", "MESHCTL_SNAPSHOT", "KUBECONFIG"):
        monkeypatch.delenv(var, raising=False)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


# Values tests plant that no output may ever show (besides every fake API server's token and Secrets).
FIXTURE_SECRETS: set[str] = set()
MIN_SECRET_LENGTH = 8  # shorter values ("true", "8080") occur in output for other reasons
PRIVATE_KEY_MARK = "PRIVATE KEY-----"


def planted_secrets() -> set[str]:
    from tests.fakekube.cluster import FakeKube

    found = set(FIXTURE_SECRETS)
    for kube in list(FakeKube.instances):
        found |= kube.secret_values()
    return {s.strip() for s in found if len(s.strip()) >= MIN_SECRET_LENGTH}


def assert_no_secret(text: str, where: str) -> None:
    """Fail when a token, key or secret value of the fixtures appears in a command's output (the
    failure names the secret by its length only: it must not reach the test log either)."""
    for secret in planted_secrets():
        if secret in text:
            raise AssertionError(f"a fixture secret ({len(secret)} characters) appeared in {where}")
    if PRIVATE_KEY_MARK in text:
        raise AssertionError(f"a private key appeared in {where}")


@pytest.fixture
def cli():
    """Run ``meshctl ARGS`` in-process through ``meshctl.cli.app.run`` (the real exit point).

    Every run's stdout and stderr, error paths included, is checked for the fixtures' secrets."""
    from meshctl.cli.app import run
    from meshctl.render import console

    def invoke(*args: str, stdin: bytes | str | None = None) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        data = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
        saved = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = io.TextIOWrapper(io.BytesIO(data)), out, err
        console.set_no_color(False)  # also drops consoles bound to earlier streams
        try:
            code = run(list(args))
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
        result = CliResult(code, out.getvalue(), err.getvalue())
        assert_no_secret(result.out, f"the stdout of meshctl {' '.join(args)[:200]}")
        assert_no_secret(result.err, f"the stderr of meshctl {' '.join(args)[:200]}")
        return result

    return invoke


@pytest.fixture
def golden(request):
    """Compare text to testdata/golden/NAME; with --update-golden write it instead."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        assert path.exists(), f"golden file {path} missing: run pytest --update-golden and review it"
        assert text == path.read_text(), f"output differs from {path} (pytest --update-golden rewrites it)"

    return check


def needs_upstream() -> Path:
    if not UPSTREAM.is_dir():
        pytest.skip(f"upstream release files not found at {UPSTREAM} (they live in shared/, beside the repo)")
    return UPSTREAM


@pytest.fixture
def kube():
    """A fake API server (tests/fakekube) on 127.0.0.1, stopped after the test."""
    from tests.fakekube import FakeKube

    with FakeKube(name="cluster1") as k:
        yield k


@pytest.fixture
def api(kube):
    """The real kubernetes ApiClient pointed at ``kube``."""
    from tests.fakekube.pyclient import api_client

    client = api_client(kube)
    yield client
    client.close()


def configmap(name: str, ns: str = "default", labels: dict | None = None, **data: str) -> dict:
    meta = {"name": name, "namespace": ns, **({"labels": labels} if labels else {})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
