"""Ambient revisions share one data plane: a revision install leaves ztunnel and istio-cni alone, only
an explicit step moves them, uninstall refuses to orphan them, and `check` is red when they follow an
istiod that is gone (issue 15, item 1)."""

from __future__ import annotations

import json

import pytest

from tests.install.test_install_cli import cluster  # noqa: F401 (the fixture)

NS = "istio-system"


def daemonsets(kube):
    return {name: kube.get_object("daemonsets.apps", name, NS) for name in ("ztunnel", "istio-cni-node")}


def xds_address(kube):
    ds = kube.get_object("daemonsets.apps", "ztunnel", NS)
    container = next(c for c in ds["spec"]["template"]["spec"]["containers"] if c["name"] == "istio-proxy")
    return next(e["value"] for e in container["env"] if e["name"] == "XDS_ADDRESS")


def check_results(plain):
    r = plain("check", "-o", "json")
    return r, {c["name"]: c for category in json.loads(r.out) for c in category["checks"]}


def test_a_revision_install_leaves_the_shared_data_plane_alone(cluster):
    kube, run, plain = cluster
    assert run("install", "-y").code == 0
    before = daemonsets(kube)
    canary = run("install", "--revision", "canary", "-y")
    assert canary.code == 0, canary.err
    assert ("the data plane (ztunnel, istio-cni) follows revision default and stays on it; move it when ready, "
            "node by node, with: meshctl dataplane upgrade --revision canary") in canary.err
    after = daemonsets(kube)
    for name in before:  # not re-applied at all: the very same object
        assert after[name]["metadata"]["resourceVersion"] == before[name]["metadata"]["resourceVersion"], name
    assert xds_address(kube) == "istiod.istio-system.svc:15012"
    assert kube.get_object("deployments.apps", "istiod-canary", NS) is not None
    assert "data plane      istio-cni -> default, ztunnel -> default" in plain("status").out
    # a re-run of the default install keeps following default too, and re-runs change nothing there
    again = run("install", "--revision", "canary", "-y")
    assert again.code == 0 and daemonsets(kube)["ztunnel"]["metadata"]["resourceVersion"] == \
        before["ztunnel"]["metadata"]["resourceVersion"]


def test_the_data_plane_moves_only_when_asked_and_uninstall_never_orphans_it(cluster):
    kube, run, plain = cluster
    assert run("install", "-y").code == 0
    assert run("install", "--revision", "canary", "-y").code == 0
    assert plain("tag", "set", "default", "--revision", "canary", "--overwrite", "-y").code == 0
    refused = plain("uninstall", "--revision", "default", "-y")
    assert refused.code == 1
    assert "ztunnel and istio-cni follow revision default" in refused.err
    assert "meshctl dataplane upgrade --revision canary" in refused.err
    assert kube.get_object("deployments.apps", "istiod", NS) is not None  # nothing was deleted

    moved = run("upgrade", "--revision", "canary", "--components", "cni,ztunnel", "-y")
    assert moved.code == 0, moved.err
    assert xds_address(kube) == "istiod-canary.istio-system.svc:15012"
    # now the default revision can go, and the canary one cannot
    assert plain("uninstall", "--revision", "canary", "-y").code == 1
    gone = plain("uninstall", "--revision", "default", "-y")
    assert gone.code == 0, gone.err
    assert kube.get_object("daemonsets.apps", "ztunnel", NS) is not None
    r, checks = check_results(plain)
    assert checks["ztunnel and istio-cni follow an installed istiod"]["status"] == "ok", checks


def test_check_is_red_when_ztunnel_follows_an_istiod_that_is_gone(cluster):
    kube, run, plain = cluster
    assert run("install", "-y").code == 0
    r, checks = check_results(plain)
    assert checks["ztunnel and istio-cni follow an installed istiod"]["status"] == "ok"
    kube.delete_object("deployments.apps", "istiod", NS)  # what an uninstall by hand leaves
    r, checks = check_results(plain)
    result = checks["ztunnel and istio-cni follow an installed istiod"]
    assert result["status"] == "failure", result
    assert "follows revision default, whose istiod is not installed" in result["detail"]
    assert r.code == 1
    status = plain("status")
    assert "data plane      istio-cni -> default, ztunnel -> default" in status.out
    assert "ztunnel follows revision default, whose istiod is not installed" in status.out
    assert "hint: install a control plane: meshctl install" in status.out


@pytest.mark.parametrize("address, revision", [
    ("istiod.istio-system.svc:15012", "default"),
    ("istiod-canary.istio-system.svc:15012", "canary"),
    ("istiod-canary.istio-system.svc.cluster.local:15012", "canary"),
    ("istiod-revision-tag-prod.istio-system.svc:15012", "stable"),  # a tag's Service: the revision it points at
    ("istiod-revision-tag-none.istio-system.svc:15012", None),
    ("istiod.other-ns.svc:15012", None),
    ("10.0.0.1:15012", None),
    ("", None),
])
def test_the_revision_an_xds_address_names(address, revision):
    from meshctl.kube import kinds as K
    from meshctl.mesh.controlplane import revision_of_address

    class Services:  # the one read revision_of_address makes: a tag's Service
        def get(self, kind, name, namespace):
            assert kind is K.SERVICE and namespace == NS
            if name == "istiod-revision-tag-prod":
                from meshctl.kube.state import Resource
                return Resource({"apiVersion": "v1", "kind": "Service",
                                 "metadata": {"name": name, "namespace": NS, "labels": {"istio.io/rev": "stable"}}},
                                K.SERVICE)
            return None

    assert revision_of_address(Services(), NS, address) == revision
