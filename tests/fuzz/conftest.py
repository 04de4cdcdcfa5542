"""Fixtures for the fuzz tests: one harness (sandboxes, oracle) and one fake API server per session."""

from __future__ import annotations

import shutil

import pytest

from tests.fuzz.harness import Harness


@pytest.fixture(scope="session")
def fuzz_kube():
    """The fake API server live kubeconfig cases talk to (127.0.0.1 only), empty but for what it serves."""
    from tests.fakekube import FakeKube

    with FakeKube(name="fuzz", host="127.0.0.1") as kube:
        yield kube


@pytest.fixture(scope="session")
def fuzz(fuzz_kube):
    harness = Harness(fake_url=fuzz_kube.url)
    yield harness
    shutil.rmtree(harness.workdir, ignore_errors=True)
