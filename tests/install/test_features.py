"""Turning install features on (multiNetwork, inferenceExtension, …) and applying CRD bundles
(Gateway API) against a fake API server: the shared steps `multicluster expose`, `inference enable` and
`install --gateway-api` build on."""

from __future__ import annotations

import re

import pytest
import yaml

from meshctl.cli.installing import ALREADY, CHANGED, MANUAL, apply_bundle, enable_feature, install_gateway_api
from meshctl.errors import MeshctlError
from meshctl.kube.apply import writer_for
from meshctl.kube.live import open_live
from meshctl.mesh import labels as L
from tests.install.conftest import fake_cluster, istiod_env

GATEWAY_API = "gateway.networking.k8s.io"
CRDS = "customresourcedefinitions.apiextensions.k8s.io"


def gateway_api_crd(plural: str, kind: str, version: str = "v1.5.1", channel: str = "standard") -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{GATEWAY_API}",
                         "annotations": {L.GATEWAY_API_BUNDLE_VERSION: version, L.GATEWAY_API_CHANNEL: channel}},
            "spec": {"group": GATEWAY_API, "scope": "Namespaced", "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}}


def gateway_api_bundle(version: str = "v1.5.1") -> list[dict]:
    """The shape of the real standard-install.yaml, small: three CRDs and the upgrade-safety policy."""
    policy = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
              "metadata": {"name": "safe-upgrades.gateway.networking.k8s.io"},
              "spec": {"failurePolicy": "Fail", "validations": [{"expression": "true"}]}}
    binding = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
               "metadata": {"name": "safe-upgrades.gateway.networking.k8s.io"},
               "spec": {"policyName": "safe-upgrades.gateway.networking.k8s.io", "validationActions": ["Deny"]}}
    return [gateway_api_crd("gatewayclasses", "GatewayClass", version), gateway_api_crd("gateways", "Gateway", version),
            gateway_api_crd("httproutes", "HTTPRoute", version), policy, binding]


@pytest.fixture
def cluster(tmp_path, cli, release_files):
    (release_files / "gateway-api-v1.5.1-standard-install.yaml").write_text(
        "".join(f"---\n{yaml.safe_dump(d)}" for d in gateway_api_bundle()))
    with fake_cluster(tmp_path) as (kube, kc):
        def run(*args):
            return cli(*args, "--kubeconfig", str(kc), "--artifacts", str(release_files))

        def target():
            [state] = open_live(None, str(kc))
            return state, writer_for(state)

        yield kube, run, target, str(release_files)


def test_enable_feature_upgrades_a_meshctl_install_once(cluster):
    kube, run, target, artifacts = cluster
    assert run("install", "-y", "--skip-precheck", "--set", "values.pilot.env.FOO=bar").code == 0
    assert L.MULTI_NETWORK_ENV not in istiod_env(kube)
    state, writer = target()
    result = enable_feature(state, writer, "multiNetwork", artifacts=artifacts, artifact_sha256=[], yes=True,
                            dry_run=False, timeout=20)
    assert result == CHANGED
    env = istiod_env(kube)
    assert env[L.MULTI_NETWORK_ENV] == "true"
    assert env["FOO"] == "bar"  # the values given at install time are kept
    state, writer = target()
    kube.clear_requests()
    assert enable_feature(state, writer, "multiNetwork", artifacts=artifacts, artifact_sha256=[], yes=True,
                          dry_run=False, timeout=20) == ALREADY
    assert not [r for r in kube.requests if r.method in ("PATCH", "POST", "PUT", "DELETE")]


def test_enable_feature_keeps_the_installed_version(cluster, capsys):
    kube, run, target, artifacts = cluster
    assert run("install", "-y", "--skip-precheck", "--istio-version", "1.29.8").code == 0
    state, writer = target()
    enable_feature(state, writer, "inferenceExtension", artifacts=artifacts, artifact_sha256=[], yes=True,
                   dry_run=False, timeout=20)
    istiod = kube.get_object("deployments.apps", "istiod", "istio-system")
    assert istiod["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.29.8-distroless")
    assert istiod_env(kube)[L.INFERENCE_ENV] == "true"
    assert "✔ Upgraded: 0 created, 3 changed" in capsys.readouterr().err


def test_enable_feature_dry_run_changes_nothing(cluster, capsys):
    kube, run, target, artifacts = cluster
    assert run("install", "-y", "--skip-precheck").code == 0
    state, writer = target()
    kube.clear_requests()
    assert enable_feature(state, writer, "agentgateway", artifacts=artifacts, artifact_sha256=[], yes=False,
                          dry_run=True, timeout=20) == CHANGED
    assert L.AGENTGATEWAY_ENV not in istiod_env(kube)
    assert not [r for r in kube.requests if r.method in ("POST", "PUT", "DELETE")]
    out = capsys.readouterr().out
    assert re.search(rf"^ +\+ +- name: {L.AGENTGATEWAY_ENV}$", out, re.M)
    assert "apiVersion" not in out.split("Deployment istio-system/istiod", 1)[1]  # no key-order noise


