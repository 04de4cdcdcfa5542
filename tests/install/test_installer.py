"""The installer: plan against a live (fake) cluster, dependency-ordered apply, readiness, prune."""

from __future__ import annotations

import copy

import pytest

from meshctl.install.installer import (
    CREATE, PRUNE, UNCHANGED, UPDATE, Component, InstallTimeout, Installer, Ref, make_plan, readiness,
)
from meshctl.kube.apply import ClusterWriter
from meshctl.kube.live import open_live
from meshctl.mesh import labels as L
from tests.fakekube import FakeKube, write_kubeconfig

ID = "istio-system.default"


def owned(obj: dict, component: str) -> dict:
    obj = copy.deepcopy(obj)
    obj["metadata"].setdefault("labels", {}).update({
        L.MANAGED_BY: L.MANAGED_BY_MESHCTL, L.INSTALL_ID: ID, L.INSTALL_COMPONENT: component})
    return obj


def crd(plural: str, kind: str, group: str = "example.istio.io") -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced", "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}}


def workload(kind: str, name: str, **pod_labels: str) -> dict:
    labels = pod_labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "istio-system"},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": f"example/{name}:1"}]}}}}


def configmap(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "istio-system"},
            "data": data}


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}


def components(**extra_pilot: str) -> list[Component]:
    return [
        Component("Namespace", (NAMESPACE,)),
        Component("Base", (owned(crd("widgets", "Widget"), "Base"),
                           owned({"apiVersion": "v1", "kind": "ServiceAccount",
                                  "metadata": {"name": "reader", "namespace": "istio-system"}}, "Base"))),
        Component("Pilot", (owned(configmap("istio", mesh="a: 1", **extra_pilot), "Pilot"),
                            owned(workload("Deployment", "istiod"), "Pilot"))),
        Component("Cni", (owned(workload("DaemonSet", "istio-cni-node"), "Cni"),)),
        Component("Ztunnel", (owned(workload("DaemonSet", "ztunnel"), "Ztunnel"),)),
    ]


DEPS = {"Base": ("Namespace",), "Pilot": ("Base",), "Cni": ("Base",), "Ztunnel": ("Cni",)}


class Recorder:
    def __init__(self):
        self.events: list[tuple[str, str]] = []

    def component(self, name, state, detail=""):
        self.events.append((name, state))

    def note(self, text):
        pass


@pytest.fixture
def cluster(tmp_path):
    kube = FakeKube(name="c1", controllers=True)
    with kube:
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])

        def connect():
            state = open_live(None, str(kc))[0]
            return state, ClusterWriter(state)

        yield kube, connect


def install(connect, comps, *, timeout=5.0, prune=("Base", "Pilot", "Cni", "Ztunnel"), progress=None):
    state, writer = connect()
    plan = make_plan(state, writer, comps, ID, prune_components=prune, with_diff=True)
    summary = Installer(state, writer, comps, DEPS, timeout=timeout, interval=0.05, progress=progress).run(plan)
    return plan, summary


def test_fresh_install_creates_everything_in_dependency_order(cluster):
    kube, connect = cluster
    progress = Recorder()
    plan, summary = install(connect, components(), progress=progress)
    assert {c.action for c in plan.changes} == {CREATE}
    assert kube.get_object("deployments.apps", "istiod", "istio-system")["status"]["readyReplicas"] == 1
    ready = [name for name, state in progress.events if state == "ready"]
    assert ready.index("Base") < ready.index("Pilot") and ready.index("Cni") < ready.index("Ztunnel")
    # Cni starts without waiting for Pilot: both depend only on Base.
    assert progress.events.index(("Cni", "applying")) < progress.events.index(("Pilot", "ready"))
    assert set(summary.ready_after) == {"Namespace", "Base", "Pilot", "Cni", "Ztunnel"}


def test_second_run_changes_nothing(cluster):
    kube, connect = cluster
    install(connect, components())
    before = kube.resource_version
    plan, summary = install(connect, components())
    assert {c.action for c in plan.changes} == {UNCHANGED}
    assert summary.applied == [] and summary.pruned == []
    assert kube.resource_version == before


def test_changed_object_is_an_update_with_a_diff(cluster):
    kube, connect = cluster
    install(connect, components())
    plan, _ = install(connect, components(extra="yes"))
    [change] = [c for c in plan.changes if c.action == UPDATE]
    assert str(change.ref) == "ConfigMap istio-system/istio"
    assert "+  extra: 'yes'" in change.diff or '+  extra: "yes"' in change.diff or "+  extra: yes" in change.diff
    assert kube.get_object("configmaps", "istio", "istio-system")["data"]["extra"] == "yes"


def test_prune_removes_owned_objects_the_render_dropped_whatever_their_version(cluster):
    kube, connect = cluster
    old = owned(configmap("leftover"), "Pilot")
    old["metadata"]["labels"][L.INSTALL_VERSION] = "1.27.0"  # written by an older install
    other_install = owned(configmap("other"), "Pilot")
    other_install["metadata"]["labels"][L.INSTALL_ID] = "istio-system.canary"
    kube.add(NAMESPACE)
    kube.add(old)
    kube.add(other_install)
    plan, summary = install(connect, components())
    assert [str(c.ref) for c in plan.changes if c.action == PRUNE] == ["ConfigMap istio-system/leftover"]
    assert kube.get_object("configmaps", "leftover", "istio-system") is None
    assert kube.get_object("configmaps", "other", "istio-system") is not None  # another revision's


