"""uninstall and revision tags against a fake cluster holding a (synthetic) meshctl install."""

from __future__ import annotations

import copy

import pytest

from meshctl.install.operations import skew_problem
from meshctl.mesh import labels as L
from tests.fakekube import FakeKube, write_kubeconfig


def owned(obj: dict, component: str, revision: str = "default") -> dict:
    obj = copy.deepcopy(obj)
    obj["metadata"].setdefault("labels", {}).update({
        L.MANAGED_BY: L.MANAGED_BY_MESHCTL, L.INSTALL_ID: f"istio-system.{revision}",
        L.INSTALL_COMPONENT: component, L.REV: revision})
    return obj


def cm(name: str, ns: str = "istio-system") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {}}


def istiod(revision: str = "default", version: str = "1.30.3") -> dict:
    name = "istiod" if revision == "default" else f"istiod-{revision}"
    labels = {"app": "istiod", L.REV: revision}
    return owned({"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": name, "namespace": "istio-system", "labels": labels},
                  "spec": {"selector": {"matchLabels": labels},
                           "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                               {"name": "discovery", "image": f"registry.istio.io/release/pilot:{version}-distroless"}]}}}},
                 "Pilot", revision)


def crd() -> dict:
    return owned({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                  "metadata": {"name": "widgets.example.istio.io"},
                  "spec": {"group": "example.istio.io", "scope": "Namespaced",
                           "names": {"kind": "Widget", "plural": "widgets"},
                           "versions": [{"name": "v1", "served": True, "storage": True}]}}, "Base")


def tag_webhook(tag: str, revision: str) -> dict:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": f"istio-revision-tag-{tag}", "labels": {L.TAG: tag, L.REV: revision}},
            "webhooks": []}


def ns(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


@pytest.fixture
def cluster(tmp_path, cli):
    kube = FakeKube(name="c1", controllers=True)
    with kube:
        kube.add(ns("istio-system"))
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])

        def run(*args):
            return cli(*args, "--kubeconfig", str(kc))

        yield kube, run


def test_uninstall_revision_deletes_only_its_owned_objects(cluster):
    kube, run = cluster
    kube.add_all([istiod(), istiod("canary", "1.31.0"), owned(cm("istio"), "Pilot"),
                  owned(cm("istio-canary"), "Pilot", "canary"), owned(cm("cni-config"), "Cni", "canary"), crd(),
                  cm("not-ours")])
    result = run("uninstall", "--revision", "canary", "-y")
    assert result.code == 0, result.err
    assert kube.get_object("deployments.apps", "istiod-canary", "istio-system") is None
    assert kube.get_object("configmaps", "istio-canary", "istio-system") is None
    # Shared components stay while another revision runs; others' objects are untouched.
    assert kube.get_object("configmaps", "cni-config", "istio-system") is not None
    assert "keeping Base, istio-cni and ztunnel" in result.err
    for name in ("istio", "not-ours"):
        assert kube.get_object("configmaps", name, "istio-system") is not None
    assert kube.get_object("customresourcedefinitions.apiextensions.k8s.io", "widgets.example.istio.io")


def test_uninstall_refuses_while_namespaces_are_enrolled(cluster):
    kube, run = cluster
    kube.add_all([istiod(), owned(cm("istio"), "Pilot"), ns("apps", **{L.DATAPLANE_MODE: "ambient"})])
    result = run("uninstall", "--revision", "default", "-y")
    assert result.code == 1
    assert "namespaces apps still rely on the control plane" in result.err
    assert "Hint: first: meshctl namespace unenroll apps --delete-waypoint — or pass --force" in result.err
    assert kube.get_object("configmaps", "istio", "istio-system") is not None
    forced = run("uninstall", "--revision", "default", "-y", "--force")
    assert forced.code == 0 and kube.get_object("configmaps", "istio", "istio-system") is None


