"""`meshctl multicluster expose` against fake API servers: on a control plane meshctl installed (turned on
through an upgrade), on one it did not install (the exact change printed), and on seeded clusters."""

from __future__ import annotations

import pytest
import yaml

from meshctl.install.multicluster import east_west_gateway
from meshctl.mesh import labels as L
from tests.fakekube import FakeKube, write_kubeconfig
from tests.multicluster.conftest import GATEWAY_API_CRDS, NS

GATEWAYS = "gateways.gateway.networking.k8s.io"
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "labels": {"kubernetes.io/os": "linux"}}}


def expose(cli, m, *args):
    return cli("multicluster", "expose", "-y", "--kubeconfig", m.kubeconfig, "--context", m.contexts[0], *args)


def network_label(kube):
    return (kube.get_object("namespaces", NS)["metadata"].get("labels") or {}).get(L.NETWORK)


def env(workload, name):
    containers = workload["spec"]["template"]["spec"]["containers"]
    return next((e.get("value") for c in containers for e in c.get("env") or [] if e["name"] == name), None)


@pytest.fixture
def installed(tmp_path, cli, monkeypatch):
    """A fake cluster with the control plane `meshctl install` put there (release files built small)."""
    from tests.install.conftest import write_release_files

    monkeypatch.setenv("MESHCTL_CACHE_DIR", str(tmp_path / "cache"))
    release = write_release_files(tmp_path / "release")
    with FakeKube(name="c1", controllers=True) as kube:
        kube.add(NODE)
        kube.add_all(GATEWAY_API_CRDS, reconcile=True)
        kc = str(write_kubeconfig(tmp_path / "kc.yaml", [kube]))
        r = cli("install", "-y", "--skip-precheck", "--artifacts", str(release), "--kubeconfig", kc,
                "--set", "values.global.multiCluster.clusterName=east", "--set", "values.global.meshID=mesh1")
        assert r.code == 0, r.err
        yield kube, kc, str(release)


def test_expose_upgrades_a_meshctl_install_and_creates_the_gateway(cli, installed):
    kube, kc, release = installed
    run = ("multicluster", "expose", "-y", "--network", "net-east", "--kubeconfig", kc, "--artifacts", release)
    r = cli(*run, "--wait", "10s")
    assert r.code == 0, r.err
    assert network_label(kube) == "net-east"
    assert env(kube.get_object("deployments.apps", "istiod", NS), L.MULTI_NETWORK_ENV) == "true"
    assert env(kube.get_object("daemonsets.apps", "ztunnel", NS), "NETWORK") == "net-east"  # values.global.network
    gw = kube.get_object(GATEWAYS, L.EAST_WEST_GATEWAY, NS)
    assert gw["spec"] == east_west_gateway("net-east")["spec"]
    assert gw["spec"]["listeners"] == [{"name": "mesh", "port": 15008, "protocol": "HBONE", "tls": {
        "mode": "Terminate", "options": {"gateway.istio.io/tls-terminate-mode": "ISTIO_MUTUAL"}}}]
    assert gw["spec"]["gatewayClassName"] == "istio-east-west"
    assert gw["metadata"]["labels"] == {L.NETWORK: "net-east"}
    assert r.out.splitlines() == [
        "context c1: label istio-system topology.istio.io/network=net-east",
        "context c1: multi-network (AMBIENT_ENABLE_MULTI_NETWORK) turned on",
        "context c1: east-west gateway istio-system/istio-eastwestgateway created",
        "context c1: east-west gateway istio-system/istio-eastwestgateway is Programmed at "
        + gw["status"]["addresses"][0]["value"],
    ]
    kube.clear_requests()
    again = cli(*run)
    assert again.code == 0, again.err
    assert [m for m, *_ in kube.requests if m != "GET"] == []
    assert "already on network net-east" in again.out and "already on" in again.out and "unchanged" in again.out
    mesh_id = cli(*run, "--mesh-id", "mesh2")  # a value of the install, set through the same upgrade
    assert mesh_id.code == 0, mesh_id.err
    mesh = yaml.safe_load(kube.get_object("configmaps", "istio", NS)["data"]["mesh"])
    assert mesh["defaultConfig"]["meshId"] == "mesh2"


def test_expose_prints_the_change_for_a_control_plane_meshctl_did_not_install(cli, mesh):
    m = mesh(1, overrides={0: {"network": None, "multi_network": False, "installed_by": "istioctl"}})
    kube = m.kubes[0]
    r = expose(cli, m, "--network", "n1")
    assert r.code == 0, r.err
    assert "istioctl install --set values.pilot.env.AMBIENT_ENABLE_MULTI_NETWORK=true" in r.err
    assert "multi-network is not on until the change printed above is made" in r.err
    assert env(kube.get_object("deployments.apps", "istiod", NS), L.MULTI_NETWORK_ENV) is None  # left alone
    assert network_label(kube) == "n1"
    assert kube.get_object(GATEWAYS, L.EAST_WEST_GATEWAY, NS) is not None


