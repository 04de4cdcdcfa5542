"""`meshctl precheck` against fake API servers: versions, permissions (SelfSubjectAccessReviews),
existing Istio, CNI and platform, Gateway API and nodes."""

import json

import pytest

from meshctl.install.permissions import install_permissions, rbac_permissions
from meshctl.install.precheck import detect_platform, kubernetes_minor, version_facts
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from tests.conftest import DEMO
from tests.fakekube import FakeKube, seed_from_snapshot, write_kubeconfig

SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def node(name, *, os="linux", provider="kind://docker/c/", ready="True", cordoned=False, labels=None):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/os": os, **(labels or {})}},
            "spec": {"providerID": provider + name, **({"unschedulable": True} if cordoned else {})},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def istiod(revision="default", labels=None, namespace="istio-system", version="1.29.3"):
    name = "istiod" if revision == "default" else f"istiod-{revision}"
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app": "istiod", "istio.io/rev": revision, **(labels or {})}},
            "spec": {"selector": {"matchLabels": {"app": "istiod"}}, "template": {
                "metadata": {"labels": {"app": "istiod"}},
                "spec": {"containers": [{"name": "discovery", "image": f"docker.io/istio/pilot:{version}"}]}}},
            "status": {"readyReplicas": 1}}


def daemonset(name, namespace="kube-system", labels=None):
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name, "image": "x:1"}]}}}}