def test_uninstall_refuses_while_a_tag_points_at_the_revision(cluster):
    kube, run = cluster
    kube.add_all([istiod(), istiod("canary"), owned(cm("istio-canary"), "Pilot", "canary"),
                  tag_webhook("default", "canary")])
    result = run("uninstall", "--revision", "canary", "-y")
    assert result.code == 1 and "revision tags default" in result.err
    hint = "meshctl tag set default --revision default --overwrite"
    assert f"Hint: first: {hint} —" in result.err
    assert run(*hint.split()[1:], "-y").code == 0  # the hint, run as written, clears the way
    assert run("uninstall", "--revision", "canary", "-y").code == 0


def test_purge_removes_crds_and_every_revision_and_is_idempotent(cluster):
    kube, run = cluster
    kube.add_all([istiod(), istiod("canary"), owned(cm("istio"), "Pilot"), crd()])
    assert run("uninstall", "--purge", "-y").code == 0
    assert kube.get_object("customresourcedefinitions.apiextensions.k8s.io", "widgets.example.istio.io") is None
    assert kube.objects("deployments.apps", "istio-system") == []
    again = run("uninstall", "--purge", "-y")
    assert again.code == 0 and "nothing to do" in again.err


def test_uninstall_dry_run_lists_and_keeps(cluster):
    kube, run = cluster
    kube.add_all([istiod(), owned(cm("istio"), "Pilot")])
    result = run("uninstall", "--revision", "default", "--dry-run")
    assert result.code == 0
    assert "would delete ConfigMap istio-system/istio" in result.out
    assert "would delete Deployment istio-system/istiod" in result.out
    assert kube.get_object("configmaps", "istio", "istio-system") is not None


def test_uninstall_needs_a_target_and_a_confirmation(cluster):
    kube, run = cluster
    assert run("uninstall").code == 2
    kube.add_all([istiod(), owned(cm("istio"), "Pilot")])
    result = run("uninstall", "--revision", "default")  # stdin is not a terminal and no -y
    assert result.code == 2 and "-y" in result.err
    assert kube.get_object("configmaps", "istio", "istio-system") is not None


def test_tag_list_and_remove(cluster):
    kube, run = cluster
    kube.add_all([istiod(), tag_webhook("default", "default"), tag_webhook("prod", "default"),
                  ns("apps", **{L.REV: "prod"})])
    listed = run("tag", "list")
    assert listed.code == 0
    assert listed.out.split("\n")[1].split() == ["default", "default", "-"]
    assert listed.out.split("\n")[2].split() == ["prod", "default", "apps"]
    refused = run("tag", "remove", "prod", "-y")
    assert refused.code == 1 and "apps" in refused.err
    assert run("tag", "remove", "default", "-y").code == 0
    assert kube.get_object("mutatingwebhookconfigurations.admissionregistration.k8s.io",
                           "istio-revision-tag-default") is None
    assert "does not exist" in run("tag", "remove", "default", "-y").err


@pytest.mark.parametrize("current, target, problem", [
    ("1.29.2", "1.30.3", None),
    ("1.30.1", "1.30.3", None),
    ("1.28.5", "1.30.3", "skips minor versions"),
    ("1.30.3", "1.29.0", "downgrade"),
    ("", "1.30.3", None),  # unknown (image by digest): nothing to say
])
def test_skew(current, target, problem):
    found = skew_problem(current, target)
    assert (found is None) if problem is None else (problem in found)


def test_uninstall_of_a_revision_that_is_not_there_fails_and_lists_the_installed_ones(cluster):
    kube, run = cluster
    kube.add_all([istiod(), istiod("canary", "1.31.0")])
    r = run("uninstall", "--revision", "canray", "-y")
    assert r.code == 1
    assert "no revision canray in istio-system" in r.err and "installed: canary, default" in r.err
    assert kube.get_object("deployments.apps", "istiod-canary", "istio-system") is not None
