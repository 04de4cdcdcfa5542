"""`meshctl inference enable` against a fake API server: CRDs, the Gateway API check, the istiod flag."""

from __future__ import annotations

import shutil

import pytest
import yaml

from meshctl.mesh import labels as L
from tests.conftest import needs_upstream
from tests.inference.conftest import MODEL_SERVER, load_docs
from tests.install.conftest import fake_cluster, istiod_env, write_release_files
from tests.install.test_features import gateway_api_bundle

CRDS = "customresourcedefinitions.apiextensions.k8s.io"
POOL_CRD = "inferencepools.inference.networking.k8s.io"
BUNDLE = "gateway-api-inference-extension-v1.6.0-manifests.yaml"


def inference_bundle() -> list[dict]:
    """The shape of the release's manifests.yaml, small: its two CRDs, annotated with the bundle version."""
    def crd(plural, kind, group, version):
        return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.{group}",
                             "annotations": {"inference.networking.k8s.io/bundle-version": "v1.6.0"}},
                "spec": {"group": group, "scope": "Namespaced", "names": {"kind": kind, "plural": plural},
                         "versions": [{"name": version, "served": True, "storage": True,
                                       "subresources": {"status": {}},
                                       "schema": {"openAPIV3Schema": {
                                           "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
    return [crd("inferencepools", "InferencePool", "inference.networking.k8s.io", "v1"),
            crd("inferencepoolimports", "InferencePoolImport", "inference.networking.x-k8s.io", "v1alpha1")]


@pytest.fixture
def release(tmp_path, monkeypatch):
    monkeypatch.setenv("MESHCTL_CACHE_DIR", str(tmp_path / "cache"))
    folder = write_release_files(tmp_path / "release")
    (folder / "gateway-api-v1.5.1-standard-install.yaml").write_text(yaml.safe_dump_all(gateway_api_bundle()))
    (folder / BUNDLE).write_text(yaml.safe_dump_all(inference_bundle()))
    return folder


@pytest.fixture
def cluster(tmp_path, cli, release):
    with fake_cluster(tmp_path) as (kube, kc):
        def run(*args):
            return cli(*args, "--kubeconfig", str(kc), "--artifacts", str(release))

        yield kube, run, str(kc)


def writes(kube) -> list:
    """Requests that changed something (server-side dry runs do not)."""
    return [r for r in kube.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")
            and r.query.get("dryRun") != "All"]


def test_enable_refuses_without_gateway_api_and_changes_nothing(cluster):
    kube, run, _ = cluster
    assert run("install", "-y", "--skip-precheck").code == 0
    kube.clear_requests()
    result = run("inference", "enable", "-y")
    assert result.code == 1
    assert "the Gateway API CRDs are not installed in context c1" in result.err
    assert "Hint: add --gateway-api to install the standard bundle Istio 1.30.3 pins (v1.5.1)" in result.err
    assert writes(kube) == [] and kube.get_object(CRDS, POOL_CRD) is None


def test_enable_installs_the_crds_and_turns_the_flag_on_once(cluster):
    kube, run, _ = cluster
    assert run("install", "-y", "--skip-precheck").code == 0
    assert L.INFERENCE_ENV not in istiod_env(kube)
    result = run("inference", "enable", "-y", "--gateway-api")
    assert result.code == 0, result.err
    assert kube.get_object(CRDS, "httproutes.gateway.networking.k8s.io") is not None
    crd = kube.get_object(CRDS, POOL_CRD)
    assert crd["metadata"]["annotations"]["inference.networking.k8s.io/bundle-version"] == "v1.6.0"
    assert istiod_env(kube)[L.INFERENCE_ENV] == "true"
    assert "Gateway API Inference Extension v1.6.0: 2 of 2 objects applied" in result.err
    assert "✔ the Inference Extension is enabled in context c1" in result.err

    kube.clear_requests()
    again = run("inference", "enable", "-y", "--gateway-api")
    assert again.code == 0, again.err
    assert writes(kube) == []
    assert "Gateway API Inference Extension v1.6.0: 2 objects unchanged" in again.err
    assert f"{L.INFERENCE_ENV} is already on for istiod revision default" in again.err


def test_enable_dry_run_changes_nothing(cluster):
    kube, run, _ = cluster
    assert run("install", "-y", "--skip-precheck", "--gateway-api").code == 0
    kube.clear_requests()
    result = run("inference", "enable", "--dry-run")
    assert result.code == 0, result.err
    assert f"would create CustomResourceDefinition {POOL_CRD}" in result.out
    assert writes(kube) == [] and kube.get_object(CRDS, POOL_CRD) is None
    assert L.INFERENCE_ENV not in istiod_env(kube)
    assert "dry run: nothing was changed" in result.err


def test_enable_on_a_control_plane_meshctl_did_not_install_prints_the_change(cluster):
    kube, run, _ = cluster
    for crd in gateway_api_bundle()[:3]:
        kube.add(crd, reconcile=True)
    kube.add({"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "istiod", "namespace": "istio-system",
                           "labels": {"app": "istiod", L.OPERATOR_MANAGED: "Reconcile"}},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "istiod"}},
                       "template": {"metadata": {"labels": {"app": "istiod"}},
                                    "spec": {"containers": [{"name": "discovery",
                                                             "image": "docker.io/istio/pilot:1.29.2"}]}}}})
    result = run("inference", "enable", "-y")
    assert result.code == 0, result.err
    assert kube.get_object(CRDS, POOL_CRD) is not None
    assert "istioctl install --set values.pilot.env.ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true" in result.err
    assert ("kubectl -n istio-system set env deployment/istiod ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true"
            in result.err)
    assert L.INFERENCE_ENV not in istiod_env(kube)


def test_enable_without_istiod_changes_nothing(cluster):
    kube, run, _ = cluster
    kube.clear_requests()
    result = run("inference", "enable", "-y", "--gateway-api")
    assert result.code == 1
    assert "no istiod found in istio-system (context c1); nothing was changed" in result.err
    assert "meshctl install --set features.inferenceExtension=true" in result.err
    assert writes(kube) == []


def test_enable_with_the_release_bundle_then_scaffold_and_status(cluster, cli, release):
    """The real v1.6.0 manifests.yaml: enable, scaffold --apply, then status reads the pool back."""
    upstream = needs_upstream() / BUNDLE
    if not upstream.exists():
        pytest.skip(f"{upstream} not found")
    shutil.copy(upstream, release / BUNDLE)
    kube, run, kc = cluster
    assert run("install", "-y", "--skip-precheck", "--gateway-api").code == 0
    result = run("inference", "enable", "-y")
    assert result.code == 0, result.err
    assert kube.get_object(CRDS, POOL_CRD)["metadata"]["annotations"][
        "inference.networking.k8s.io/bundle-version"] == "v1.6.0"
    kube.add_all(load_docs(MODEL_SERVER), reconcile=True)
    applied = cli("inference", "scaffold", "--deployment", "llm/qwen3-8b", "--port", "8000",
                  "--gateway", "llm/inference-gateway", "--apply", "--kubeconfig", kc)
    assert applied.code == 0, applied.err
    shown = cli("inference", "status", "-n", "llm", "--kubeconfig", kc)
    assert "qwen3-8b-pool" in shown.out and "qwen3-8b-epp:9002" in shown.out