def gateway_crd(plural, version="v1.5.1", channel="standard"):
    group = "gateway.networking.k8s.io"
    kind = {"gateways": "Gateway", "gatewayclasses": "GatewayClass", "httproutes": "HTTPRoute",
            "tlsroutes": "TLSRoute"}[plural]
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}", "annotations": {
                "gateway.networking.k8s.io/bundle-version": version, "gateway.networking.k8s.io/channel": channel}},
            "spec": {"group": group, "scope": "Namespaced" if plural != "gatewayclasses" else "Cluster",
                     "names": {"plural": plural, "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True}]}}


@pytest.fixture
def fresh(tmp_path):
    """A cluster ready for an install: three Linux kind nodes, Gateway API v1.5.1 standard, nothing else."""
    with FakeKube(name="fresh") as kube:
        kube.add_all([node(f"fresh-{n}") for n in ("control-plane", "worker", "worker2")])
        kube.add_all([gateway_crd(p) for p in ("gatewayclasses", "gateways", "httproutes", "tlsroutes")])
        kube.add(daemonset("kindnet"))
        yield kube, str(write_kubeconfig(tmp_path / "kc.yaml", [kube]))


def run(cli, kc, *args):
    r = cli("precheck", "--kubeconfig", kc, "-o", "json", *args)
    return r, {c["name"]: c for category in json.loads(r.out or "[]") for c in category["checks"]}


def not_ok(checks):
    return {name: c for name, c in checks.items() if c["status"] != "ok"}


def test_a_fresh_cluster_passes_and_asks_one_review_per_permission(cli, fresh):
    kube, kc = fresh
    kube.clear_requests()
    r, checks = run(cli, kc)
    assert r.code == 0, r.out
    assert not_ok(checks) == {}
    assert checks["Kubernetes is 1.32 or newer (Istio 1.30.3)"]["detail"] == "v1.32.2"
    assert checks["the cluster's CNI lets istio-cni chain"]["detail"] == "kindnet"
    reviews = [q for q in kube.requests if q.method == "POST" and q.path == SSAR_PATH]
    assert len(reviews) == len(install_permissions("istio-system")) + len(rbac_permissions("istio-system")) == 84
    text = cli("precheck", "--kubeconfig", kc)
    assert text.code == 0
    assert text.out.splitlines()[:3] == [
        "Kubernetes", "----------", "\u2714 Kubernetes is 1.32 or newer (Istio 1.30.3) (v1.32.2)"]
    assert text.out.rstrip().endswith("Status check results are \u2714")


def test_denied_permissions_are_listed_in_one_failure(cli, fresh):
    kube, kc = fresh
    kube.deny(verb=["create", "patch"], resource="clusterrolebindings")
    kube.deny(verb="delete", resource="customresourcedefinitions")
    kube.deny(verb="list", resource="deployments", namespace="istio-system")
    r, checks = run(cli, kc)
    assert r.code == 1
    found = checks["can create and manage everything the install writes"]
    assert found["status"] == "failure"
    assert found["detail"] == ("4 of 80 permissions denied:\n"
                               "delete customresourcedefinitions.apiextensions.k8s.io\n"
                               "create, patch clusterrolebindings.rbac.authorization.k8s.io\n"
                               "list deployments.apps in istio-system")
    assert "cluster administrator" in found["hint"]
    assert not_ok(checks).keys() == {"can create and manage everything the install writes"}


def test_missing_escalate_and_bind_is_a_warning(cli, fresh):
    kube, kc = fresh
    kube.deny(verb=["escalate", "bind"], resource="clusterroles")
    r, checks = run(cli, kc)
    assert r.code == 0
    found = checks["can grant the RBAC the control plane needs"]
    assert found["status"] == "warning"
    assert found["detail"].startswith("denied: escalate, bind clusterroles.rbac.authorization.k8s.io;")


@pytest.mark.parametrize("server, istio, status", [
    ("v1.31.4", None, "failure"),  # Istio 1.30 (the default) needs 1.32
    ("v1.31.4", "1.29", "ok"),  # 1.29 needs 1.30
    ("v1.29.9-gke.1200", "1.29", "failure"),
    ("v1.29.3+k3s1", "1.28.1", "ok"),  # 1.28.0 and 1.28.1 still took 1.29
])
def test_kubernetes_version(cli, fresh, server, istio, status):
    kube, kc = fresh
    major, minor = server[1:].split(".")[:2]
    kube.version = {**kube.version, "gitVersion": server, "major": major, "minor": minor}
    r, checks = run(cli, kc, *(("--istio-version", istio) if istio else ()))
    [found] = [c for name, c in checks.items() if name.startswith("Kubernetes is")]
    assert found["status"] == status
    assert r.code == (1 if status == "failure" else 0)
    if status == "failure":
        assert f"the cluster runs Kubernetes {server}" in found["detail"] and found["hint"]


def test_windows_nodes_are_a_warning_and_no_linux_node_a_failure(cli, fresh):
    kube, kc = fresh
    kube.add(node("win-1", os="windows"))
    r, checks = run(cli, kc)
    assert r.code == 0
    found = checks["nodes run Linux"]
    assert (found["status"], found["detail"]) == ("warning", "1 of 4 nodes do not run Linux (win-1): ambient "
                                                             "(istio-cni, ztunnel) does not cover pods there")
    for name in ("fresh-control-plane", "fresh-worker", "fresh-worker2"):
        kube.delete_object("nodes", name)
    r, checks = run(cli, kc)
    assert r.code == 1 and checks["nodes run Linux"]["status"] == "failure"
    assert checks["Linux nodes can take pods"]["status"] == "skipped"


def test_no_schedulable_node_fails(cli, fresh):
    kube, kc = fresh
    kube.add(node("fresh-control-plane", cordoned=True))
    kube.add(node("fresh-worker", ready="False"))
    kube.add(node("fresh-worker2", cordoned=True))
    r, checks = run(cli, kc)
    assert r.code == 1
    assert checks["Linux nodes can take pods"]["detail"] == "every Linux node is cordoned or not Ready"


def test_no_nodes_fails(cli, tmp_path):
    with FakeKube(name="empty") as kube:
        kc = str(write_kubeconfig(tmp_path / "kc.yaml", [kube]))
        r, checks = run(cli, kc)
    assert r.code == 1
    assert checks["the cluster has nodes"]["status"] == "failure"
    assert checks["Gateway API CRDs are installed"]["status"] == "warning"
    assert all(c["hint"] for c in not_ok(checks).values())


def test_helm_installed_istiod_of_the_same_revision_conflicts(cli, fresh):
    kube, kc = fresh
    kube.add(istiod(labels={"app.kubernetes.io/managed-by": "Helm"}))
    r, checks = run(cli, kc)
    assert r.code == 1
    found = checks["no other tool manages istiod revision default"]
    assert found["detail"] == "istiod istio-system/istiod (1.29.3) was installed by Helm"
    assert "helm uninstall" in found["hint"] and "--revision NEW" in found["hint"]
    # installing beside it as a canary is fine; the Helm one is then listed as another revision
    r, checks = run(cli, kc, "--revision", "canary")
    assert r.code == 0
    assert checks["other control-plane revisions"]["detail"] == "default (1.29.3, Helm) in istio-system"


def test_istiod_installed_by_meshctl_is_updated_in_place(cli, fresh):
    kube, kc = fresh
    kube.add(istiod(labels={"app.kubernetes.io/managed-by": "meshctl"}))
    r, checks = run(cli, kc)
    assert r.code == 0
    assert checks["no other tool manages istiod revision default"]["detail"] == (
        "installed by meshctl: install updates it in place")


def test_the_demo_was_installed_by_istioctl(cli, tmp_path):
    with FakeKube(name="c1") as kube:
        seed_from_snapshot(kube, DEMO / "cluster1")
        r, checks = run(cli, str(write_kubeconfig(tmp_path / "kc.yaml", [kube])))
    assert r.code == 1
    assert checks["no other tool manages istiod revision default"]["detail"] == (
        "istiod istio-system/istiod (1.30.3) was installed by istioctl")
    assert "istioctl uninstall --revision default" in checks["no other tool manages istiod revision default"]["hint"]
    assert checks["no other tool manages istio-cni or ztunnel"]["detail"] == (
        "istio-cni DaemonSet istio-system/istio-cni-node was installed by istioctl\n"
        "ztunnel DaemonSet istio-system/ztunnel was installed by istioctl")
    sidecars = checks["no namespace uses sidecar injection"]
    assert sidecars["status"] == "warning" and "legacy (istio-injection=enabled)" in sidecars["detail"]


def test_cilium_must_not_own_the_cni_config(cli, fresh):
    kube, kc = fresh
    kube.delete_object("ds", "kindnet", "kube-system")
    kube.add(daemonset("cilium", labels={"k8s-app": "cilium"}))
    kube.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cilium-config", "namespace": "kube-system"},
              "data": {"enable-bpf-masquerade": "true"}})
    r, checks = run(cli, kc)
    assert r.code == 1
    found = checks["the cluster's CNI lets istio-cni chain"]
    assert found["status"] == "failure"
    assert found["detail"].splitlines()[0].startswith("Cilium owns the CNI configuration exclusively")
    assert "BPF masquerading" in found["detail"]
    assert "--set cni.exclusive=false" in found["hint"] and "bpf.masquerade=false" in found["hint"]
    kube.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cilium-config", "namespace": "kube-system"},
              "data": {"cni-exclusive": "false"}})
    r, checks = run(cli, kc)
    assert r.code == 0 and checks["the cluster's CNI lets istio-cni chain"]["detail"] == "Cilium"