def test_enable_feature_on_a_foreign_install_prints_the_change(cluster, capsys):
    kube, _, target, artifacts = cluster
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    kube.add({"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "istiod-canary", "namespace": "istio-system",
                           "labels": {"app": "istiod", L.REV: "canary", L.OPERATOR_MANAGED: "Reconcile"}},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "istiod"}},
                       "template": {"metadata": {"labels": {"app": "istiod"}},
                                    "spec": {"containers": [{"name": "discovery",
                                                             "image": "docker.io/istio/pilot:1.29.2"}]}}}})
    state, writer = target()
    kube.clear_requests()
    assert enable_feature(state, writer, "multiNetwork", artifacts=artifacts, artifact_sha256=[], yes=True,
                          dry_run=False, timeout=20) == MANUAL
    err = capsys.readouterr().err
    assert "istioctl install --revision canary --set values.pilot.env.AMBIENT_ENABLE_MULTI_NETWORK=true" in err
    assert "kubectl -n istio-system set env deployment/istiod-canary AMBIENT_ENABLE_MULTI_NETWORK=true" in err
    assert not [r for r in kube.requests if r.method in ("PATCH", "POST", "PUT", "DELETE")]


def test_enable_feature_without_a_control_plane_says_how_to_install(cluster):
    _, _, target, artifacts = cluster
    state, writer = target()
    with pytest.raises(MeshctlError, match="no istiod found in istio-system") as err:
        enable_feature(state, writer, "multiNetwork", artifacts=artifacts, artifact_sha256=[], yes=True,
                       dry_run=False, timeout=20)
    assert "meshctl install --set features.multiNetwork=true" in err.value.hint


def test_bundle_apply_creates_then_leaves_alone(cluster):
    kube, _, target, _ = cluster
    state, writer = target()
    assert apply_bundle(state, writer, gateway_api_bundle(), what="Gateway API", dry_run=False, yes=True) == 5
    assert kube.get_object(CRDS, f"gateways.{GATEWAY_API}") is not None
    # a kind meshctl does not register: plural and scope come from discovery, not a guess
    assert kube.get_object("validatingadmissionpolicies.admissionregistration.k8s.io",
                           "safe-upgrades.gateway.networking.k8s.io") is not None
    state, writer = target()
    kube.clear_requests()
    assert apply_bundle(state, writer, gateway_api_bundle(), what="Gateway API", dry_run=False, yes=True) == 0
    assert all(r.method == "GET" or r.query.get("dryRun") == "All" for r in kube.requests)


def test_gateway_api_is_installed_only_when_missing_or_older(cluster):
    kube, _, target, artifacts = cluster
    state, writer = target()
    assert install_gateway_api(state, writer, "1.30.3", artifacts=artifacts, artifact_sha256=[], dry_run=False,
                               yes=True) is True
    state, writer = target()
    assert install_gateway_api(state, writer, "1.30.3", artifacts=artifacts, artifact_sha256=[], dry_run=False,
                               yes=True) is False
    # a newer release already there is kept
    for obj in gateway_api_bundle("v1.6.0")[:3]:
        kube.add(obj)
    state, writer = target()
    kube.clear_requests()
    assert install_gateway_api(state, writer, "1.30.3", artifacts=artifacts, artifact_sha256=[], dry_run=False,
                               yes=True) is False
    assert not [r for r in kube.requests if r.method != "GET"]


def test_gateway_api_experimental_channel_is_not_replaced(cluster, capsys):
    kube, _, target, artifacts = cluster
    for obj in [gateway_api_crd("gateways", "Gateway", "v1.4.0", "experimental")]:
        kube.add(obj)
    state, writer = target()
    assert install_gateway_api(state, writer, "1.30.3", artifacts=artifacts, artifact_sha256=[], dry_run=False,
                               yes=True) is False
    assert "experimental channel" in capsys.readouterr().err


def test_install_with_gateway_api_flag(cluster):
    kube, run, _, _ = cluster
    result = run("install", "-y", "--skip-precheck", "--gateway-api")
    assert result.code == 0, result.err
    assert kube.get_object(CRDS, f"httproutes.{GATEWAY_API}") is not None
    assert "Gateway API v1.5.1 (standard channel): 5 of 5 objects applied" in result.err
    again = run("install", "-y", "--skip-precheck", "--gateway-api")
    assert again.code == 0 and "Gateway API v1.5.1 standard is installed" in again.err