def test_prune_is_limited_to_the_rendered_components_and_never_crds(cluster):
    kube, connect = cluster
    install(connect, components())
    comps = [c for c in components() if c.name not in ("Ztunnel",)]
    comps = [Component("Base", ()) if c.name == "Base" else c for c in comps]
    plan, _ = install(connect, comps, prune=("Base", "Pilot", "Cni"))
    pruned = sorted(str(c.ref) for c in plan.changes if c.action == PRUNE)
    assert pruned == ["ServiceAccount istio-system/reader"]  # CRD kept; Ztunnel out of scope
    assert kube.get_object("daemonsets.apps", "ztunnel", "istio-system") is not None


def test_conflict_with_an_object_another_tool_manages(cluster):
    kube, connect = cluster
    kube.add(NAMESPACE)
    helm = configmap("istio")
    helm["metadata"]["labels"] = {L.MANAGED_BY: "Helm"}
    kube.add(helm)
    state, writer = connect()
    plan = make_plan(state, writer, components(), ID)
    assert [(str(c.ref), c.owner) for c in plan.conflicts] == [("ConfigMap istio-system/istio", "Helm")]


def test_timeout_names_the_unready_pods_and_their_reasons(cluster):
    kube, connect = cluster
    kube.controllers.discard("daemonsets")
    kube.add(NAMESPACE)
    kube.add({"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "istio-cni-node-x1", "namespace": "istio-system",
                           "labels": {"app": "istio-cni-node"}},
              "spec": {"containers": [{"name": "install-cni", "image": "x"}]},
              "status": {"phase": "Pending", "containerStatuses": [
                  {"name": "install-cni", "ready": False,
                   "state": {"waiting": {"reason": "ImagePullBackOff", "message": "pull access denied"}}}]}})
    kube.add({"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": "e1", "namespace": "istio-system"},
              "involvedObject": {"kind": "Pod", "name": "istio-cni-node-x1", "namespace": "istio-system"},
              "reason": "Failed", "message": "Failed to pull image", "lastTimestamp": "2026-01-01T00:00:00Z"})
    with pytest.raises(InstallTimeout) as err:
        install(connect, components(), timeout=0.3)
    text = str(err.value) + "\n" + "\n".join(err.value.details)
    assert "\n" not in str(err.value)
    assert "Cni not ready" in text and "DaemonSet istio-system/istio-cni-node" in text
    assert "ImagePullBackOff (pull access denied)" in text and "Failed to pull image" in text
    assert err.value.hint.startswith("fix what the pods report above, then run the same command again")
    # Pilot did not depend on Cni, so it became ready; Ztunnel never started.
    assert kube.get_object("deployments.apps", "istiod", "istio-system")["status"]["readyReplicas"] == 1
    assert kube.get_object("daemonsets.apps", "ztunnel", "istio-system") is None


def test_a_crd_that_never_gets_established_points_at_its_conditions(cluster):
    kube, connect = cluster
    kube.controllers.discard("crds")
    with pytest.raises(InstallTimeout) as err:
        install(connect, components(), timeout=0.3)
    assert str(err.value).startswith("Base not ready")
    assert err.value.hint.startswith("see why: kubectl get crd widgets.example.istio.io -o "
                                     "jsonpath='{.status.conditions}', then run the same command again")


def test_interrupted_install_completes_on_a_rerun(cluster):
    kube, connect = cluster
    kube.controllers.discard("daemonsets")
    with pytest.raises(InstallTimeout):
        install(connect, components(), timeout=0.2)
    kube.controllers = True
    kube.resync()
    plan, summary = install(connect, components())
    assert "Ztunnel" in summary.ready_after
    assert kube.get_object("daemonsets.apps", "ztunnel", "istio-system") is not None


def test_a_transient_503_on_apply_is_retried(cluster):
    kube, connect = cluster
    kube.faults.add(503, times=1, method="PATCH", path="/api/v1/namespaces/istio-system/configmaps/istio")
    install(connect, components())
    assert kube.get_object("configmaps", "istio", "istio-system") is not None
    assert len(kube.faults) == 0  # the fault was met, and the apply sent again


@pytest.mark.parametrize("obj, ready", [
    ({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
      "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "readyReplicas": 3}}, False),
    ({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {},
      "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1}}, False),
    ({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {},
      "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1}}, True),
    ({"kind": "DaemonSet", "metadata": {"generation": 1},
      "status": {"observedGeneration": 1, "desiredNumberScheduled": 0}}, False),
    ({"kind": "DaemonSet", "metadata": {"generation": 1},
      "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "numberReady": 3,
                 "updatedNumberScheduled": 2}}, False),
    ({"kind": "DaemonSet", "metadata": {"generation": 1},
      "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "numberReady": 3,
                 "updatedNumberScheduled": 3}}, True),
    ({"kind": "CustomResourceDefinition", "status": {"conditions": [{"type": "Established", "status": "False"}]}},
     False),
])
def test_readiness_rules(obj, ready):
    assert readiness(obj)[0] is ready


def test_ref_text():
    assert str(Ref.of(workload("Deployment", "istiod"))) == "Deployment istio-system/istiod"