def test_multus_is_a_warning(cli, fresh):
    kube, kc = fresh
    kube.add(daemonset("kube-multus-ds"))
    r, checks = run(cli, kc)
    found = checks["the cluster's CNI lets istio-cni chain"]
    assert r.code == 0 and found["status"] == "warning"
    assert "values.cni.provider=multus" in found["hint"]


@pytest.mark.parametrize("labels, provider, name, platform", [
    ({"cloud.google.com/gke-nodepool": "default-pool"}, "gce://project/zone/", "gke-a", "gke"),
    ({}, "k3s://", "k3d-demo-server-0", "k3d"),
    ({"node.kubernetes.io/instance-type": "k3s"}, "k3s://", "k3s-node", "k3s"),
    ({"minikube.k8s.io/name": "minikube"}, "", "minikube", "minikube"),
    ({"node.openshift.io/os_id": "rhcos"}, "aws:///", "ip-10-0-0-1", "openshift"),
    ({"microk8s.io/cluster": "true"}, "", "mk8s", "microk8s"),
    ({}, "kind://docker/c/", "kind-worker", None),
])
def test_platform_detection(labels, provider, name, platform):
    raw = node(name, provider=provider, labels=labels)
    assert detect_platform(Resource(raw, K.NODE)) == platform


def test_gke_needs_the_platform_value(cli, fresh):
    kube, kc = fresh
    kube.add(node("gke-pool-1", provider="gce://proj/europe-west1-b/", labels={"cloud.google.com/gke-nodepool": "p"}))
    r, checks = run(cli, kc)
    found = checks["the platform needs no special CNI settings"]
    assert r.code == 0 and found["status"] == "warning"
    assert found["detail"].startswith("GKE detected: CNI binaries live in /home/kubernetes/bin")
    assert found["hint"] == "install with --set values.global.platform=gke"


