"""meshctl install, check and uninstall on a real kind cluster (the images come from Istio's registry;
the release files from shared/data/upstream, so nothing is downloaded by meshctl itself)."""

import subprocess
import sys

import pytest

from tests.conftest import UPSTREAM

pytestmark = pytest.mark.e2e


def meshctl(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meshctl", *args], capture_output=True, text=True, timeout=timeout)


def test_install_check_reinstall_and_uninstall(kind_clusters):
    if not (UPSTREAM / "base-1.30.3.tgz").is_file():
        pytest.skip(f"Istio 1.30.3 release files not found in {UPSTREAM}")
    c = kind_clusters[0]
    target = ["--kubeconfig", str(c.kubeconfig), "--context", c.context]
    first = meshctl("install", "-y", "--artifacts", str(UPSTREAM), *target)
    assert first.returncode == 0, first.stderr
    check = meshctl("check", "--wait", "3m", *target)
    assert check.returncode == 0, check.stdout + check.stderr
    again = meshctl("install", "-y", "--artifacts", str(UPSTREAM), *target)
    assert again.returncode == 0 and "Already up to date" in again.stderr, again.stderr
    gone = meshctl("uninstall", "--purge", "-y", *target)
    assert gone.returncode == 0, gone.stderr
