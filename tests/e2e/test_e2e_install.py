"""meshctl precheck, install, check, status and uninstall on a real kind cluster.

The images come from Istio's registry; the release files from shared/data/upstream, or, on a hosted CI
runner (MESHCTL_E2E_DOWNLOAD=1), from a bundle `meshctl artifacts pull` downloads first (see conftest.py).

The Gateway API CRDs are applied before the install, as Istio's ambient guide does: Istio never installs
them, waypoints need them, and istiod registers its GatewayClasses only when they are there at start. So
`check` runs every Gateway API check (and passes them) instead of skipping them with a warning.
"""

import json
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def meshctl(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meshctl", *args], capture_output=True, text=True, timeout=timeout)


def test_precheck_install_check_status_reinstall_and_uninstall(kind_clusters, istio_release):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed; the test applies the Gateway API CRDs with it")
    c = kind_clusters[0]
    target = ["--kubeconfig", str(c.kubeconfig), "--context", c.context]
    install = ["install", "-y", "--istio-version", istio_release.version, "--artifacts", str(istio_release.artifacts)]

    precheck = meshctl("precheck", "--istio-version", istio_release.version, *target)
    assert precheck.returncode == 0, precheck.stdout + precheck.stderr

    gateway_api = subprocess.run(["kubectl", "apply", "--server-side", "-f", str(istio_release.gateway_api),
                                  "--kubeconfig", str(c.kubeconfig), "--context", c.context],
                                 capture_output=True, text=True, timeout=300)
    assert gateway_api.returncode == 0, gateway_api.stderr

    first = meshctl(*install, *target)
    assert first.returncode == 0, first.stderr
    check = meshctl("check", "--wait", "3m", "-o", "json", *target)
    assert check.returncode == 0, check.stdout + check.stderr
    gateway_checks = {c["name"]: c["status"] for category in json.loads(check.stdout)
                      if category["name"] == "Gateway API" for c in category["checks"]}
    assert gateway_checks and set(gateway_checks.values()) == {"ok"}, gateway_checks  # run, not skipped

    status = meshctl("status", "-o", "json", *target)
    assert status.returncode == 0, status.stderr
    [cluster] = json.loads(status.stdout)
    istiods = [(x["revision"], x["version"], x["ready"]) for x in cluster["components"] if x["component"] == "istiod"]
    assert istiods == [("default", istio_release.version, 1)], cluster["components"]
    text = meshctl("status", *target)
    assert text.returncode == 0 and f"istiod default {istio_release.version} 1/1" in text.stdout, text.stdout

    again = meshctl(*install, *target)
    assert again.returncode == 0 and "Already up to date" in again.stderr, again.stderr
    gone = meshctl("uninstall", "--purge", "-y", *target)
    assert gone.returncode == 0, gone.stderr