def test_expose_will_not_move_a_cluster_to_another_network_without_force(cli, mesh):
    m = mesh(1)
    kube = m.kubes[0]
    kube.clear_requests()
    r = expose(cli, m, "--network", "elsewhere")
    assert r.code == 1
    assert "istio-system is on network 'net-alpha', not 'elsewhere'" in r.err and "--force" in r.err
    assert [req for req in kube.requests if req[0] != "GET"] == []
    moved = expose(cli, m, "--network", "elsewhere", "--force")
    assert moved.code == 0, moved.err
    assert "label istio-system topology.istio.io/network=elsewhere (was net-alpha)" in moved.out
    assert network_label(kube) == "elsewhere"
    assert kube.get_object(GATEWAYS, L.EAST_WEST_GATEWAY, NS)["metadata"]["labels"] == {L.NETWORK: "elsewhere"}
    assert "east-west gateway istio-system/istio-eastwestgateway updated" in moved.out


def test_expose_dry_run_changes_nothing(cli, mesh):
    m = mesh(1, overrides={0: {"network": None, "east_west": False}})
    kube = m.kubes[0]
    kube.clear_requests()
    r = expose(cli, m, "--network", "n1", "--dry-run")
    assert r.code == 0, r.err
    assert [req for req in kube.requests if req[0] != "GET"] == []
    assert "would label istio-system topology.istio.io/network=n1" in r.out
    assert "would create east-west gateway istio-system/istio-eastwestgateway:" in r.out
    assert yaml.safe_load(r.out.split("---\n", 1)[1]) == east_west_gateway("n1")
    assert network_label(kube) is None


def test_expose_keeps_an_east_west_gateway_of_another_name(cli, mesh):
    m = mesh(1, overrides={0: {"east_west": False}})
    kube = m.kubes[0]
    other = east_west_gateway("net-alpha")
    other["metadata"]["name"] = "cross-network"
    kube.add(other, reconcile=True)
    r = expose(cli, m, "--network", "net-alpha", "--wait", "5s")
    assert r.code == 0, r.err
    assert "east-west gateway istio-system/cross-network exists; kept as it is" in r.out
    assert "east-west gateway istio-system/cross-network is Programmed at" in r.out
    assert kube.get_object(GATEWAYS, L.EAST_WEST_GATEWAY, NS) is None


def test_expose_refuses_to_take_over_another_gateway_of_that_name(cli, mesh):
    m = mesh(1, overrides={0: {"east_west": False}})
    kube = m.kubes[0]
    kube.add({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
              "metadata": {"name": L.EAST_WEST_GATEWAY, "namespace": NS},
              "spec": {"gatewayClassName": "istio", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}})
    r = expose(cli, m, "--network", "net-alpha")
    assert r.code == 1 and "exists with class 'istio', not 'istio-east-west'" in r.err


def test_expose_wait_times_out_with_a_hint(cli, mesh):
    m = mesh(1, overrides={0: {"east_west": False}})
    m.kubes[0].controllers.discard("gateways")  # nothing programs the gateway
    r = expose(cli, m, "--network", "net-alpha", "--wait", "1s")
    assert r.code == 1
    assert "Gateway istio-system/istio-eastwestgateway not ready after 1s" in r.err
    assert "AMBIENT_ENABLE_MULTI_NETWORK=true" in r.err and "--wait" in r.err


def test_expose_installs_the_gateway_api_crds_only_when_asked(tmp_path, cli, monkeypatch):
    from tests.install.conftest import write_release_files
    from tests.install.test_features import gateway_api_bundle

    monkeypatch.setenv("MESHCTL_CACHE_DIR", str(tmp_path / "cache"))
    release = write_release_files(tmp_path / "release")
    (release / "gateway-api-v1.5.1-standard-install.yaml").write_text(
        "".join(f"---\n{yaml.safe_dump(d)}" for d in gateway_api_bundle()))
    with FakeKube(name="c1", controllers=True) as kube:
        kube.add(NODE)
        kc = str(write_kubeconfig(tmp_path / "kc.yaml", [kube]))
        assert cli("install", "-y", "--skip-precheck", "--artifacts", str(release), "--kubeconfig", kc).code == 0
        run = ("multicluster", "expose", "-y", "--network", "n1", "--kubeconfig", kc, "--artifacts", str(release))
        refused = cli(*run)
        assert refused.code == 1 and "does not serve Gateway API Gateways" in refused.err
        assert "pass --gateway-api" in refused.err
        done = cli(*run, "--gateway-api")
        assert done.code == 0, done.err
        assert kube.get_object("customresourcedefinitions.apiextensions.k8s.io", GATEWAYS) is not None
        assert kube.get_object(GATEWAYS, L.EAST_WEST_GATEWAY, NS)["spec"]["gatewayClassName"] == L.CLASS_EAST_WEST