def test_gateway_api_missing_old_or_experimental(cli, fresh):
    kube, kc = fresh
    kube.add(gateway_crd("tlsroutes", version="v1.4.0"))
    r, checks = run(cli, kc)
    found = checks["Gateway API version suits Istio 1.30.3"]
    assert r.code == 0 and found["status"] == "warning"
    assert "Istio 1.30.3 ignores tlsroutes older than v1.5.0 (installed v1.4.0)" in found["detail"]
    assert "CRDs from different bundles: v1.4.0 (tlsroutes); v1.5.1 (gatewayclasses, gateways, httproutes)" in (
        found["detail"])
    assert found["hint"].endswith("/v1.5.1/standard-install.yaml")

    for plural in ("gatewayclasses", "gateways", "httproutes", "tlsroutes"):
        kube.add(gateway_crd(plural, channel="experimental"))
    r, checks = run(cli, kc)
    found = checks["Gateway API CRDs can stay as they are"]
    assert found["status"] == "warning" and found["detail"].startswith("experimental channel installed")


def test_safe_upgrades_policy_blocks_going_back_for_older_istio(cli, fresh):
    kube, kc = fresh
    r, checks = run(cli, kc, "--istio-version", "1.29")
    found = checks["Gateway API CRDs can stay as they are"]
    assert found["status"] == "warning"
    assert "refuses going back to v1.4.0 (the bundle Istio 1.29.8 pins)" in found["detail"]
    assert checks["Gateway API version suits Istio 1.29.8"]["status"] == "ok"


def test_offline_sources_are_refused(cli):
    r = cli("precheck", "--snapshot", str(DEMO))
    assert r.code == 2 and "precheck asks the live API server" in r.err and "meshctl check --snapshot" in r.err


def test_unsupported_istio_version_is_a_usage_error(cli, fresh):
    kube, kc = fresh
    r = cli("precheck", "--kubeconfig", kc, "--istio-version", "1.27")
    assert r.code == 2 and "not supported" in r.err


def test_version_facts():
    facts = version_facts("1.30")
    assert (facts.istio_version, facts.supported, len(facts.istio_crds), facts.gateway_api) == (
        "1.30.3", True, 15, "v1.5.1")
    assert "trafficextensions.extensions.istio.io" in facts.istio_crds
    old = version_facts("1.29.2")
    assert (len(old.istio_crds), old.gateway_api, old.gateway_api_minimums) == (14, "v1.4.0", ())
    unknown = version_facts("1.27.0")
    assert (unknown.supported, len(unknown.istio_crds), unknown.gateway_api) == (False, 14, "")
    assert kubernetes_minor("v1.30.4-eks-a737599") == (1, 30) and kubernetes_minor("nonsense") is None
