"""A no-op is a no-op: a re-run whose plan is unchanged sends no write (a server-side dry run is a
PATCH too); a real difference, even one another field manager made, is still applied. An interruption
says how far it got, exits 130 without a traceback, and the same command finishes the job."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from meshctl.install.installer import UNCHANGED, UPDATE, Component, Installer, already_applied, make_plan
from meshctl.kube.apply import ClusterWriter
from meshctl.kube.live import open_live
from meshctl.mesh import labels as L
from tests.fakekube import FakeKube, write_kubeconfig
from tests.install.conftest import fake_cluster

ROOT = Path(__file__).resolve().parents[2]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
ISTIOD = "/apis/apps/v1/namespaces/istio-system/deployments/istiod"
VALUES = "/api/v1/namespaces/istio-system/configmaps/values"
INJECTOR = "/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector"


@pytest.fixture
def cluster(tmp_path, cli, release_files):
    with fake_cluster(tmp_path) as (kube, kc):
        def run(*args):
            return cli(*args, "--kubeconfig", str(kc), "--artifacts", str(release_files))

        yield kube, kc, run


def writes(kube) -> list:
    """Requests that may change the cluster: a SelfSubjectAccessReview (the precheck's "may I?") is a
    POST that stores nothing, so it is a question, not a write."""
    return [r for r in kube.requests if r.method in WRITES and not r.path.endswith("/selfsubjectaccessreviews")]


def applied_paths(kube) -> set[str]:
    """The objects really written (dry runs left out)."""
    return {r.path for r in writes(kube) if not r.query.get("dryRun")}


def istiod_container(kube) -> dict:
    obj = kube.get_object("deployments.apps", "istiod", "istio-system")
    [container] = obj["spec"]["template"]["spec"]["containers"]
    return container


def test_a_second_install_sends_no_write_and_still_checks_readiness(cluster):
    kube, _, run = cluster
    assert run("install", "-y").code == 0
    # the server defaulted fields the render leaves out: they are not differences
    service = kube.get_object("services", "istiod", "istio-system")
    assert service["spec"]["clusterIP"] and service["spec"]["ports"][0]["targetPort"]
    assert kube.get_object("deployments.apps", "istiod", "istio-system")["spec"]["strategy"]
    kube.clear_requests()
    again = run("install", "-y")
    assert again.code == 0, again.err
    assert "Already up to date" in again.err and "0 created, 0 changed" in again.err
    assert writes(kube) == []
    assert any(r.method == "GET" and "/deployments" in r.path for r in kube.requests)  # readiness was read


def test_a_changed_value_applies_only_what_it_changes(cluster):
    kube, _, run = cluster
    assert run("install", "-y").code == 0
    kube.clear_requests()
    changed = run("install", "-y", "--set", "values.pilot.env.MESHCTL_TEST_FLAG=5")
    assert changed.code == 0, changed.err
    # istiod, the values it was rendered from (kept for upgrades) and the injector's copy of them
    changed_objects = {ISTIOD, VALUES, INJECTOR}
    assert applied_paths(kube) == changed_objects
    assert {r.path for r in writes(kube)} == changed_objects  # no dry run of an unchanged object either
    assert {"name": "MESHCTL_TEST_FLAG", "value": "5"} in istiod_container(kube)["env"]


def test_a_field_the_render_dropped_is_removed(tmp_path):
    """meshctl owns a field it no longer renders: the objects look alike field by field, but applying
    removes it, so it is a change (the installer itself: the CLI keeps a value set before)."""
    def components(*env: str) -> list[Component]:
        labels = {L.MANAGED_BY: L.MANAGED_BY_MESHCTL, L.INSTALL_ID: "istio-system.default",
                  L.INSTALL_COMPONENT: "Pilot"}
        config = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "settings", "namespace": "istio-system", "labels": labels}, "data": {"a": "1"}}
        work = {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "istiod", "namespace": "istio-system", "labels": labels},
                "spec": {"selector": {"matchLabels": {"app": "istiod"}},
                         "template": {"metadata": {"labels": {"app": "istiod"}}, "spec": {"containers": [
                             {"name": "discovery", "image": "pilot:1",
                              "env": [{"name": e, "value": "1"} for e in env]}]}}}}
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}
        return [Component("Namespace", (namespace,)), Component("Pilot", (config, work))]

    def install(comps):
        state = open_live(None, str(kc))[0]
        writer = ClusterWriter(state)
        plan = make_plan(state, writer, comps, "istio-system.default")
        Installer(state, writer, comps, {"Pilot": ("Namespace",)}, timeout=5, interval=0.05).run(plan)
        return plan

    with FakeKube(name="c1", controllers=True) as kube:
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        install(components("A", "B"))
        kube.clear_requests()
        assert {c.action for c in install(components("A", "B")).changes} == {UNCHANGED} and writes(kube) == []
        plan = install(components("A"))
        assert [(c.action, str(c.ref)) for c in plan.changes if c.action != UNCHANGED] == \
            [(UPDATE, "Deployment istio-system/istiod")]
        assert {r.path for r in writes(kube)} == {ISTIOD}
        assert [e["name"] for e in istiod_container(kube).get("env") or []] == ["A"]


def test_a_field_another_manager_changed_is_applied_again(cluster):
    kube, _, run = cluster
    assert run("install", "-y").code == 0
    image = istiod_container(kube)["image"]
    container = istiod_container(kube)["name"]
    patch = {"spec": {"template": {"spec": {"containers": [{"name": container, "image": "example/pilot:hacked"}]}}}}
    request = urllib.request.Request(f"{kube.url}{ISTIOD}?fieldManager=kubectl", data=json.dumps(patch).encode(),
                                     method="PATCH", headers={"Content-Type": "application/strategic-merge-patch+json"})
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    assert istiod_container(kube)["image"] == "example/pilot:hacked"
    kube.clear_requests()
    again = run("install", "-y")
    assert again.code == 0, again.err
    assert "Deployment istio-system/istiod" in again.err and "1 changed" in again.err
    assert applied_paths(kube) == {ISTIOD}
    assert istiod_container(kube)["image"] == image
    # meshctl owns the image again (forced), so the next run is a no-op
    kube.clear_requests()
    assert run("install", "-y").code == 0 and writes(kube) == []


# -- the comparison itself, on objects as a real API server returns them ("." entries, defaulted keys)


def deployment(memory: str = "2048Mi", env: tuple[str, ...] = ("A",)) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
            "spec": {"template": {"spec": {"containers": [{
                "name": "c", "image": "img:1", "ports": [{"containerPort": 8080}],
                "env": [{"name": e, "value": "1"} for e in env],
                "resources": {"requests": {"memory": memory, "cpu": 1}}}]}}}}


def live_deployment(env: tuple[str, ...] = ("A",), image: str = "img:1", manager_owns_image: bool = True) -> dict:
    container = {"f:name": {}, "f:ports": {".": {}, 'k:{"containerPort":8080,"protocol":"TCP"}': {
                     ".": {}, "f:containerPort": {}, "f:protocol": {}}},
                 "f:env": {".": {}, **{f'k:{{"name":"{e}"}}': {".": {}, "f:name": {}, "f:value": {}} for e in env}},
                 "f:resources": {".": {}, "f:requests": {".": {}, "f:cpu": {}, "f:memory": {}}}}
    if manager_owns_image:
        container["f:image"] = {}
    fields = {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, **container}}}}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "n", "uid": "u1", "resourceVersion": "7", "managedFields": [
                {"manager": "meshctl", "operation": "Apply", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": fields}]},
            "spec": {"replicas": 1, "strategy": {"type": "RollingUpdate"},
                     "template": {"spec": {"restartPolicy": "Always", "containers": [{
                         "name": "c", "image": image, "imagePullPolicy": "IfNotPresent",
                         "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                         "env": [{"name": e, "value": "1"} for e in env] + [{"name": "OTHER", "value": "x"}],
                         "resources": {"requests": {"memory": "2Gi", "cpu": "1"}}}]}}},
            "status": {"readyReplicas": 1}}


def test_already_applied_ignores_server_defaults_and_canonical_quantities():
    assert already_applied(deployment(), live_deployment())


@pytest.mark.parametrize("obj, live", [
    (deployment(memory="3Gi"), live_deployment()),                          # a value the render changed
    (deployment(env=()), live_deployment(env=("A",))),                      # a field meshctl applied and dropped
    (deployment(env=("A", "B")), live_deployment(env=("A",))),              # a new field
    (deployment(), live_deployment(image="img:2", manager_owns_image=False)),  # another manager's edit
], ids=["changed-value", "dropped-field", "new-field", "taken-over"])
def test_already_applied_sees_real_differences(obj, live):
    assert not already_applied(obj, live)


def test_already_applied_needs_meshctl_apply_entry_and_exact_atomic_lists():
    live = live_deployment()
    assert not already_applied(deployment(), dict(live, metadata=dict(live["metadata"], managedFields=[])))
    hook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "v"}, "webhooks": [{"name": "w", "rules": [{"operations": ["CREATE"]}]}]}
    fields = {"f:webhooks": {'k:{"name":"w"}': {".": {}, "f:name": {}, "f:rules": {}}}}
    stored = {**hook, "metadata": {"name": "v", "managedFields": [
        {"manager": "meshctl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": fields}]}}
    defaulted = dict(stored, webhooks=[{"name": "w", "rules": [{"operations": ["CREATE"], "scope": "*"}],
                                        "timeoutSeconds": 10}])
    assert already_applied(hook, defaulted)  # scope is the server's default inside the atomic list
    earlier = dict(stored, webhooks=[{"name": "w", "rules": [{"operations": ["CREATE"], "scope": "*",
                                                              "apiGroups": [""]}]}])
    assert not already_applied(hook, earlier)  # a field an earlier render had: applying removes it


# -- interruption ------------------------------------------------------------------------------------


def start(args: list[str], kc: Path, release_files: Path | None = None) -> subprocess.Popen:
    more = ["--artifacts", str(release_files)] if release_files else []
    env = dict(os.environ, NO_COLOR="1", TERM="dumb", COLUMNS="120", PYTHONPATH=str(ROOT))
    env.pop("MESHCTL_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "meshctl", *args, "--kubeconfig", str(kc), *more],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def wait_for_request(kube, method: str, path: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while not any(r.method == method and r.path == path for r in kube.requests):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "meshctl never sent the request"
        time.sleep(0.02)


def test_ctrl_c_mid_install_says_how_far_it_got_and_a_rerun_finishes(cluster, release_files):
    kube, kc, run = cluster
    kube.faults.add(delay=1.5, method="PATCH", path=f"{ISTIOD}$")  # mid-install: istiod's apply is slow
    proc = start(["install", "-y"], kc, release_files)
    wait_for_request(kube, "PATCH", ISTIOD, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Error:" not in err
    last = err.rstrip("\n").splitlines()[-1]
    match = re.fullmatch(r"interrupted after (\d+) of (\d+) changes; run the same command to finish", last)
    assert match, err
    done, total = int(match[1]), int(match[2])
    assert 0 < done < total
    time.sleep(1.6)  # the slow request still lands, as it may on a real server
    rerun = run("install", "-y")
    assert rerun.code == 0, rerun.err
    assert "Installed:" in rerun.err
    assert kube.get_object("daemonsets.apps", "ztunnel", "istio-system") is not None
    assert kube.get_object("deployments.apps", "istiod", "istio-system")["status"]["readyReplicas"] == 1


def test_sigterm_during_another_write_command_is_an_interruption_too(cluster):
    kube, kc, _ = cluster
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    kube.faults.add(delay=1.0, method="PATCH", path=r"/namespaces/shop$")
    proc = start(["namespace", "enroll", "shop"], kc)
    wait_for_request(kube, "PATCH", "/api/v1/namespaces/shop", proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.rstrip("\n").splitlines()[-1] == \
        "interrupted; run the same command to finish — meshctl writes are safe to repeat"


@pytest.mark.parametrize("args, mutating", [
    (["install", "-y"], True), (["-v", "upgrade"], True), (["namespace", "enroll", "x"], True),
    (["namespace", "list"], False), (["waypoint", "delete", "w"], True), (["tag", "list"], False),
    (["multicluster", "link", "--context", "a"], True), (["ca", "show"], False), (["status"], False),
])
def test_which_commands_say_a_rerun_finishes_them(args, mutating):
    from meshctl.cli.app import interrupted_message, is_mutating

    assert is_mutating(args) is mutating
    assert ("run the same command" in interrupted_message(KeyboardInterrupt(), args)) is mutating
